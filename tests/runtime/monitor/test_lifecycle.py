"""The monitor's handlers in an order the kernel may give them (runtime.monitor.lifecycle),
without a container: a Monitor on a container directory of the test's own."""
import os

import pytest

from runtime import state as statefile
from runtime.fsutil import write_json
from runtime.monitor.lifecycle import Monitor
from runtime.paths import Paths
from runtime.spec import ContainerSpec
from runtime.state import State

CID = "e" * 64


@pytest.fixture
def monitor(tmp_path, monkeypatch):
    paths = Paths(tmp_path / "root", tmp_path / "run").ensure()
    cdir = paths.container(CID)
    cdir.mkdir()
    write_json(cdir / "config.json",
               ContainerSpec(name="x", image="i", image_id="i", args=["true"]).to_dict())
    write_json(cdir / "rootfs.json", {"layers_root": str(tmp_path), "layers": []})
    statefile.save(cdir, State())
    monitor = Monitor(paths, CID, ready_fd=-1, wait_attach=False)
    monitor.ended = []
    monkeypatch.setattr(monitor, "exited", monitor.ended.append)
    yield monitor
    monitor.log.close()


def sync_pipe(monitor: Monitor, report: bytes) -> None:
    """What PID 1 left on its sync pipe before it exited."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, report)
    os.close(write_fd)
    monitor.sync_fd = read_fd
    monitor.loop.watch(read_fd, monitor.on_sync)


def test_a_start_error_then_the_exit_then_the_pipes_end(monitor):
    sync_pipe(monitor, b"125 volume subpath escape: it leads outside the volume")
    monitor.on_sync()  # the error
    monitor.exit_status = 125  # PID 1 reaped (on_child_exit), its output drained
    monitor.maybe_exited()
    assert monitor.ended == []  # the start is not reported yet
    monitor.on_sync()  # the end of the pipe
    assert monitor.ended == [125]
    state = statefile.load(monitor.config.dir)
    assert (state.exit_code, state.error) == (125, "volume subpath escape: it leads outside "
                                                   "the volume")


def test_a_command_that_ran_and_exited_before_its_start_was_seen(monitor):
    monitor.child = os.getpid()  # stands for PID 1 in the state written
    sync_pipe(monitor, b"")
    monitor.exit_status = 0
    monitor.maybe_exited()
    assert monitor.ended == []
    monitor.on_sync()  # EOF: the exec happened
    assert monitor.ended == [0]
    assert statefile.load(monitor.config.dir).pid == os.getpid()
