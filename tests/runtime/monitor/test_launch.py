"""Launching a container, recorded: what the monitor's first child joins, unshares and
forks, in that order (runtime.monitor.launch), without root."""
import os

import pytest

from runtime import state as statefile
from runtime.monitor.launch import Namespaces, fork_pid1, namespaces
from runtime.paths import Paths
from runtime.spec import ContainerSpec, NetworkConfig
from runtime.state import State
from runtime.syscalls import (CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID,
                              CLONE_NEWUTS, RecordingSyscalls)

CID, OTHER = "c" * 64, "d" * 64


class RecordedCgroup:
    """A cgroup whose joins go into the same record as the kernel calls."""

    def __init__(self, calls: list) -> None:
        self.calls = calls

    def add(self, pid: int) -> None:
        self.calls.append(("join cgroup", pid))


@pytest.fixture
def paths(tmp_path):
    """A berth root with this container's network namespace file, and another container
    running as this test's process (its /proc/PID/ns files are real)."""
    paths = Paths(tmp_path / "root", tmp_path / "run").ensure()
    (paths.netns / CID).write_text("")
    paths.container(OTHER).mkdir(parents=True)
    statefile.save(paths.container(OTHER), State(pid=os.getpid()))
    return paths


def spec(**options) -> ContainerSpec:
    return ContainerSpec(name="x", image="i", image_id="i", args=["true"], **options)


def other(name: str) -> str:
    return f"/proc/{os.getpid()}/ns/{name}"


@pytest.mark.parametrize("options, join, new", [
    ({}, [("netns", CLONE_NEWNET)], CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID),
    ({"network": NetworkConfig(mode="host"), "ipc": "host", "pid_mode": "host", "uts": "host"},
     [], CLONE_NEWNS),
    ({"network": NetworkConfig(mode=f"container:{OTHER}"), "ipc": f"container:{OTHER}",
      "pid_mode": f"container:{OTHER}"},
     [(other("net"), CLONE_NEWNET), (other("ipc"), CLONE_NEWIPC), (other("pid"), CLONE_NEWPID)],
     CLONE_NEWNS | CLONE_NEWUTS),
    ({"network": NetworkConfig(mode="bridge"), "ipc": "shareable"},
     [("netns", CLONE_NEWNET)], CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID),
])
def test_namespaces_joined_and_new(paths, options, join, new):
    expected = [(str(paths.netns / CID) if path == "netns" else path, nstype)
                for path, nstype in join]
    assert namespaces(spec(**options), paths, CID) == Namespaces(tuple(expected), new)


def test_sharing_a_stopped_containers_namespace_fails(paths):
    statefile.save(paths.container(OTHER), State(pid=0))
    with pytest.raises(RuntimeError, match=f"container {OTHER[:12]} is not running"):
        namespaces(spec(ipc=f"container:{OTHER}"), paths, CID)


def test_first_child_joins_cgroup_then_namespaces_then_unshares_then_forks_pid1(paths):
    sys = RecordingSyscalls(fork_pid=4242)
    ns = namespaces(spec(network=NetworkConfig(mode="bridge"), ipc=f"container:{OTHER}"),
                    paths, CID)
    pid1 = fork_pid1(RecordedCgroup(sys.calls), ns, lambda: sys.calls.append(("pid1",)), sys)
    assert pid1 == 4242
    assert sys.calls == [
        ("join cgroup", os.getpid()),
        ("setns", str(paths.netns / CID), CLONE_NEWNET),
        ("setns", os.readlink(other("ipc")), CLONE_NEWIPC),
        ("unshare", CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWPID),
        ("fork",),
    ]


def test_the_forked_child_becomes_pid1(paths):
    sys = RecordingSyscalls(fork_pid=0)
    ns = namespaces(spec(network=NetworkConfig(mode="host")), paths, CID)
    fork_pid1(RecordedCgroup(sys.calls), ns, lambda: sys.calls.append(("pid1",)), sys)
    assert [call[0] for call in sys.calls] == ["join cgroup", "unshare", "fork", "pid1"]
