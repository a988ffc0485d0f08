"""The runtime's public facade (runtime/api.py): what the docker-like commands use."""
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO


def test_names_load_only_when_used():
    script = ("import json, sys\nimport runtime.api as api\n"
              "before = 'runtime.images.build' in sys.modules\n"
              "api.Mount\n"
              "print(json.dumps([before, 'runtime.images.build' in sys.modules,"
              " api.Builder.__module__]))")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout) == [False, False, "runtime.images.build"]


def test_every_exported_name_exists_and_nothing_else_does():
    import runtime.api as api

    for name in api.__all__:
        assert getattr(api, name) is not None, name
    with pytest.raises(AttributeError, match="runtime.api has no '_ago'"):
        api._ago  # noqa: B018 - private names are not part of it
