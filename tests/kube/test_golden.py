"""Golden files: whole conversions, reviewed by eye once, byte for byte since.

BERTH_UPDATE_GOLDEN=1 rewrites them (then read the diff)."""
import os
import shutil

import pytest

from compose.kube import kustomize
from compose.kube.model import Options
from tests.helpers import CORPUS, REPO
from tests.kube.support import HERE, convert_file

GOLDEN = HERE / "golden"
CASES = {
    # everything: nearly every key, with a profile on, NodePorts and liveness probes
    "everything": (HERE / "projects" / "everything" / "compose.yaml", ("tools",),
                   Options(namespace="everything", service_type="NodePort", liveness=True)),
    "hello": (REPO / "stacks" / "hello" / "compose.yaml", (), Options()),
    "react-java-mysql": (CORPUS / "awesome-compose" / "react-java-mysql" / "compose.yaml", (),
                         Options(service_type="LoadBalancer")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_conversion_matches_its_golden_files(case, tmp_path):
    path, profiles, options = CASES[case]
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    conversion = convert_file(path, options, profiles)
    kustomize.write(tmp_path / case, conversion, options.namespace)
    made = {p.name: p.read_text() for p in (tmp_path / case).iterdir()}
    golden = GOLDEN / case
    if os.environ.get("BERTH_UPDATE_GOLDEN"):
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(tmp_path / case, golden)
    assert sorted(made) == sorted(p.name for p in golden.iterdir())
    for name, text in made.items():
        assert text == (golden / name).read_text(), f"{case}/{name} differs"
