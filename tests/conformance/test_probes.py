"""Each `docker run` probe (probes/*.yaml) under `berth container run` prints what docker
printed (expected/probes-*.json, recorded by record_probes.py), ids, addresses and ports
masked."""
from __future__ import annotations

import os
import sys

import pytest

from tests.helpers import REPO, remove_all, run_berth

from .cases import BASE_CHANGES, BASE_REF
from .inspect_cases import CASES as INSPECT_CASES
from .inspect_cases import expected as inspect_expected
from .inspect_cases import inspect_case
from .probes import expected, load_probes

PROBES = load_probes()


def test_the_probes_are_complete():
    assert len(PROBES) >= 60
    for probe in PROBES:
        assert probe.name in expected(probe.group), f"{probe.id} has no expectation"


@pytest.fixture(scope="module")
def berth_root(tmp_path_factory, busybox_dir):
    root = tmp_path_factory.mktemp("probes")
    env = {"BERTH_ROOT": str(root / "root"), "BERTH_RUN": str(root / "run")}
    changes = [a for change in BASE_CHANGES for a in ("-c", change)]
    run_berth("image", "import", str(busybox_dir), BASE_REF, *changes, env=env, check=True)
    yield env
    remove_all(env)


@pytest.mark.privileged
@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
def test_probe(probe, berth_root, tmp_path):
    want = {k: v for k, v in expected(probe.group)[probe.name].items() if k != "recorded"}
    env = {**os.environ, **berth_root, "PROBE_FROM_HOST": "from the host",
           "PYTHONPATH": str(REPO)}
    env.pop("PROBE_UNSET_VARIABLE", None)
    got = probe.run([sys.executable, "-m", "compose"], tmp_path / "probe", env)
    if want["exit"] == 125:  # docker refused before starting anything: so must berth
        assert got["exit"] != 0 and got["stdout"] == ""
        return
    if "stderr" in want and "stderr" in got and want["exit"] == 0:
        assert got["stderr"] == want["stderr"]
    assert (got["exit"], got["stdout"]) == (want["exit"], want["stdout"])


@pytest.mark.privileged
@pytest.mark.parametrize("name", sorted(INSPECT_CASES))
def test_inspect_fields(name, berth_root):
    env = {**os.environ, **berth_root, "PYTHONPATH": str(REPO)}
    assert inspect_case([sys.executable, "-m", "compose"], name, env) == inspect_expected()[name]
