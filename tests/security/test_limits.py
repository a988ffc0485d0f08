"""Resources: one container can't take every pid of the host, and the monitor's work for
a container is bounded with it."""
import os
import time

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
    c = started(engine, busybox, "(for i in $(seq 100); do sleep 30 & done); exec sleep 60",
                pids=40)  # the subshell dies at the first fork refused; PID 1 lives on
    wait_for(lambda: "can't fork" in "".join(line.text for line in engine.logs(c.id)),
             timeout=20)
    assert pids_max(c.id) == "40"
    assert len(engine.processes(c.id)) <= 40


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_the_monitor_s_work_for_a_container_counts_against_its_cpu_limit(engine, busybox):
    """A container printing as fast as it can made its monitor (logging) take a core that
    no limit bounded: the monitor now shares the container's CPU limit."""
    c = started(engine, busybox, "exec yes 'a line for the log'", cpus=0.2)
    monitor = engine.get(c.id).state.monitor_pid
    assert any(str(monitor) in open(os.path.join(d, "cgroup.procs")).read().split()
               for d in cgroup_dirs(c.id) if "cpu" in d)
    assert monitor not in engine.processes(c.id)  # yet not one of the container's processes
    time.sleep(0.5)
    before, start = cpu_seconds(monitor), time.monotonic()
    time.sleep(3)
    share = (cpu_seconds(monitor) - before) / (time.monotonic() - start)
    assert share < 0.25, f"the monitor used {share:.0%} of a CPU; the container may use 20%"
    engine.stop(c.id, timeout=0)
    assert not cgroup_dirs(c.id) or all(not os.path.isdir(d) for d in cgroup_dirs(c.id))
