"""The monitor: one small detached process per running container, which owns it.

It starts the container (fork -> join cgroup and network namespace -> unshare ->
fork PID 1 -> runtime.init), writes its output as JSON lines, records its state and
exit code, runs health checks, applies the restart policy with back-off, and serves
stop / kill / wait / events / attach / pause on a unix socket. Single-threaded: one
selector loop over the container's output, its pidfd, the socket and timers. When
the container is finally done it frees the cgroup and network and exits.

Forked from the command that starts the container (see run_detached), so it costs
about a millisecond, and detached from it (setsid, double fork): it outlives the command.
"""
from __future__ import annotations

import heapq
import itertools
import json
import os
import selectors
import signal
import socket
import struct
import time
import traceback
from typing import Callable

from . import cgroups, init, nsexec, ptys, seccomp
from .network import setup as network_setup
from .network.api import release_container
from .capabilities import container_caps
from .fsutil import make_dir, open_private, read_json
from .paths import Paths, private_socket, short_path
from .rootfs import Layout
from .spec import ContainerSpec
from .state import Health, Status, process_start_time
from . import state as statefile
from .syscalls import (CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, PR_SET_CHILD_SUBREAPER,
                       SYSCALLS)

# attach frames: kind (1 byte) + length (4 bytes, big endian) + payload
FRAME = struct.Struct(">BI")
STDIN, STDOUT, STDERR, EXIT, STDIN_CLOSE, RESIZE, ERROR = 0, 1, 2, 3, 4, 5, 6
_STREAMS = {STDOUT: "stdout", STDERR: "stderr"}
MAX_LINE = 16 * 1024
BACKOFF_START, BACKOFF_MAX, BACKOFF_RESET_AFTER = 0.1, 60.0, 10.0
HEALTH_LOG_KEEP = 5


