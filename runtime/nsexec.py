"""Run a process inside a running container: `exec`, and the monitor's health checks.

A relay process joins the container's cgroup and namespaces (mount last), forks the
command into the container's PID namespace, forwards signals to it and exits with its
status, so whoever spawned the relay can wait on it like on any child.
"""
from __future__ import annotations

import os

from . import ptys, users
from .init import (FORWARDED, PYTHON_SIGNALS, StartError, close_fds_except, drop_privileges,
                   enter_working_dir, exec_command, exit_code, fail_start, forward_signals,
                   set_rlimits)
from .syscalls import (CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS,
                       SYSCALLS, Syscalls)

# joined in this order, the mount namespace last
NAMESPACES = {"ipc": CLONE_NEWIPC, "uts": CLONE_NEWUTS, "net": CLONE_NEWNET,
              "pid": CLONE_NEWPID, "mnt": CLONE_NEWNS}


def _same_namespace(pid: int, name: str) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/ns/{name}") == os.readlink(f"/proc/self/ns/{name}")
    except OSError:
        return False


def spawn(container_pid: int, argv: list[str], env: dict[str, str], user: str, cwd: str,
          caps: list[str], no_new_privs: bool = False, ulimits: dict | None = None,
          group_add: list[str] | None = None, stdio: tuple[int, int, int] | None = None,
          tty_socket: int = -1, cgroup_procs: list[str] | None = None,
          syscall_filter: bytes | None = None, sys: Syscalls = SYSCALLS) -> tuple[int, int]:
    """Start `argv` in the container; return (relay pid, read end of the error pipe).

    The relay exits with the command's exit code; the pipe yields "CODE message" if the
    command could not be started and EOF otherwise. With `tty_socket`, the command gets
    a terminal from the container's /dev/pts and its master is sent over that socket."""
    ns_fds = [(nstype, os.open(f"/proc/{container_pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC))
              for name, nstype in NAMESPACES.items() if not _same_namespace(container_pid, name)]
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    relay = sys.fork()
    if relay:
        os.close(err_w)
        for _, fd in ns_fds:
            os.close(fd)
        return relay, err_r
    try:
        os.close(err_r)
        if stdio:
            for target, fd in enumerate(stdio):
                if fd != target:
                    os.dup2(fd, target)
        for procs in cgroup_procs or ():
            with open(procs, "w") as handle:
                handle.write(str(os.getpid()))
        for nstype, fd in ns_fds:
            sys.setns(fd, nstype)
        command = sys.fork()
        if command == 0:
            _command(argv, env, user, cwd, caps, no_new_privs, ulimits or {}, group_add or [],
                     tty_socket, err_w, syscall_filter, sys)
        os.close(err_w)
        _relay(command)
    except BaseException as err:  # noqa: BLE001 - a forked child must never return
        try:
            os.write(err_w, f"125 exec failed: {err}".encode())
        finally:
            sys.exit(125)
    sys.exit(125)


def _command(argv, env, user_spec, cwd, caps, no_new_privs, ulimits, group_add, tty_socket,
             err_w, syscall_filter, sys: Syscalls):
    try:
        # nothing of the caller's but stdio: an inherited fd of a host directory would be
        # a way out of the container (runc CVE-2024-21626)
        close_fds_except(err_w, tty_socket)
        os.setsid()
        user = users.resolve_in("/", user_spec, group_add)
        if tty_socket >= 0:
            master, slave = ptys.open_pty()
            os.fchown(slave, user.uid, user.gid)
            ptys.become_terminal_of(slave)
            ptys.send_fd(tty_socket, master)
            os.close(master)
            os.close(tty_socket)
        env = dict(env)
        env.setdefault("HOME", user.home or "/")
        set_rlimits(ulimits, sys)
        enter_working_dir(cwd, 126)
        drop_privileges(user, caps, no_new_privs, syscall_filter, sys)
        sys.reset_signals(PYTHON_SIGNALS)
        exec_command(argv, env, sys)
    except StartError as err:
        fail_start(err_w, str(err), err.code, sys)
    except users.UserError as err:
        fail_start(err_w, str(err), 126, sys)
    except BaseException as err:  # noqa: BLE001
        fail_start(err_w, f"exec failed: {err}", 126, sys)


def _relay(command: int) -> None:
    forward_signals(command, FORWARDED)
    while True:
        try:
            pid, status = os.waitpid(command, 0)
        except ChildProcessError:
            os._exit(125)
        if pid == command:
            os._exit(exit_code(status))


def wait_relay(relay: int, err_fd: int) -> tuple[int, str | None]:
    """Wait for a relay from spawn(): the command's exit code, and why it could not be
    started if it could not."""
    _, status = os.waitpid(relay, 0)
    error = read_error(err_fd)
    return error if error else (exit_code(status), None)


def read_error(fd: int) -> tuple[int, str] | None:
    """After the relay exited: (code, message) if the command failed to start."""
    data = b""
    while chunk := os.read(fd, 4096):
        data += chunk
    os.close(fd)
    if not data:
        return None
    code, _, message = data.decode(errors="replace").partition(" ")
    return int(code) if code.isdigit() else 126, message
