"""The container's life as its monitor leads it: start, output, exit, restart, stop.

    run: network and cgroup ready -> launch -> (sync) started | start failed
         -> output until PID 1 is reaped and its output drained -> exited
         -> restart (now, or after a back-off) | finish: free everything, go

The parts: the event loop (loop), the launch (launch), the log (logfile), health checks
(health), the restart policy (restart), the control socket (server) and what its
requests do (ops).
"""
from __future__ import annotations

import os
import signal
import socket
import struct
import time
from functools import partial
from typing import Any

from common import timings

from .. import cgroups, eventlog, ptys
from .. import state as statefile
from ..init import exit_code
from ..fsutil import read_json
from ..network import setup as network_setup
from ..paths import Paths
from ..protocol import ERROR, EXIT, RESIZE, STDIN, STDIN_CLOSE, STDOUT, Message, event, exited, \
    failed, line, ok, signal_number
from ..state import Health, Status, process_start_time
from ..syscalls import PR_SET_CHILD_SUBREAPER, SYSCALLS, Syscalls
from ..teardown import free_cgroup, release_network, remove_files
from . import launch, ops
from .config import Config
from .health import HealthChecks
from .logfile import LogFile
from .loop import EventLoop
from .restart import restart_delay
from .server import Connection, Mode, Server



def handles(pid: int, signum: int, proc: str = "/proc") -> bool:
    """Whether process `pid` catches `signum` (SigCgt in its status). The kernel drops
    any other signal sent to a PID namespace's PID 1 (pid_namespaces(7)): waiting out a
    grace period for it waits for nothing."""
    try:
        with open(f"{proc}/{pid}/status") as handle:
            for entry in handle:
                if entry.startswith("SigCgt:"):
                    return bool(int(entry.split()[1], 16) >> (signum - 1) & 1)
    except (OSError, ValueError):
        pass
    return True  # unknown: wait as usual

