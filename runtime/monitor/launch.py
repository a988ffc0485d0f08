"""Launching the container: from the monitor, through a first child, to PID 1.

    monitor --fork--> first child: join the container's cgroup, setns into the
                      namespaces it shares (net, ipc, pid), unshare the new ones,
                      --fork--> PID 1: runtime.init (rootfs, privileges, exec)
                      then send PID 1's pid to the monitor and exit

PID 1 is the monitor's child in the end (the monitor is a subreaper). It tells the
monitor on the sync pipe whether its command runs (EOF at the exec) or why not ("CODE
message"), and waits on the gate pipe before the exec: the monitor opens the gate at
once, or once a client attached. Kernel calls go through `sys` (runtime.syscalls), so
the first child's steps can be recorded (fork_pid1).
"""
from __future__ import annotations

import os
import socket
from typing import Callable, NamedTuple, NoReturn

from .. import cgroupfs, init
from .. import state as statefile
from ..cgroups import Cgroup
from ..paths import Paths
from ..protocol import STDERR, STDOUT
from ..spec import ContainerSpec
from ..syscalls import (CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS,
                        CLONE_NEWPID, CLONE_NEWUTS, SYSCALLS, Syscalls)
from .config import Config

# records here are NamedTuples, cheaper to define than dataclasses: the monitor's modules
# are loaded with runtime.containers, by every command


class Stdio(NamedTuple):
    """The container's standard streams: PID 1's ends and the monitor's."""

    child: tuple[int, int, int]  # PID 1's stdin, stdout, stderr
    readers: list[tuple[int, int]]  # (fd, STDOUT or STDERR): the output, for the monitor
    stdin: int = -1  # where the monitor writes the container's input
    tty_socket: socket.socket | None = None  # with a terminal: init sends its master here
    tty_child: int = -1  # the socket's other end, for init


def open_stdio(spec: ContainerSpec) -> Stdio:
    if spec.tty:  # init opens the pty inside the container and sends us the master
        null = os.open(os.devnull, os.O_RDWR)
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        return Stdio((null, null, null), [], tty_socket=parent, tty_child=child.detach())
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    stdin = -1
    if spec.open_stdin:
        in_r, stdin = os.pipe()
    else:
        in_r = os.open(os.devnull, os.O_RDONLY)
    return Stdio((in_r, out_w, err_w), [(out_r, STDOUT), (err_r, STDERR)], stdin=stdin)


class Namespaces(NamedTuple):
    """The first child's namespaces: join those of `join` (namespace file, CLONE_NEW*
    type) in this order, then unshare the `new` ones (CLONE_NEW* flags)."""

    join: tuple[tuple[str, int], ...]
    new: int


def namespaces(spec: ContainerSpec, paths: Paths, cid: str) -> Namespaces:
    """A mount namespace of its own always; the network its network mode names (the
    namespace berth prepared, another container's, or the host's); IPC, PID and UTS
    its own, another container's or the host's; a cgroup namespace if asked."""
    join = []
    new = CLONE_NEWNS | (0 if spec.uts == "host" else CLONE_NEWUTS)
    if spec.cgroupns == "private":
        new |= CLONE_NEWCGROUP
    mode = spec.network.mode
    if mode.startswith("container:"):
        join.append((_namespace_of(paths, mode, "net"), CLONE_NEWNET))
    elif mode != "host":
        join.append((str(paths.netns / cid), CLONE_NEWNET))
    for name, value, nstype in (("ipc", spec.ipc, CLONE_NEWIPC),
                                ("pid", spec.pid_mode, CLONE_NEWPID)):
        if value.startswith("container:"):
            join.append((_namespace_of(paths, value, name), nstype))
        elif value != "host":
            new |= nstype
    return Namespaces(tuple(join), new)


def _namespace_of(paths: Paths, mode: str, name: str) -> str:
    """The namespace file of another container ("container:ID") that runs."""
    cid = mode[len("container:"):]
    state = statefile.load(paths.container(cid))
    if not state.pid:
        raise RuntimeError(f"container {cid[:12]} is not running")
    return f"/proc/{state.pid}/ns/{name}"


def fork_pid1(cgroup: Cgroup, ns: Namespaces, pid1: Callable[[], None],
              sys: Syscalls = SYSCALLS) -> int:
    """The first child's steps: join the cgroup, join and unshare namespaces, fork PID 1
    (which runs pid1(), never to return); PID 1's pid."""
    cgroup.add(os.getpid())
    cgroupfs.remember_own()  # seen from the host's cgroup namespace, for /sys/fs/cgroup
    for path, nstype in ns.join:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        sys.setns(fd, nstype)
        os.close(fd)
    sys.unshare(ns.new)
    pid = sys.fork()
    if pid == 0:
        pid1()
    return pid


class Launched(NamedTuple):
    pid: int  # PID 1, or 0 if the first child failed (its error is on the sync pipe)
    sync: int  # the sync pipe's read end
    gate: int  # the gate pipe's write end


def launch(config: Config, stdio: Stdio, sys: Syscalls = SYSCALLS) -> Launched:
    """Start the container's PID 1 with `stdio`; the ends of stdio that are PID 1's
    are closed here."""
    sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
    gate_r, gate_w = os.pipe2(os.O_CLOEXEC)
    pid_r, pid_w = os.pipe2(os.O_CLOEXEC)
    first = sys.fork()
    if first == 0:
        _first_child(config, stdio, sync_w, gate_r, pid_w, sys)
    for fd in set(stdio.child) | {sync_w, gate_r, pid_w} | ({stdio.tty_child} - {-1}):
        os.close(fd)
    os.waitpid(first, 0)
    raw = os.read(pid_r, 32)
    os.close(pid_r)
    return Launched(int(raw) if raw else 0, sync_r, gate_w)


def _first_child(config: Config, stdio: Stdio, sync_w: int, gate_r: int, pid_w: int,
                 sys: Syscalls) -> NoReturn:
    """Between the monitor and PID 1; never returns."""
    try:
        for target, fd in enumerate(stdio.child):
            os.dup2(fd, target, inheritable=True)
        ns = namespaces(config.spec, config.paths, config.cid)
        pid1 = fork_pid1(config.cgroup, ns,
                         lambda: _become_pid1(config, sync_w, gate_r, stdio.tty_child, sys), sys)
        os.write(pid_w, str(pid1).encode())
        sys.exit(0)
    except BaseException as err:  # noqa: BLE001 - a forked child must never return
        try:
            os.write(sync_w, f"125 {err}".encode())
        finally:
            sys.exit(125)


def _become_pid1(config: Config, sync_w: int, gate_r: int, tty_fd: int, sys: Syscalls) -> None:
    """The fds init takes (3: sync, 4: gate, 5: terminal socket) and no other, then init
    (which never returns)."""
    os.dup2(sync_w, 3, inheritable=False)
    os.dup2(gate_r, 4, inheritable=False)
    tty = -1
    if tty_fd >= 0:
        os.dup2(tty_fd, 5, inheritable=False)
        tty = 5
    init.close_fds_except(3, 4, tty)
    init.run(config.spec, config.layout, 3, 4, config.caps, config.syscall_filter, tty, sys)