def split_frames(buffer: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The complete attach frames at the start of `buffer` as (kind, payload), and the rest."""
    frames = []
    while len(buffer) >= FRAME.size:
        kind, length = FRAME.unpack_from(buffer)
        if len(buffer) < FRAME.size + length:
            break
        frames.append((kind, buffer[FRAME.size:FRAME.size + length]))
        buffer = buffer[FRAME.size + length:]
    return frames, buffer


def log_time(ns: int | None = None) -> str:
    ns = time.time_ns() if ns is None else ns
    sec, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac:09d}Z"


def restart_wanted(policy: str, exit_code: int, restarts: int, stopped_by_user: bool) -> bool:
    """Docker's restart policies, decided on one exit."""
    if stopped_by_user:
        return False
    name, _, limit = policy.partition(":")
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure":
        return exit_code != 0 and (not limit or restarts < int(limit))
    return False


def backoff(restarts: int) -> float:
    return min(BACKOFF_MAX, BACKOFF_START * (2 ** max(0, restarts - 1)))


class Client:
    """One connection on the control socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.mode = "request"  # request, waiting, events, attach, stopping
        self.stdin = False

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def reply(self, message: dict) -> bool:
        return self.send(json.dumps(message).encode() + b"\n")

    def frame(self, kind: int, payload: bytes) -> bool:
        return self.send(FRAME.pack(kind, len(payload)) + payload)


class Monitor:
    def __init__(self, paths: Paths, cid: str, ready_fd: int, wait_attach: bool) -> None:
        self.paths, self.cid = paths, cid
        self.cdir = paths.container(cid)
        self.spec = ContainerSpec.from_dict(read_json(self.cdir / "config.json"))
        rootfs = read_json(self.cdir / "rootfs.json")
        self.layout = Layout(str(self.cdir), rootfs["layers_root"], rootfs["layers"])
        self.cgroup = cgroups.for_container(cid)
        self.caps = container_caps(self.spec.cap_add, self.spec.cap_drop, self.spec.privileged,
                                   device_filter=cgroups.filters_devices())
        self.syscall_filter = seccomp.for_container(self.caps, self.spec.privileged,
                                                    self.spec.seccomp)
        self.ready_fd = ready_fd
        self.wait_attach = wait_attach
        self.sel = selectors.DefaultSelector()
        self.timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self.clients: dict[socket.socket, Client] = {}
        self.child = 0
        self.child_fds: dict[str, int] = {}
        self.partial: dict[int, bytes] = {STDOUT: b"", STDERR: b""}
        self.open_streams = 0
        self.exit_status: int | None = None
        self.started_mono = 0.0
        self.stop_requested = False
        self.restart_requested = False
        self.kill_at: int | None = None
        self.done = False
        self.gate_w = -1
        self.stdin_w = -1
        self.tty_master = -1
        self.tty_socket: socket.socket | None = None
        self.health_proc: tuple[int, int, int] | None = None  # relay pid, pidfd, output fd
        self.health_output = b""
        self.health_timer: int | None = None
        self.health_kill: int | None = None
        self.health_timed_out = False
        self.health_started = 0.0
        self.sync_data = b""
        self.handled = False
        self.start_error: tuple[str, int] | None = None
        self.restart_timer: int | None = None
        self.port_sockets: list[socket.socket] = []  # held: they reserve the published ports
        self.log_file = os.fdopen(open_private(self.cdir / "container.log"), "ab", buffering=0)
        self.log_size = os.fstat(self.log_file.fileno()).st_size

    # --- timers ------------------------------------------------------------------------

    def after(self, delay: float, fn: Callable[[], None]) -> int:
        seq = next(self._seq)
        heapq.heappush(self.timers, (time.monotonic() + delay, seq, fn))
        return seq

    def cancel(self, seq: int | None) -> None:
        if seq is not None:
            self.timers = [t for t in self.timers if t[1] != seq]
            heapq.heapify(self.timers)

    # --- state -------------------------------------------------------------------------

    def set_state(self, **changes) -> None:
        statefile.update(self.cdir, **changes)

    def event(self, name: str, **extra) -> None:
        message = {"event": name, "time": time.time(), **extra}
        for client in list(self.clients.values()):
            if client.mode == "events" and not client.reply(message):
                self.drop(client)

    # --- output ------------------------------------------------------------------------

    def write_log(self, kind: int, line: bytes) -> None:
        record = {"log": line.decode("utf-8", "replace"), "stream": _STREAMS[kind],
                  "time": log_time()}
        data = json.dumps(record, ensure_ascii=False).encode() + b"\n"
        self.log_file.write(data)
        self.log_size += len(data)
        if self.spec.log_max_size and self.log_size >= self.spec.log_max_size:
            self.rotate_log()

    def rotate_log(self) -> None:
        """As docker's json-file: container.log -> .1 -> .2 ..., the oldest dropped; with
        one file, it starts again empty (runtime.logs readers follow either way)."""
        self.log_file.close()
        path = self.cdir / "container.log"
        for n in range(self.spec.log_max_files - 1, 0, -1):
            older = path.with_name(f"container.log.{n - 1}") if n > 1 else path
            if older.exists():
                os.rename(older, path.with_name(f"container.log.{n}"))
        self.log_file = os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "wb",
                                  buffering=0)
        self.log_size = 0

    def output(self, kind: int, data: bytes) -> None:
        for client in list(self.clients.values()):
            if client.mode == "attach" and not client.frame(kind, data):
                self.drop(client)
        buffered = self.partial[kind] + data
        lines = buffered.split(b"\n")
        self.partial[kind] = lines.pop()
        for line in lines:
            self.write_log(kind, line + b"\n")
        while len(self.partial[kind]) >= MAX_LINE:
            self.write_log(kind, self.partial[kind][:MAX_LINE])
            self.partial[kind] = self.partial[kind][MAX_LINE:]

    def on_stream(self, fd: int, kind: int) -> None:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data:
            self.output(kind, data)
            return
        self.sel.unregister(fd)
        os.close(fd)
        if fd == self.tty_master:
            self.tty_master = -1
        if self.partial[kind]:
            self.write_log(kind, self.partial[kind])
            self.partial[kind] = b""
        self.open_streams -= 1
        self.maybe_exited()

    # --- the container -----------------------------------------------------------------

    def launch(self) -> None:
        spec = self.spec
        tty_child = -1
        if spec.tty:  # init opens the pty inside the container and sends us the master
            null = os.open(os.devnull, os.O_RDWR)
            stdio = (null, null, null)
            readers = []
            self.tty_socket, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            tty_child = child.detach()
            self.sel.register(self.tty_socket, selectors.EVENT_READ, (self.on_tty, None))
        else:
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            if spec.open_stdin:
                in_r, self.stdin_w = os.pipe()
            else:
                in_r = os.open(os.devnull, os.O_RDONLY)
            stdio = (in_r, out_w, err_w)
            readers = [(out_r, STDOUT), (err_r, STDERR)]
        sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
        gate_r, self.gate_w = os.pipe2(os.O_CLOEXEC)
        pid_r, pid_w = os.pipe2(os.O_CLOEXEC)
        first = os.fork()
        if first == 0:
            self._first_child(stdio, sync_w, gate_r, pid_w, tty_child)
        for fd in set(stdio) | {sync_w, gate_r, pid_w} | ({tty_child} - {-1}):
            os.close(fd)
        os.waitpid(first, 0)
        raw = os.read(pid_r, 32)
        os.close(pid_r)
        for fd, kind in readers:
            self.sel.register(fd, selectors.EVENT_READ, (self.on_stream, kind))
        self.open_streams = len(readers) + (1 if spec.tty else 0)
        if not raw:
            self.child = 0
            self.exit_status = 125
        else:
            self.child = int(raw)
            pidfd = os.pidfd_open(self.child)
            self.sel.register(pidfd, selectors.EVENT_READ, (self.on_child_exit, None))
        self.sel.register(sync_r, selectors.EVENT_READ, (self.on_sync, None))
        self.sync_data = b""
        self.start_error = None
        self.started_mono = time.monotonic()
        if not self.wait_attach or not self.child:
            self.open_gate()

    def on_tty(self, sock, _kind) -> None:
        master = ptys.recv_fd(sock)
        self.sel.unregister(sock)
        sock.close()
        if master is None:
            self.open_streams -= 1
            self.maybe_exited()
            return
        self.tty_master = master
        if self.spec.open_stdin:
            self.stdin_w = os.dup(master)
        self.sel.register(master, selectors.EVENT_READ, (self.on_stream, STDOUT))

    def open_gate(self) -> None:
        if self.gate_w >= 0:
            try:
                os.write(self.gate_w, b"g")
            except OSError:
                pass
            os.close(self.gate_w)
            self.gate_w = -1

    def _first_child(self, stdio, sync_w: int, gate_r: int, pid_w: int, tty_fd: int) -> None:
        """Between the monitor and PID 1: join cgroup and namespaces, unshare, fork."""
        try:
            for target, fd in enumerate(stdio):
                os.dup2(fd, target, inheritable=True)
            self.cgroup.add(os.getpid())
            spec = self.spec
            flags = CLONE_NEWNS | (0 if spec.uts == "host" else CLONE_NEWUTS)
            if spec.network.mode != "host":
                path = str(self.paths.netns / self.cid)
                if spec.network.mode.startswith("container:"):
                    path = f"/proc/{_container_pid(self.paths, spec.network.mode[10:])}/ns/net"
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                SYSCALLS.setns(fd)
                os.close(fd)
            if spec.ipc.startswith("container:"):
                fd = os.open(f"/proc/{_container_pid(self.paths, spec.ipc[10:])}/ns/ipc", os.O_RDONLY)
                SYSCALLS.setns(fd)
                os.close(fd)
            elif spec.ipc != "host":
                flags |= CLONE_NEWIPC
            if spec.pid_mode.startswith("container:"):
                fd = os.open(f"/proc/{_container_pid(self.paths, spec.pid_mode[10:])}/ns/pid",
                             os.O_RDONLY)
                SYSCALLS.setns(fd)
                os.close(fd)
            elif spec.pid_mode != "host":
                flags |= CLONE_NEWPID
            SYSCALLS.unshare(flags)
            pid1 = os.fork()
            if pid1 == 0:
                os.dup2(sync_w, 3, inheritable=False)
                os.dup2(gate_r, 4, inheritable=False)
                if tty_fd >= 0:
                    os.dup2(tty_fd, 5, inheritable=False)
                init.close_fds_except(3, 4, 5 if tty_fd >= 0 else -1)
                init.run(spec, self.layout, 3, 4, self.caps, self.syscall_filter,
                         5 if tty_fd >= 0 else -1)
            os.write(pid_w, str(pid1).encode())
            os._exit(0)
        except BaseException as err:  # noqa: BLE001 - a forked child must never return
            try:
                os.write(sync_w, f"125 {err}".encode())
            finally:
                os._exit(125)

    def on_sync(self, fd: int, _kind) -> None:
        data = os.read(fd, 4096)
        if data:
            self.sync_data += data
            return
        self.sel.unregister(fd)
        os.close(fd)
        if self.sync_data:
            code, _, message = self.sync_data.decode(errors="replace").partition(" ")
            self.start_failed(message, int(code) if code.isdigit() else 125)
        else:
            self.started()

    def started(self) -> None:
        now = time.time()
        health = Health() if self.has_healthcheck() else None
        self.set_state(status=Status.RUNNING, pid=self.child, started_at=now, exit_code=None,
                       error="", oom_killed=False, health=health)
        for client in list(self.clients.values()):
            if client.mode == "restarting":
                client.reply({"ok": True})
                self.drop(client)
        self.ready({"ok": True, "pid": self.child})
        self.event("start", pid=self.child)
        if health:
            self.schedule_health(first=True)

    def start_failed(self, message: str, code: int) -> None:
        self.start_error = (message, code)
        # on disk before the starter hears of it; the status follows once the child is reaped
        self.set_state(exit_code=code, error=message)
        self.ready({"ok": False, "error": message, "exit_code": code})
        for client in list(self.clients.values()):
            if client.mode == "attach" and not client.frame(ERROR, message.encode()):
                self.drop(client)

    def ready(self, message: dict) -> None:
        if self.ready_fd >= 0:
            try:
                os.write(self.ready_fd, json.dumps(message).encode() + b"\n")
            except OSError:
                pass
            os.close(self.ready_fd)
            self.ready_fd = -1

    def on_child_exit(self, fd: int, _kind) -> None:
        self.sel.unregister(fd)
        os.close(fd)
        _, status = os.waitpid(self.child, 0)
        self.exit_status = init.exit_code(status)
        self.maybe_exited()

    def maybe_exited(self) -> None:
        """The container is over once PID 1 is reaped and its output drained."""
        if self.exit_status is None or self.open_streams > 0 or self.handled:
            return
        if any(key.data[0] == self.on_sync for key in self.sel.get_map().values()):
            return
        self.handled = True
        self.exited(self.exit_status)

    def exited(self, code: int) -> None:
        self.cancel(self.kill_at)
        self.kill_at = None
        self.stop_health()
        if self.stdin_w >= 0:
            os.close(self.stdin_w)
            self.stdin_w = -1
        if self.gate_w >= 0:
            os.close(self.gate_w)
            self.gate_w = -1
        failed = self.start_error
        state = statefile.load(self.cdir)
        oom = self.cgroup.oom_killed()
        ran_for = time.monotonic() - self.started_mono
        if failed:
            self.set_state(status=Status.EXITED, exit_code=failed[1], error=failed[0],
                           finished_at=time.time(), pid=0)
            self.ready({"ok": False, "error": failed[0], "exit_code": failed[1]})
            self.notify_exit(failed[1])
            self.finish()
            return
        if self.restart_requested:  # `restart`: same namespace, ports and cgroup, at once
            self.restart_requested = False
            self.set_state(status=Status.RESTARTING, exit_code=code, finished_at=time.time(),
                           pid=0, oom_killed=oom)
            self.notify_exit(code, final=False)
            self.event("restart", exit_code=code)
            self.relaunch()
            return
        restarts = state.restart_count
        if ran_for >= BACKOFF_RESET_AFTER:
            restarts = 0
        again = restart_wanted(self.spec.restart, code, restarts,
                               self.stop_requested or state.stopped_by_user)
        if again:
            self.set_state(status=Status.RESTARTING, exit_code=code, finished_at=time.time(),
                           pid=0, oom_killed=oom, restart_count=state.restart_count + 1)
            self.notify_exit(code, final=False)
            self.event("restart", exit_code=code)
            self.restart_timer = self.after(backoff(restarts + 1), self.relaunch)
            return
        self.set_state(status=Status.EXITED, exit_code=code, finished_at=time.time(), pid=0,
                       oom_killed=oom)
        self.notify_exit(code)
        self.finish()

    def relaunch(self) -> None:
        self.restart_timer = None
        self.exit_status = None
        self.handled = False
        self.launch()

    def notify_exit(self, code: int, final: bool = True) -> None:
        """Tell waiters; attached clients stay through restarts and go on the final exit."""
        self.event("die", exit_code=code)
        for client in list(self.clients.values()):
            if client.mode in ("waiting", "stopping"):
                client.reply({"exit_code": code})
                self.drop(client)
            elif client.mode == "attach" and final:
                client.frame(EXIT, str(code).encode())
                self.drop(client)
            elif client.mode == "restarting" and final:
                client.reply({"ok": False, "exit_code": code})
                self.drop(client)

    def finish(self) -> None:
        """The container is done for good: free what it held, and go."""
        free_cgroup(self.cgroup)
        release_network(self.paths, self.cid, self.spec)
        for client in list(self.clients.values()):
            if client.mode == "events":
                client.reply({"event": "gone", "time": time.time()})
            self.drop(client)
        self.done = True

    # --- stop, kill, pause -------------------------------------------------------------

    def signal(self, signum: int) -> None:
        if self.child:
            try:
                os.kill(self.child, signum)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float | None) -> None:
        self.stop_requested = True
        self.set_state(stopped_by_user=True)
        if self.restart_timer is not None:
            self.cancel(self.restart_timer)
            self.restart_timer = None
            self.set_state(status=Status.EXITED)
            self.notify_exit(statefile.load(self.cdir).exit_code or 0)
            self.finish()
            return
        if self.exit_status is not None:
            return
        self.terminate(timeout)

    def terminate(self, timeout: float | None) -> None:
        """The stop signal now, SIGKILL once the grace period is over."""
        self.thaw_if_paused()
        self.signal(_signum(self.spec.stop_signal))
        grace = self.spec.stop_timeout if timeout is None else timeout
        if self.kill_at is None:
            self.kill_at = self.after(max(0.0, grace), lambda: self.signal(signal.SIGKILL))

    def restart(self, timeout: float | None) -> None:
        """Stop the container's process and start it again in the same namespace, keeping
        its network (address, ports) and cgroup: no gap where its ports lead nowhere."""
        if self.exit_status is not None or self.restart_timer is not None:
            if self.restart_timer is not None:
                self.cancel(self.restart_timer)
                self.restart_timer = None
                self.relaunch()
            return
        self.restart_requested = True
        self.terminate(timeout)

    def thaw_if_paused(self) -> None:
        if statefile.load(self.cdir).status == Status.PAUSED:
            self.cgroup.thaw()
            self.set_state(status=Status.RUNNING)

    # --- health checks -----------------------------------------------------------------

    def has_healthcheck(self) -> bool:
        hc = self.spec.healthcheck
        return bool(hc and hc.test and hc.test[0] != "NONE")

    def schedule_health(self, first: bool = False) -> None:
        hc = self.spec.healthcheck
        assert hc is not None
        in_start = time.monotonic() - self.started_mono < hc.start_period
        delay = hc.start_interval if in_start else hc.interval
        self.health_timer = self.after(delay, self.run_health)

    def run_health(self) -> None:
        self.health_timer = None
        hc = self.spec.healthcheck
        if not self.child or hc is None or self.exit_status is not None:
            return
        argv = hc.test[1:] if hc.test[0] == "CMD" else ["/bin/sh", "-c", " ".join(hc.test[1:])]
        out_r, out_w = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            relay, err_fd = nsexec.spawn(
                self.child, argv, init.env_dict(self.spec.env), self.spec.user,
                self.spec.working_dir, self.caps, self.spec.no_new_privileges,
                self.spec.ulimits, self.spec.group_add, stdio=(null, out_w, out_w),
                cgroup_procs=self.cgroup.procs_files(), syscall_filter=self.syscall_filter)
        except OSError:
            # PID 1 died a moment ago (its namespaces are gone): its exit is being
            # handled; should it live after all, the next check runs as planned
            os.close(out_r)
            self.schedule_health()
            return
        finally:
            os.close(out_w)
            os.close(null)
        os.close(err_fd)
        pidfd = os.pidfd_open(relay)
        self.health_output = b""
        self.health_started = time.time()
        self.health_proc = (relay, pidfd, out_r)
        self.sel.register(out_r, selectors.EVENT_READ, (self.on_health_output, None))
        self.sel.register(pidfd, selectors.EVENT_READ, (self.on_health_exit, None))
        self.health_kill = self.after(hc.timeout, self.health_timeout)

    def on_health_output(self, fd: int, _kind) -> None:
        data = os.read(fd, 4096)
        if data:
            self.health_output = (self.health_output + data)[-4096:]
        else:
            self.sel.unregister(fd)
            os.close(fd)
            if self.health_proc:
                self.health_proc = (self.health_proc[0], self.health_proc[1], -1)

    def health_timeout(self) -> None:
        self.health_timed_out = True
        if self.health_proc:
            try:
                os.kill(self.health_proc[0], signal.SIGKILL)
            except ProcessLookupError:
                pass

    def on_health_exit(self, fd: int, _kind) -> None:
        assert self.health_proc is not None
        relay, pidfd, out_r = self.health_proc
        self.sel.unregister(pidfd)
        os.close(pidfd)
        if out_r >= 0:
            self.sel.unregister(out_r)
            os.close(out_r)
        _, status = os.waitpid(relay, 0)
        self.health_proc = None
        self.cancel(self.health_kill)
        timed_out, self.health_timed_out = self.health_timed_out, False
        code = os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else -1
        self.record_health(0 if code == 0 and not timed_out else 1,
                           "Health check exceeded timeout" if timed_out
                           else self.health_output.decode("utf-8", "replace"))
        if self.exit_status is None and self.child:
            self.schedule_health()

    def record_health(self, code: int, output: str) -> None:
        hc = self.spec.healthcheck
        assert hc is not None
        state = statefile.load(self.cdir)
        health = state.health or Health()
        in_start = time.monotonic() - self.started_mono < hc.start_period
        before = health.status
        if code == 0:
            health.status, health.failing_streak = "healthy", 0
        elif not in_start or health.status != "starting":
            health.failing_streak += 1
            if health.failing_streak >= hc.retries:
                health.status = "unhealthy"
        health.log = (health.log + [{"start": self.health_started, "end": time.time(),
                                     "exit_code": code, "output": output}])[-HEALTH_LOG_KEEP:]
        self.set_state(health=health)
        if health.status != before:
            self.event("health_status", status=health.status)

    def stop_health(self) -> None:
        self.cancel(self.health_timer)
        self.health_timer = None
        if self.health_proc:
            relay, pidfd, out_r = self.health_proc
            try:
                os.kill(relay, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for fd in (pidfd, out_r):
                if fd >= 0:
                    self.sel.unregister(fd)
                    os.close(fd)
            os.waitpid(relay, 0)
            self.health_proc = None

    # --- the control socket ------------------------------------------------------------

    def listen(self) -> None:
        path = self.paths.monitor_socket(self.cid)
        make_dir(path.parent, 0o700)
        path.unlink(missing_ok=True)
        self.server = private_socket()
        with short_path(path) as address:
            self.server.bind(address)
        self.server.listen(64)
        self.sel.register(self.server, selectors.EVENT_READ, (self.on_accept, None))

    def on_accept(self, server, _kind) -> None:
        sock, _ = server.accept()
        sock.setblocking(True)
        client = Client(sock)
        self.clients[sock] = client
        self.sel.register(sock, selectors.EVENT_READ, (self.on_client, None))

    def drop(self, client: Client) -> None:
        if client.sock in self.clients:
            del self.clients[client.sock]
            try:
                self.sel.unregister(client.sock)
            except (KeyError, ValueError):
                pass
            client.sock.close()

    def on_client(self, sock, _kind) -> None:
        client = self.clients.get(sock)
        if client is None:
            return
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            if client.mode == "attach" and client.stdin and self.stdin_w >= 0 and not self.spec.tty:
                os.close(self.stdin_w)
                self.stdin_w = -1
            self.drop(client)
            return
        client.buffer += data
        if client.mode == "attach":
            self.attach_input(client)
            return
        while b"\n" in client.buffer and client.mode == "request":
            line, client.buffer = client.buffer.split(b"\n", 1)
            try:
                self.request(client, json.loads(line))
            except Exception as err:  # noqa: BLE001 - a bad request must not kill the monitor
                client.reply({"error": str(err)})
                self.drop(client)
                return

    def attach_input(self, client: Client) -> None:
        frames, client.buffer = split_frames(client.buffer)
        for kind, payload in frames:
            if kind == STDIN and self.stdin_w >= 0:
                os.write(self.stdin_w, payload)
            elif kind == STDIN_CLOSE and self.stdin_w >= 0 and not self.spec.tty:
                os.close(self.stdin_w)
                self.stdin_w = -1
            elif kind == RESIZE and self.tty_master >= 0:
                ptys.set_size(self.tty_master, *struct.unpack(">HH", payload))

    def request(self, client: Client, message: dict) -> None:
        op = message.get("op")
        if op == "state":
            client.reply(statefile.load(self.cdir).to_dict())
            self.drop(client)
        elif op == "stop":
            client.mode = "stopping"
            self.stop(message.get("timeout"))
        elif op == "kill":
            signum = _signum(message.get("signal", "SIGKILL"))
            if signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
                self.stop_requested = True
                self.set_state(stopped_by_user=True)
                self.thaw_if_paused()
            self.signal(signum)
            client.reply({"ok": True})
            self.drop(client)
        elif op == "wait":
            client.mode = "waiting"
        elif op == "restart":
            client.mode = "restarting"
            self.restart(message.get("timeout"))
        elif op == "events":
            client.mode = "events"
            client.reply({"event": "subscribed", "state": statefile.load(self.cdir).to_dict()})
        elif op == "attach":
            client.mode = "attach"
            client.stdin = bool(message.get("stdin"))
            client.reply({"ok": True})
            self.open_gate()
        elif op in ("pause", "unpause"):
            if op == "pause":
                self.cgroup.freeze()
                self.set_state(status=Status.PAUSED)
            else:
                self.cgroup.thaw()
                self.set_state(status=Status.RUNNING)
            self.event(op)
            client.reply({"ok": True})
            self.drop(client)
        else:
            client.reply({"error": f"unknown request {op!r}"})
            self.drop(client)

    # --- the loop ----------------------------------------------------------------------

    def run(self) -> None:
        SYSCALLS.prctl(PR_SET_CHILD_SUBREAPER, 1)
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: self.stop(None))
        self.set_state(monitor_pid=os.getpid(), monitor_started=process_start_time(os.getpid()),
                       stopped_by_user=False, restart_count=0)
        self.listen()
        try:
            self.port_sockets = network_setup.prepare(self.paths, self.cid, self.spec)
            self.cgroup.create(self.spec.resources, cgroups.device_rules(self.spec.devices))
            self.cgroup.add_monitor(os.getpid())  # its work for the container is the container's
        except Exception as err:  # noqa: BLE001 - a clear start error, and nothing kept
            release_network(self.paths, self.cid, self.spec)
            free_cgroup(self.cgroup)
            self.set_state(status=Status.EXITED, exit_code=125, error=str(err))
            self.ready({"ok": False, "error": str(err), "exit_code": 125})
            self.shutdown()
            return
        self.launch()
        if self.wait_attach:
            # the caller attaches next; start errors then come through the attachment
            self.ready({"ok": True, "pid": self.child, "waiting": True})
            self.after(30, self.open_gate)  # nobody attached after all: start anyway
        while not self.done:
            timeout = None
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - time.monotonic())
            for key, _ in self.sel.select(timeout):
                if self.sel.get_map().get(key.fd) is not key:
                    continue  # unregistered (its fd closed) by a handler earlier in this round
                handler, arg = key.data
                handler(key.fileobj, arg)
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, fn = heapq.heappop(self.timers)
                fn()
        self.shutdown()

    def shutdown(self) -> None:
        try:
            self.server.close()
            self.paths.monitor_socket(self.cid).unlink()
        except OSError:
            pass
        self.log_file.close()
        if self.spec.auto_remove:
            from .containers import remove_files

            remove_files(self.paths, self.cid, self.spec)


def _signum(name: str | int) -> int:
    if isinstance(name, int) or str(name).isdigit():
        return int(name)
    name = str(name).upper()
    return int(getattr(signal, name if name.startswith("SIG") else "SIG" + name))


def _container_pid(paths: Paths, cid: str) -> int:
    state = statefile.load(paths.container(cid))
    if not state.pid:
        raise RuntimeError(f"container {cid[:12]} is not running")
    return state.pid


def free_cgroup(cgroup: cgroups.Cgroup) -> None:
    """From the monitor: step out of the container's cgroup, then remove it (killing what
    is left in it)."""
    try:
        cgroup.leave(os.getpid())
    except OSError:
        pass  # never joined (its creation failed), or already gone
    try:
        cgroup.destroy()
    except OSError:
        pass


def release_network(paths: Paths, cid: str, spec: ContainerSpec) -> None:
    """Give back addresses, ports and the network namespace (its interfaces go with it)."""
    if spec.network.mode in ("none", "bridge"):
        release_container(paths, cid)


def run_detached(paths: Paths, cid: str, ready_fd: int, wait_attach: bool) -> None:
    """Become the container's monitor. Called in a child of a double fork; never returns.

    Forking a warm process costs a millisecond where starting a fresh interpreter costs
    tens; the caller freezes its garbage collector before forking so that the pages the
    monitor shares with it stay shared."""
    code = 1
    try:
        os.setsid()
        os.chdir("/")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        init.close_fds_except(ready_fd)
        for sig in (signal.SIGCHLD, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        SYSCALLS.set_process_name("berth-monitor")
        Monitor(paths, cid, ready_fd, wait_attach).run()
        code = 0
    except BaseException:  # noqa: BLE001 - record why, then make sure nothing is held
        cdir = paths.container(cid)
        try:
            with os.fdopen(open_private(cdir / "monitor.log"), "a") as handle:
                handle.write(traceback.format_exc())
            os.write(ready_fd, json.dumps({"ok": False, "error": "monitor failed; see "
                                           f"{cdir}/monitor.log"}).encode() + b"\n")
        except OSError:
            pass
        try:
            statefile.update(cdir, status=Status.DEAD, error="monitor failed")
        except Exception:  # noqa: BLE001
            pass
        try:  # without its monitor the container must not run on: free what it held
            free_cgroup(cgroups.for_container(cid))
            release_network(paths, cid, ContainerSpec.from_dict(read_json(cdir / "config.json")))
        except Exception:  # noqa: BLE001
            pass
    finally:
        os._exit(code)
