"""Resources: one container can't take every pid of the host, and the monitor's work for
a container is bounded with it."""
import os

import pytest

from runtime.create import DEFAULT_PIDS_LIMIT, RunOptions
from runtime.spec import Resources
from tests.helpers import cgroup_dirs, wait_for

pytestmark = pytest.mark.privileged


def pids_max(cid: str) -> str:
    found = [d for d in cgroup_dirs(cid) if os.path.exists(os.path.join(d, "pids.max"))]
    assert found, cgroup_dirs(cid)
    with open(os.path.join(found[0], "pids.max")) as handle:
        return handle.read().strip()


def started(engine, image, script, **resources):
    c = engine.create(image, RunOptions(command=["sh", "-c", script],
                                        resources=Resources(**resources)))
    engine.start(c.id)
    return c


def test_a_container_gets_a_pids_limit_by_default(engine, busybox):
    assert pids_max(started(engine, busybox, "exec sleep 60").id) == str(DEFAULT_PIDS_LIMIT)
    assert pids_max(started(engine, busybox, "exec sleep 60", pids=-1).id) == "max"


def test_the_pids_limit_holds_against_a_fork_loop(engine, busybox):
    c = started(engine, busybox, "for i in $(seq 100); do sleep 30 & done", pids=40)
    wait_for(lambda: "can't fork" in "".join(line.text for line in engine.logs(c.id)),
             timeout=20)
    assert pids_max(c.id) == "40"
    assert len(engine.processes(c.id)) <= 40
