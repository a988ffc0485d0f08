"""Each Dockerfile case (cases/*.yaml) built by berth gives the image config and the
files docker gave (expected/*.json, recorded by record.py; `by_hand` ones written from
docker's reference where docker 20.10 cannot build them)."""
from __future__ import annotations

import re
import subprocess

import pytest

from runtime.images import archive
from runtime.images.build import Builder, BuildError, BuildOptions

from .cases import BASE_CHANGES, BASE_REF, Case, expected, load_cases
from .imagefiles import changes, read_archive

CASES = load_cases()


def test_the_suite_is_complete():
    assert len(CASES) >= 60
    for case in CASES:
        assert case.name in expected(case.group), f"{case.id} has no expectation (run record.py)"


@pytest.fixture
def base(engine, busybox_dir, tmp_path):
    image = archive.import_rootfs(engine.images, str(busybox_dir), [BASE_REF], BASE_CHANGES)
    path = str(tmp_path / "base.tar")
    archive.save(engine.images, [(image, [BASE_REF])], path)
    return read_archive(path)[1]


@pytest.mark.privileged
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, engine, base, tmp_path):
    want = expected(case.group).get(case.name)
    if want is None:
        pytest.fail(f"{case.id}: no expectation recorded")
    context = case.write_context(tmp_path / "context", BASE_REF)
    options = BuildOptions(context=str(context), tags=["conformance-case"], args=dict(case.args),
                           target=case.target, platform=case.platform,
                           secrets={k: v.encode() for k, v in case.secrets.items()})
    agent = None
    if case.ssh:
        socket = str(tmp_path / "agent.sock")
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", socket], stdout=subprocess.DEVNULL)
        options.ssh = {"default": socket}
    lines: list[str] = []
    try:
        if want.get("fails"):
            with pytest.raises(BuildError) as failed:
                Builder(engine, output=lines.append).build(options)
            assert re.search(r"Dockerfile:\d+: ", str(failed.value)), str(failed.value)
            return
        image = Builder(engine, output=lines.append).build(options)
    finally:
        if agent:
            agent.terminate()
            agent.wait()
    path = str(tmp_path / "image.tar")
    archive.save(engine.images, [(image, [])], path)
    config, files = read_archive(path)
    assert config == want["config"]
    assert changes(base, files) == want["files"]
