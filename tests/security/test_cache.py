"""The project cache runs no code and takes nothing from someone else's cache directory
(root running berth with a user's cache, as `sudo -E` does)."""
import json
import os
import pickle

import pytest

from compose import cache
from compose.load import LoadOptions, resolve_inputs

pytestmark = pytest.mark.privileged


class Planted:
    """What a user could leave in their cache for root to load."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_users_cache_is_neither_run_nor_believed(tmp_path):
    (tmp_path / "compose.yaml").write_text("services: {web: {image: nginx, command: real}}\n")
    opts = LoadOptions(cwd=str(tmp_path), environ={})
    user_cache = tmp_path / "home" / ".cache" / "berth"
    cache.load(opts, user_cache)  # an honest entry, as the user's own berth would write it
    inputs = resolve_inputs(opts)
    key = cache._key(opts, inputs)
    marker = tmp_path / "ran-the-users-code"
    for name in (f"{key}.pickle", f"{key}.json"):  # a pickle where older berths looked
        (user_cache / name).write_bytes(pickle.dumps(Planted(str(marker))))
    cache.load(opts, user_cache)
    assert not marker.exists()
    # a well-formed entry that lies, in a directory owned by another user
    honest = tmp_path / "honest"
    cache.load(opts, honest)
    lie = json.loads((honest / f"{key}.json").read_text())
    lie["project"]["services"]["web"]["command"] = ["sh", "-c", "evil"]
    (user_cache / f"{key}.json").write_text(json.dumps(lie))
    for path in (user_cache, user_cache / f"{key}.json"):
        os.chown(path, 4242, 4242)
    assert cache.load(opts, user_cache).services["web"].command == ("real",)
    assert (user_cache / f"{key}.json").stat().st_uid == 4242  # left alone, not rewritten
