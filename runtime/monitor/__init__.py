"""The monitor: one small detached process per running container, which owns it.

It starts the container (launch: fork -> join cgroup and namespaces -> unshare -> fork
PID 1 -> runtime.init), writes its output as JSON lines (logfile), records its state and
exit code, runs health checks (health), applies the restart policy with back-off
(restart), and serves stop / kill / wait / events / attach / pause on a unix socket
(server, ops; the protocol is runtime.protocol). Single-threaded: one event loop (loop)
over the container's output, its pidfd, the socket and timers; lifecycle ties it
together. When the container is finally done it frees the cgroup and network and exits.

Forked from the command that starts the container (run_detached), so it costs about a
millisecond, and detached from it (setsid, double fork): it outlives the command.
"""
from __future__ import annotations

import os
import signal
import traceback

from .. import cgroups, init
from .. import state as statefile
from ..fsutil import open_private, read_json
from ..paths import Paths
from ..protocol import line
from ..spec import ContainerSpec
from ..state import Status
from ..syscalls import SYSCALLS
from ..teardown import free_cgroup, release_network
from .lifecycle import Monitor


def run_detached(paths: Paths, cid: str, ready_fd: int, wait_attach: bool) -> None:
    """Become the container's monitor. Called in a child of a double fork; never returns.

    Forking a warm process costs a millisecond where starting a fresh interpreter costs
    tens; the caller freezes its garbage collector before forking so that the pages the
    monitor shares with it stay shared."""
    code = 1
    monitor: Monitor | None = None
    try:
        os.setsid()
        os.chdir("/")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        init.close_fds_except(ready_fd)
        SYSCALLS.reset_signals((signal.SIGCHLD, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2))
        SYSCALLS.set_process_name("berth-monitor")
        monitor = Monitor(paths, cid, ready_fd, wait_attach)
        monitor.run()
        code = 0
    except BaseException:  # noqa: BLE001 - record why, then make sure nothing is held
        cdir = paths.container(cid)
        try:
            with os.fdopen(open_private(cdir / "monitor.log"), "a") as handle:
                handle.write(traceback.format_exc())
            os.write(ready_fd, line({"ok": False,
                                     "error": f"monitor failed; see {cdir}/monitor.log"}))
        except OSError:
            pass
        try:
            statefile.update(cdir, status=Status.DEAD, error="monitor failed")
        except Exception:  # noqa: BLE001
            pass
        try:  # without its monitor the container must not run on: free what it held
            # (with the monitor's own cgroup object: it knows where the monitor came from)
            free_cgroup(monitor.config.cgroup if monitor else cgroups.for_container(cid))
            release_network(paths, cid, ContainerSpec.from_dict(read_json(cdir / "config.json")))
        except Exception:  # noqa: BLE001
            pass
    finally:
        os._exit(code)
