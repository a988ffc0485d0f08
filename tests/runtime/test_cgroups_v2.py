"""A container's cgroup v2 (runtime.cgroups.v2) on a root of the test's own, its writes
recorded: where the monitor goes when it leaves, what destroy kills, and cgroups made by an
older berth (no `container` leaf)."""
import errno
import json
import os
import signal
import time
import uuid

import pytest

from runtime import teardown
from runtime.cgroups import v2
from runtime.cgroups.v2 import V2, cgroup_of
from runtime.spec import Resources
from runtime.syscalls import RecordingSyscalls
from tests.helpers import cgroup2_mount


class Kernel:
    """Stands in for cgroupfs: records each write and rmdir; refuses (errno) writes to the
    files in `refuse`, and the removal of the directories in `busy`."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str]] = []
        self.removed: list[str] = []
        self.refuse: dict[str, int] = {}
        self.busy: set[str] = set()

    def write(self, path: str, value: str) -> None:
        if path in self.refuse:
            raise OSError(self.refuse[path], os.strerror(self.refuse[path]), path)
        if not os.path.isdir(os.path.dirname(path)):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        self.writes.append((path, value))
        with open(path, "w") as handle:
            handle.write(value)

    def rmdir(self, directory: str) -> None:
        if directory in self.busy:
            raise OSError(errno.EBUSY, "Device or resource busy", directory)
        self.removed.append(directory)


@pytest.fixture
def kernel(monkeypatch):
    kernel = Kernel()
    monkeypatch.setattr(v2, "_write", kernel.write)
    monkeypatch.setattr(v2, "_rmdir", kernel.rmdir)
    return kernel


def in_cgroup(proc, pid: int, path: str) -> None:
    """/proc/<pid>/cgroup as the kernel shows it on a v2 host (hybrid: v1 lines too)."""
    (proc / str(pid)).mkdir(parents=True, exist_ok=True)
    (proc / str(pid) / "cgroup").write_text(f"12:cpu,cpuacct:/user.slice\n0::{path}\n")


@pytest.fixture
def host(tmp_path):
    """A cgroup namespace's root with controllers enabled (so it takes no processes, as
    under systemd-nspawn or LXD), and the cgroup berth's command runs in."""
    root, proc = tmp_path / "cgroup", tmp_path / "proc"
    (root / "system.slice" / "berth.scope").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "cgroup.subtree_control").write_text("cpu memory pids\n")
    in_cgroup(proc, os.getpid(), "/system.slice/berth.scope")
    return root, proc


def started(root, proc) -> V2:
    """A container's cgroup as its monitor (this process) leaves it running: created, the
    container's PID 1 in its leaf, the monitor in its own."""
    group = V2(str(root / "berth-x"), str(root), RecordingSyscalls(), str(proc))
    group.create(Resources(pids=10))
    for leaf in (root / "berth-x", root / "berth-x" / "container"):
        (leaf / "cgroup.kill").write_text("")
    group.add(42)
    group.add_monitor(os.getpid())
    return group


def test_the_monitor_leaves_to_where_it_came_from(kernel, host):
    root, proc = host
    kernel.refuse[str(root / "cgroup.procs")] = errno.EBUSY  # not a leaf: no processes
    group = started(root, proc)
    assert group.origin == str(root / "system.slice" / "berth.scope")
    kernel.writes.clear()
    teardown.free_cgroup(group)
    assert kernel.writes == [
        (str(root / "system.slice" / "berth.scope" / "cgroup.procs"), str(os.getpid())),
        (str(root / "berth-x" / "container" / "cgroup.kill"), "1"),  # the container alone
    ]
    top = root / "berth-x"
    assert kernel.removed == [str(top / "container"), str(top / "monitor"), str(top)]


def test_where_it_came_from_is_gone_its_parent(kernel, host):
    root, proc = host
    group = started(root, proc)
    (root / "system.slice" / "berth.scope").rename(root / "elsewhere")  # the scope went away
    kernel.writes.clear()
    group.leave(os.getpid())
    assert kernel.writes == [(str(root / "system.slice" / "cgroup.procs"), str(os.getpid()))]


def test_a_monitor_that_cannot_leave_is_not_killed(kernel, host):
    root, proc = host
    for refused in (root / "system.slice" / "berth.scope", root / "system.slice", root):
        kernel.refuse[str(refused / "cgroup.procs")] = errno.EBUSY
    group = started(root, proc)
    kernel.writes.clear()
    kernel.busy.add(str(root / "berth-x" / "monitor"))  # the monitor is still in it
    teardown.free_cgroup(group)  # its errors are not the caller's
    assert kernel.writes == [(str(root / "berth-x" / "container" / "cgroup.kill"), "1")]
    assert kernel.removed == [str(root / "berth-x" / "container")]


def test_without_cgroup_kill_only_the_containers_processes_are_signalled(kernel, host,
                                                                          monkeypatch):
    root, proc = host
    group = started(root, proc)
    for leaf in (root / "berth-x", root / "berth-x" / "container"):
        (leaf / "cgroup.kill").unlink()  # before Linux 5.14
    (root / "berth-x" / "container" / "cgroup.procs").write_text("42\n43\n")
    (root / "berth-x" / "monitor" / "cgroup.procs").write_text(f"{os.getpid()}\n")
    killed = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append(pid))
    group.destroy()
    assert killed == [42, 43]


def test_where_the_monitor_came_from_is_read_once(kernel, host):
    root, proc = host
    group = started(root, proc)
    in_cgroup(proc, os.getpid(), "/berth-x/monitor")  # joined again: already in its leaf
    group.add_monitor(os.getpid())
    assert group.origin == str(root / "system.slice" / "berth.scope")