class Monitor:
    """One container's monitor: its state, its parts, and the handlers that tie them."""

    def __init__(self, paths: Paths, cid: str, ready_fd: int, wait_attach: bool,
                 sys: Syscalls = SYSCALLS) -> None:
        self.born = timings.clock()
        self.config = config = Config.load(paths, cid)
        self.spec = config.spec
        self.sys = sys
        self.ready_fd = ready_fd  # the starter's pipe: one message, then closed
        self.wait_attach = wait_attach  # PID 1 waits for an attach (or 30 s) to exec
        self.loop = EventLoop()
        self.server = Server(self.loop, paths.monitor_socket(cid), ops.handlers(self),
                             self.attach_input, self.detached)
        self.health = HealthChecks(self.loop, config, self.running,
                                   lambda status: self.event("health_status", status=status))
        # the current run of the container
        self.child = 0  # PID 1
        self.exit_status: int | None = None
        self.started_mono = 0.0
        self.open_streams = 0  # output streams not at their end yet
        self.sync_fd, self.sync_data = -1, b""
        self.start_error: tuple[str, int] | None = None
        self.handled = False  # its exit is handled
        self.gate_w = -1
        self.stdin_w = -1
        self.tty_master = -1
        # what was asked of it
        self.stop_requested = False
        self.restart_requested = False
        self.kill_at: int | None = None
        self.restart_timer: int | None = None
        self.stop_note = ""  # said in the stop's answer (killed at once, see terminate)
        self.port_sockets: list[socket.socket] = []  # held: they reserve the published ports
        self.log = LogFile(config.dir / "container.log", self.spec.log_max_size,
                           self.spec.log_max_files)
        self.phases: list[tuple[str, float, float]] = []  # --timings: the start's parts

    # --- state and events ----------------------------------------------------------------

    def phase(self, name: str, began: float) -> float:
        """Note a part of the start (from `began` to now) for --timings; now."""
        now = timings.clock()
        self.phases.append((name, began, now))
        return now

    def set_state(self, **changes: Any) -> None:
        statefile.update(self.config.dir, **changes)

    def event(self, name: str, **extra: Any) -> None:
        self.server.broadcast(Mode.EVENTS, event(name, **extra))
        attributes = {"image": self.spec.image, "name": self.spec.name, **self.spec.labels}
        if "exit_code" in extra:
            attributes["exitCode"] = extra["exit_code"]
        if name == "health_status":
            name = f"health_status: {extra.get('status')}"
        eventlog.record(self.config.paths.root, "container", name, self.config.cid, attributes)

    def running(self) -> int:
        """PID 1 while the container runs, else 0."""
        return self.child if self.exit_status is None else 0

    def ready(self, message: Message) -> None:
        """Tell the starter how the start went (once)."""
        if self.ready_fd >= 0:
            try:
                os.write(self.ready_fd, line(message))
            except OSError:
                pass
            os.close(self.ready_fd)
            self.ready_fd = -1

    # --- output and input ----------------------------------------------------------------

    def on_stream(self, fd: int, kind: int) -> None:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data:
            self.server.broadcast_frame(kind, data)
            self.log.add(kind, data)
            return
        self.loop.unwatch(fd)
        os.close(fd)
        if fd == self.tty_master:
            self.tty_master = -1
        self.log.end(kind)
        self.open_streams -= 1
        self.maybe_exited()

    def on_tty(self, sock: socket.socket) -> None:
        master = ptys.recv_fd(sock)
        self.loop.unwatch(sock)
        sock.close()
        if master is None:
            self.open_streams -= 1
            self.maybe_exited()
            return
        self.tty_master = master
        if self.spec.open_stdin:
            self.stdin_w = os.dup(master)
        self.loop.watch(master, lambda: self.on_stream(master, STDOUT))

    def attach_input(self, conn: Connection, frames: list[tuple[int, bytes]]) -> None:
        for kind, payload in frames:
            if kind == STDIN and self.stdin_w >= 0:
                os.write(self.stdin_w, payload)
            elif kind == STDIN_CLOSE:
                self.close_stdin()
            elif kind == RESIZE and self.tty_master >= 0:
                ptys.set_size(self.tty_master, *struct.unpack(">HH", payload))

    def detached(self, conn: Connection) -> None:
        """An attached client went: with it, the container's input ends."""
        if conn.mode is Mode.ATTACH and conn.stdin:
            self.close_stdin()

    def close_stdin(self) -> None:
        """End the container's input (not a terminal's: that is the terminal itself)."""
        if self.stdin_w >= 0 and not self.spec.tty:
            os.close(self.stdin_w)
            self.stdin_w = -1

    # --- start ---------------------------------------------------------------------------

    def launch(self) -> None:
        stdio = launch.open_stdio(self.spec)
        tty_socket = stdio.tty_socket
        if tty_socket is not None:
            self.loop.watch(tty_socket, lambda: self.on_tty(tty_socket))
        self.stdin_w = stdio.stdin
        launched = launch.launch(self.config, stdio, self.sys)
        for fd, kind in stdio.readers:
            self.loop.watch(fd, partial(self.on_stream, fd, kind))
        self.open_streams = len(stdio.readers) + (1 if tty_socket else 0)
        self.child, self.gate_w = launched.pid, launched.gate
        if not self.child:
            self.exit_status = 125
        else:
            pidfd = os.pidfd_open(self.child)
            self.loop.watch(pidfd, lambda: self.on_child_exit(pidfd))
        self.sync_fd, self.sync_data = launched.sync, b""
        self.loop.watch(self.sync_fd, self.on_sync)
        self.start_error = None
        self.started_mono = time.monotonic()
        if not self.wait_attach or not self.child:
            self.open_gate()

    def open_gate(self) -> None:
        if self.gate_w >= 0:
            try:
                os.write(self.gate_w, b"g")
            except OSError:
                pass
            os.close(self.gate_w)
            self.gate_w = -1

    def on_sync(self) -> None:
        data = os.read(self.sync_fd, 4096)
        if data:
            self.sync_data += data
            return
        self.loop.unwatch(self.sync_fd)
        os.close(self.sync_fd)
        self.sync_fd = -1
        if self.sync_data:
            code, _, message = self.sync_data.decode(errors="replace").partition(" ")
            self.start_failed(message, int(code) if code.isdigit() else 125)
        else:
            self.started()
        self.maybe_exited()  # PID 1 may have been reaped already, between two reads of it

    def started(self) -> None:
        health = Health() if self.health.enabled else None
        self.set_state(status=Status.RUNNING, pid=self.child, started_at=time.time(),
                       exit_code=None, error="", oom_killed=False, health=health)
        for conn in self.server.in_mode(Mode.RESTARTING):
            self.server.answer(conn, ok())
        if self.ready_fd >= 0 and self.phases:  # the first start, not a restart
            self.phase("init: root file system, privileges, exec", self.phases[-1][2])
        self.ready(ok(pid=self.child, **({"timings": self.phases} if timings.on() else {})))
        self.event("start", pid=self.child)
        if health:
            self.health.start(self.started_mono)

    def start_failed(self, message: str, code: int) -> None:
        self.start_error = (message, code)
        # on disk before the starter hears of it; the status follows once the child is reaped
        self.set_state(exit_code=code, error=message)
        self.ready(failed(message, code))
        self.server.broadcast_frame(ERROR, message.encode())

    # --- exit ----------------------------------------------------------------------------

    def on_child_exit(self, pidfd: int) -> None:
        self.loop.unwatch(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(self.child, 0)
        self.exit_status = exit_code(status)
        self.maybe_exited()

    def maybe_exited(self) -> None:
        """The container is over once PID 1 is reaped, its output drained and its start
        reported."""
        if self.exit_status is None or self.open_streams > 0 or self.handled \
                or self.sync_fd >= 0:
            return
        self.handled = True
        self.exited(self.exit_status)

    def exited(self, code: int) -> None:
        self.loop.cancel(self.kill_at)
        self.kill_at = None
        self.health.stop()
        if self.stdin_w >= 0:
            os.close(self.stdin_w)
            self.stdin_w = -1
        if self.gate_w >= 0:
            os.close(self.gate_w)
            self.gate_w = -1
        state = statefile.load(self.config.dir)
        oom = self.config.cgroup.oom_killed()
        ran_for = time.monotonic() - self.started_mono
        if self.start_error:
            message, start_code = self.start_error
            self.set_state(status=Status.EXITED, exit_code=start_code, error=message,
                           finished_at=time.time(), pid=0)
            self.ready(failed(message, start_code))
            self.notify_exit(start_code)
            self.finish()
            return
        if self.restart_requested:  # `restart`: same namespace, ports and cgroup, at once
            self.restart_requested = False
            self.restarting(code, oom_killed=oom)
            self.relaunch()
            return
        policy = (read_json(self.config.dir / "config.json") or {}).get(
            "restart", self.spec.restart)  # `container update --restart` changes it
        delay = restart_delay(policy, code, state.restart_count, ran_for,
                              self.stop_requested or state.stopped_by_user)
        if delay is not None:
            self.restarting(code, oom_killed=oom, restart_count=state.restart_count + 1)
            self.restart_timer = self.loop.after(delay, self.relaunch)
            return
        self.set_state(status=Status.EXITED, exit_code=code, finished_at=time.time(), pid=0,
                       oom_killed=oom)
        self.notify_exit(code)
        self.finish()

    def restarting(self, code: int, **changes: Any) -> None:
        self.set_state(status=Status.RESTARTING, exit_code=code, finished_at=time.time(), pid=0,
                       **changes)
        self.notify_exit(code, final=False)
        self.event("restart", exit_code=code)

    def relaunch(self) -> None:
        self.restart_timer = None
        self.exit_status = None
        self.handled = False
        self.launch()

    def notify_exit(self, code: int, final: bool = True) -> None:
        """Tell waiters; attached clients stay through restarts and go on the final exit."""
        self.event("die", exit_code=code)
        for conn in self.server.in_mode(Mode.WAITING, Mode.STOPPING):
            reply = exited(code)
            if self.stop_note and conn.mode == Mode.STOPPING:
                reply["note"] = self.stop_note
            self.server.answer(conn, reply)
        if final:
            for conn in self.server.in_mode(Mode.ATTACH):
                conn.frame(EXIT, str(code).encode())
                self.server.drop(conn)
            for conn in self.server.in_mode(Mode.RESTARTING):
                self.server.answer(conn, {"ok": False, "exit_code": code})

    def finish(self) -> None:
        """The container is done for good: free what it held, and go."""
        free_cgroup(self.config.cgroup)
        release_network(self.config.paths, self.config.cid, self.spec)
        self.server.broadcast(Mode.EVENTS, event("gone"))
        for conn in list(self.server.connections.values()):
            self.server.drop(conn)
        self.loop.stop()

    # --- stop, kill, restart -------------------------------------------------------------

    def signal(self, signum: int) -> None:
        if self.child:
            try:
                os.kill(self.child, signum)
            except ProcessLookupError:
                pass

    def stopped_by_user(self) -> None:
        """No restart policy applies from now on."""
        self.stop_requested = True
        self.set_state(stopped_by_user=True)

    def stop(self, timeout: float | None) -> None:
        self.stop_note = ""
        self.stopped_by_user()
        if self.restart_timer is not None:
            self.loop.cancel(self.restart_timer)
            self.restart_timer = None
            self.set_state(status=Status.EXITED)
            self.notify_exit(statefile.load(self.config.dir).exit_code or 0)
            self.finish()
            return
        if self.exit_status is not None:
            return
        self.terminate(timeout)

    def terminate(self, timeout: float | None) -> None:
        """The stop signal now, SIGKILL once the grace period is over; SIGKILL at once
        when the signal cannot reach PID 1 (see handles)."""
        self.thaw_if_paused()
        signum = signal_number(self.spec.stop_signal)
        if self.child and not self.spec.init and not self.spec.pid_mode and \
                signum != signal.SIGKILL and not handles(self.child, signum):
            self.stop_note = (f"killed at once: PID 1 has no handler for "
                              f"{signal.Signals(signum).name}")
            self.signal(signal.SIGKILL)
            return
        self.signal(signum)
        grace = self.spec.stop_timeout if timeout is None else timeout
        if self.kill_at is None:
            self.kill_at = self.loop.after(max(0.0, grace), lambda: self.signal(signal.SIGKILL))

    def restart(self, timeout: float | None) -> None:
        """Stop the container's process and start it again in the same namespace, keeping
        its network (address, ports) and cgroup: no gap where its ports lead nowhere."""
        if self.exit_status is not None or self.restart_timer is not None:
            if self.restart_timer is not None:
                self.loop.cancel(self.restart_timer)
                self.restart_timer = None
                self.relaunch()
            return
        self.restart_requested = True
        self.terminate(timeout)

    def thaw_if_paused(self) -> None:
        if statefile.load(self.config.dir).status == Status.PAUSED:
            self.config.cgroup.thaw()
            self.set_state(status=Status.RUNNING)

    # --- the whole life ------------------------------------------------------------------

    def run(self) -> None:
        self.sys.prctl(PR_SET_CHILD_SUBREAPER, 1)
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: self.stop(None))
        self.set_state(monitor_pid=os.getpid(), monitor_started=process_start_time(os.getpid()),
                       stopped_by_user=False, restart_count=0)
        self.server.listen()
        config = self.config
        try:
            began = self.phase("monitor: set up", self.born)
            self.port_sockets = network_setup.prepare(config.paths, config.cid, self.spec)
            began = self.phase("network namespace, veths, DNS, ports", began)
            config.cgroup.create(self.spec.resources,
                                 cgroups.device_rules(self.spec.devices, self.spec.privileged)
                                 + list(self.spec.device_cgroup_rules))
            config.cgroup.add_monitor(os.getpid())  # its work for the container is the container's
            self.phase("cgroups", began)
        except Exception as err:  # noqa: BLE001 - a clear start error, and nothing kept
            release_network(config.paths, config.cid, self.spec)
            free_cgroup(config.cgroup)
            self.set_state(status=Status.EXITED, exit_code=125, error=str(err))
            self.ready(failed(str(err), 125))
            self.shutdown()
            return
        self.launch()
        if self.wait_attach:
            # the caller attaches next; start errors then come through the attachment
            self.ready(ok(pid=self.child, waiting=True))
            self.loop.after(30, self.open_gate)  # nobody attached after all: start anyway
        self.loop.run()
        self.shutdown()

    def shutdown(self) -> None:
        self.server.close()
        self.log.close()
        if self.spec.auto_remove:
            remove_files(self.config.paths, self.config.cid, self.spec)
