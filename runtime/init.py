"""The container's first process, between fork and exec, in a fixed order.

Runs as PID 1 of the new PID namespace, in new mount/UTS/IPC namespaces, already
in the container's cgroup and network namespace. Everything it needs was imported
before the fork: nothing is imported after pivot_root.

    new session -> lo up -> OOM score -> rootfs.prepare -> hostname -> sysctls
    -> rootfs.pivot -> rootfs.finish -> user lookup -> terminal -> rlimits -> working dir
    -> wait for the go signal -> bounding set -> seccomp filter -> user and capabilities
    -> no_new_privs -> signals reset -> exec (or, with init: true, fork the command and
    reap as PID 1)

A failure is written to the sync pipe (the monitor reports it) and the process exits
127 (not found), 126 (not executable) or 125 (anything else), as docker does.

Every step that changes kernel state goes through `sys` (runtime.syscalls), so the
order can be recorded without root (tests/runtime/test_init.py).
"""
from __future__ import annotations

import errno
import os
import resource
import signal

from . import ptys, rootfs, seccomp, users
from .capabilities import last_cap, mask
from .spec import ContainerSpec
from .syscalls import (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAPBSET_DROP,
                       PR_SET_NO_NEW_PRIVS, SYSCALLS, Syscalls)

# Linux resource numbers (asm-generic/resource.h); Python lacks some of them
RLIMITS = {"cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6,
           "nofile": 7, "memlock": 8, "as": 9, "locks": 10, "sigpending": 11, "msgqueue": 12,
           "nice": 13, "rtprio": 14, "rttime": 15}


class StartError(Exception):
    """Why the container's process could not be started; `code` is its exit code."""

    def __init__(self, message: str, code: int = 125) -> None:
        super().__init__(message)
        self.code = code


def set_rlimits(ulimits: dict[str, list[int]], sys: Syscalls = SYSCALLS) -> None:
    """Apply ulimits, never above the current hard limit (raising it needs CAP_SYS_RESOURCE)."""
    for name, (soft, hard) in ulimits.items():
        which = RLIMITS.get(name)
        if which is None:
            raise StartError(f"unknown ulimit {name!r}")
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY and (hard < 0 or hard > current_hard):
            hard = current_hard
        soft = hard if soft < 0 or (hard >= 0 and soft > hard) else soft
        try:
            sys.setrlimit(which, (soft, hard))
        except (ValueError, OSError) as err:
            raise StartError(f"ulimit {name}={soft}:{hard}: {err}") from None


def write_sysctls(sysctls: dict[str, str], sys: Syscalls = SYSCALLS) -> None:
    for key, value in sysctls.items():
        try:
            sys.write_proc("/proc/sys/" + key.replace(".", "/"), str(value))
        except OSError as err:
            raise StartError(f"sysctl {key}={value}: {err.strerror}") from None


def find_executable(name: str, env: dict[str, str]) -> str:
    if "/" in name:
        if not os.path.exists(name):
            raise StartError(f'exec: "{name}": no such file or directory', 127)
        return name
    for directory in env.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(":"):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise StartError(f'exec: "{name}": executable file not found in $PATH', 127)


def close_fds_except(*keep: int) -> None:
    """Close every fd above stdio but `keep` (-1s ignored)."""
    low = 3
    for fd in sorted(fd for fd in set(keep) if fd >= low):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


def enter_working_dir(path: str, code: int) -> None:
    """chdir, then make sure the directory is inside this root (a working dir given as
    /proc/self/fd/N of a leaked fd would be outside: runc CVE-2024-21626)."""
    try:
        os.chdir(path or "/")
    except OSError as err:
        raise StartError(f"cannot use working directory {path}: {err.strerror}", code) from None
    try:
        os.getcwd()  # fails for a directory unreachable from this root
    except FileNotFoundError:
        raise StartError(f"cannot use working directory {path}: it is not inside the "
                         "container", code) from None


def env_dict(env: list[str]) -> dict[str, str]:
    out = {}
    for item in env:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def drop_privileges(user: users.User, caps: list[str], no_new_privs: bool,
                    syscall_filter: bytes | None = None, sys: Syscalls = SYSCALLS) -> None:
    """Bounding set first (needs CAP_SETPCAP), then the syscall filter (while still
    root, so no_new_privs is not needed for it), then ids, then the remaining sets."""
    keep = mask(caps)
    for number in range(last_cap() + 1):
        if not keep & (1 << number):
            try:
                sys.prctl(PR_CAPBSET_DROP, number)
            except OSError as err:
                if err.errno != errno.EINVAL:
                    raise
    if syscall_filter:
        seccomp.install(syscall_filter, sys)
    sys.set_ids(user.uid, user.gid, user.groups)  # non-root: the kernel clears the other sets
    if user.uid == 0:
        sys.capset(keep, keep, 0)
    try:
        sys.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass
    if no_new_privs:
        sys.prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_oom_score_adj(value: int, sys: Syscalls = SYSCALLS) -> None:
    """Raising the score always works; lowering it below the current value needs
    CAP_SYS_RESOURCE, which some hosts don't give (this one): then it stays as it is,
    rather than the container failing to start."""
    try:
        sys.write_proc("/proc/self/oom_score_adj", str(value))
    except PermissionError:
        pass