def test_an_unknown_origin_is_the_root(kernel, tmp_path):
    group = V2(str(tmp_path / "berth-x"), str(tmp_path), RecordingSyscalls(),
               str(tmp_path / "no-proc"))
    group.leave(7)
    assert kernel.writes == [(str(tmp_path / "cgroup.procs"), "7")]


def test_cgroup_of(tmp_path):
    in_cgroup(tmp_path, 5, "/a/b.scope")
    assert cgroup_of(5, "/sys/fs/cgroup", str(tmp_path)) == "/sys/fs/cgroup/a/b.scope"
    in_cgroup(tmp_path, 6, "/")
    assert cgroup_of(6, "/sys/fs/cgroup", str(tmp_path)) == "/sys/fs/cgroup"
    in_cgroup(tmp_path, 7, "/../../outside")  # outside this cgroup namespace
    assert cgroup_of(7, "/sys/fs/cgroup", str(tmp_path)) is None
    (tmp_path / "8").mkdir()
    (tmp_path / "8" / "cgroup").write_text("1:name=systemd:/\n")  # v1 alone
    assert cgroup_of(8, "/sys/fs/cgroup", str(tmp_path)) is None
    assert cgroup_of(9, "/sys/fs/cgroup", str(tmp_path)) is None


# --- a cgroup made by an older berth: the container's processes in berth-<id> itself ------

@pytest.fixture
def older(tmp_path):
    top = tmp_path / "berth-x"
    top.mkdir()
    files = {"cgroup.procs": "101\n102\n", "cgroup.freeze": "0", "cgroup.kill": "",
             "cgroup.events": "populated 1\nfrozen 1\n", "cpu.stat": "usage_usec 5\n",
             "memory.current": "4096\n", "memory.max": "8192\n", "pids.current": "2\n",
             "memory.events": "low 0\noom 1\noom_kill 1\n"}
    for name, text in files.items():
        (top / name).write_text(text)
    return V2(str(top), str(tmp_path), RecordingSyscalls(), str(tmp_path / "proc")), top


def test_an_older_cgroup_can_be_entered_paused_and_read(kernel, older):
    group, top = older
    assert group.procs_files() == [str(top / "cgroup.procs")]  # exec, health checks
    assert group.pids() == [101, 102]
    group.freeze()
    group.thaw()
    assert kernel.writes == [(str(top / "cgroup.freeze"), "1"), (str(top / "cgroup.freeze"), "0")]
    assert group.stats() == {"cpu_ns": 5000, "memory": 4096, "memory_limit": 8192, "pids": 2}
    assert group.oom_killed()


def test_an_older_cgroup_is_destroyed_whole(kernel, older):
    group, top = older
    group.destroy()
    assert kernel.writes == [(str(top / "cgroup.kill"), "1")]
    assert kernel.removed == [str(top / "container"), str(top / "monitor"), str(top)]


def test_a_new_cgroup_uses_its_leaf(kernel, older):
    group, top = older
    (top / "container").mkdir()
    (top / "container" / "cgroup.freeze").write_text("0")
    assert group.procs_files() == [str(top / "container" / "cgroup.procs")]
    assert group.pids() == []
    group.freeze()
    assert kernel.writes == [(str(top / "container" / "cgroup.freeze"), "1")]


# --- the real kernel ----------------------------------------------------------------------

def monitor_and_container(mount: str, home: str) -> dict:
    """Fork a monitor that starts in `home`, makes a container's cgroup, forks a 'container'
    into it, frees the cgroup as a monitor does, and reports what became of both."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the monitor: never returns into pytest
        report: dict = {}
        try:
            os.close(read_end)
            with open(os.path.join(home, "cgroup.procs"), "w") as handle:
                handle.write(str(os.getpid()))
            group = V2(os.path.join(os.path.dirname(home), "berth-x"), mount)
            group.create(Resources())
            group.add_monitor(os.getpid())
            ready_r, ready_w = os.pipe()
            container = os.fork()
            if container == 0:
                try:
                    group.add(os.getpid())
                    os.write(ready_w, b"x")
                    time.sleep(30)
                finally:
                    os._exit(0)
            os.read(ready_r, 1)
            report["container in"] = group.pids()
            teardown.free_cgroup(group)
            _, status = os.waitpid(container, 0)
            report["container"] = container
            report["killed by"] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            report["monitor in"] = cgroup_of(os.getpid(), mount)
            report["cgroup left"] = group.exists()
        except BaseException as err:  # noqa: BLE001
            report["error"] = repr(err)
        finally:
            os.write(write_end, json.dumps(report).encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as handle:
        data = handle.read()
    _, status = os.waitpid(pid, 0)
    report = json.loads(data)
    report["monitor exit"] = os.waitstatus_to_exitcode(status)
    return report


@pytest.mark.privileged
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_a_monitor_on_a_real_cgroup_goes_home_and_lives():
    mount = cgroup2_mount()
    if mount is None:
        pytest.skip("no cgroup2 hierarchy mounted")
    test = os.path.join(mount, f"berth-test-monitor-{uuid.uuid4().hex[:8]}")
    home = os.path.join(test, "home")
    os.makedirs(home)
    try:
        if not os.path.exists(os.path.join(home, "cgroup.kill")):
            pytest.skip("no cgroup.kill (Linux before 5.14)")
        report = monitor_and_container(mount, home)
        assert report.pop("container in") == [report.pop("container")]
        assert report == {"killed by": signal.SIGKILL, "monitor in": home,
                          "cgroup left": False, "monitor exit": 0}
    finally:
        for directory in (os.path.join(test, "berth-x", "container"),
                          os.path.join(test, "berth-x", "monitor"),
                          os.path.join(test, "berth-x"), home, test):
            try:
                os.rmdir(directory)
            except FileNotFoundError:
                pass