# what Python changed for itself, back to what a command expects
PYTHON_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                  signal.SIGQUIT, signal.SIGCHLD)


def exec_command(argv: list[str], env: dict[str, str], sys: Syscalls = SYSCALLS) -> None:
    path = find_executable(argv[0], env)
    try:
        sys.execve(path, argv, env)
    except PermissionError:
        raise StartError(f'exec: "{argv[0]}": permission denied', 126) from None
    except OSError as err:
        raise StartError(f'exec: "{argv[0]}": {err.strerror}', 126) from None


FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGWINCH)


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the signal."""
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def forward_signals(pid: int, signals: tuple[int, ...]) -> None:
    """Pass each of `signals` that this process receives on to `pid`."""
    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in signals:
        signal.signal(sig, forward)


def _reap_as_init(child: int) -> None:
    """`init: true`: forward signals to the command, reap zombies, exit with its status."""
    forward_signals(child, FORWARDED + (signal.SIGCONT, signal.SIGTSTP))
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == child:
            os._exit(exit_code(status))


def run(spec: ContainerSpec, layout: rootfs.Layout, sync_fd: int, gate_fd: int,
        caps: list[str], syscall_filter: bytes | None, tty_fd: int = -1,
        sys: Syscalls = SYSCALLS) -> None:
    """Never returns: exec's the container command or exits with a start error.

    `caps` and `syscall_filter` are the monitor's (runtime.capabilities.container_caps,
    runtime.seccomp.for_container), which its health checks use too. With a terminal,
    the pty is opened in the container's own /dev/pts and its master is sent to the
    monitor over `tty_fd`."""
    try:
        sys.setsid()
        if spec.network.mode != "host":
            sys.loopback_up()
        if spec.oom_score_adj is not None:
            set_oom_score_adj(spec.oom_score_adj, sys)
        rootfs.prepare(spec, layout, sys)
        if spec.hostname:
            sys.sethostname(spec.hostname)
        if spec.domainname:
            sys.setdomainname(spec.domainname)
        sysctls = dict(spec.sysctls)
        if spec.network.mode != "host":
            # as docker does: any user may bind low ports in the container's own namespace
            sysctls.setdefault("net.ipv4.ip_unprivileged_port_start", "0")
        write_sysctls(sysctls, sys)
        rootfs.pivot(layout.rootfs, sys)
        rootfs.finish(spec, sys)
        user = users.resolve_in("/", spec.user, spec.group_add, spec.groups_as)
        env = env_dict(spec.env)
        env.setdefault("HOME", user.home or "/")
        if spec.tty:
            master, slave = ptys.open_pty()
            os.fchown(slave, user.uid, user.gid)
            ptys.become_terminal_of(slave)
            ptys.send_fd(tty_fd, master)
            os.close(master)
            os.close(tty_fd)
            env.setdefault("TERM", "xterm")
        set_rlimits(spec.ulimits, sys)
        os.makedirs(spec.working_dir or "/", exist_ok=True)
        enter_working_dir(spec.working_dir, 125)
        if os.read(gate_fd, 1) != b"g":
            sys.exit(125)  # the monitor gave up before the start
        os.close(gate_fd)
        drop_privileges(user, caps, spec.no_new_privileges and not spec.privileged,
                        syscall_filter, sys)
        sys.reset_signals(PYTHON_SIGNALS)
        if spec.init:
            child = sys.fork()
            if child:
                os.close(sync_fd)
                _reap_as_init(child)
        exec_command(spec.args, env, sys)
    except StartError as err:
        fail_start(sync_fd, str(err), err.code, sys)
    except users.UserError as err:
        fail_start(sync_fd, str(err), 125, sys)
    except OSError as err:
        fail_start(sync_fd, f"{err.strerror or err}" + (f": {err.filename}" if err.filename else ""),
                   125, sys)
    except BaseException as err:  # noqa: BLE001 - report anything, the process must not return
        fail_start(sync_fd, f"container init failed: {err!r}", 125, sys)


def fail_start(sync_fd: int, message: str, code: int, sys: Syscalls = SYSCALLS) -> None:
    try:
        os.write(sync_fd, f"{code} {message}".encode())
    finally:
        sys.exit(code)

