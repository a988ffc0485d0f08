"""The seam to the kernel: every call that changes kernel state (mounts, namespaces,
ids, capabilities, process set-up), behind one small class; the only ctypes module.

`Syscalls` does the real calls; `RecordingSyscalls` records them instead, so mount,
pivot_root, launch and init sequences can be tested without root. Reads, and writes of
files the caller owns, are not part of it.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import platform
import resource
import signal
import socket
import struct
from typing import Iterable, NoReturn

from . import rootless

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

# namespace flags (linux/sched.h)
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount flags (linux/mount.h)
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

# prctl options
PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

# filesystem magic numbers (linux/magic.h), as fstatfs says them
PROC_MAGIC = 0x9FA0
SYSFS_MAGIC = 0x62656572
# the kernel's own filesystems: proc, sysfs, devpts, mqueue, cgroup, cgroup2, debugfs,
# tracefs, securityfs, bpf, configfs, pstore
KERNEL_FILESYSTEMS = frozenset((PROC_MAGIC, SYSFS_MAGIC, 0x1CD1, 0x19800202, 0x27E0EB,
                                0x63677270, 0x64626720, 0x74726163, 0x73636673, 0xCAFE4A11,
                                0x62656570, 0x6165676C))

# openat2 resolve flags (linux/openat2.h)
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

_SYSCALLS = {
    "x86_64": {"pivot_root": 155, "capget": 125, "capset": 126, "setns": 308, "unshare": 272,
               "openat2": 437},
    "aarch64": {"pivot_root": 41, "capget": 90, "capset": 91, "setns": 268, "unshare": 97,
                "openat2": 437},
}
_NR = _SYSCALLS.get(platform.machine(), _SYSCALLS["x86_64"])

_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1

# bpf(2) (linux/bpf.h): commands, a program type, an attach type and its flags
_NR_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine(), 321)
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_OVERRIDE = 1
BPF_F_ALLOW_MULTI = 2
_BPF_LOG_SIZE = 1 << 16


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _b(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


class Syscalls:
    """Real system calls."""

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int = 0,
              data: str | None = None) -> None:
        _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)),
               f"mount {source or fstype} on {target}")

    def umount(self, target: str, flags: int = 0) -> None:
        _check(_libc.umount2(_b(target), flags), f"umount {target}")

    def pivot_root(self, new_root: str, put_old: str) -> None:
        _check(_libc.syscall(_NR["pivot_root"], _b(new_root), _b(put_old)), "pivot_root")

    def unshare(self, flags: int) -> None:
        _check(_libc.syscall(_NR["unshare"], ctypes.c_int(flags)), "unshare")

    def setns(self, fd: int, nstype: int = 0) -> None:
        _check(_libc.syscall(_NR["setns"], ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")

    def sethostname(self, name: str) -> None:
        raw = name.encode()
        _check(_libc.sethostname(raw, len(raw)), "sethostname")

    def setdomainname(self, name: str) -> None:
        raw = name.encode()
        _check(_libc.setdomainname(raw, len(raw)), "setdomainname")

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
        return _check(_libc.prctl(option, ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                                  ctypes.c_ulong(arg4), ctypes.c_ulong(arg5)), "prctl")

    def set_process_name(self, name: str) -> None:
        """The name `ps` and /proc/PID/comm show (15 bytes at most)."""
        buf = ctypes.create_string_buffer(name.encode()[:15])
        _check(_libc.prctl(PR_SET_NAME, buf, 0, 0, 0), "prctl(PR_SET_NAME)")

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        """Set this thread's capability sets (64-bit masks)."""
        header = struct.pack("Ii", _LINUX_CAPABILITY_VERSION_3, 0)
        data = struct.pack("IIIIII", effective & 0xFFFFFFFF, permitted & 0xFFFFFFFF,
                           inheritable & 0xFFFFFFFF, effective >> 32, permitted >> 32,
                           inheritable >> 32)
        _check(_libc.syscall(_NR["capset"], ctypes.c_char_p(header), ctypes.c_char_p(data)),
               "capset")

    def set_ids(self, uid: int, gid: int, groups: Iterable[int]) -> None:
        """Become uid:gid with supplementary `groups`: groups and gid first, while still
        allowed to change them; for a non-root uid the kernel clears the capability sets."""
        if rootless.setgroups_allowed():  # denied in a session of the user's own ids only
            os.setgroups(list(groups))
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)

    def setrlimit(self, which: int, limits: tuple[int, int]) -> None:
        resource.setrlimit(which, limits)

    def write_proc(self, path: str, value: str) -> None:
        """Set a kernel value through its /proc file (a sysctl, the OOM score)."""
        with open(path, "w") as handle:
            handle.write(value)

    def loopback_up(self) -> None:
        """Bring `lo` up in the current network namespace (an ioctl; no netlink needed)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            ifreq = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, ifreq))[1]
            if not flags & _IFF_UP:
                fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))

    def mknod(self, name: str, mode: int, device: int, dir_fd: int) -> None:
        os.mknod(name, mode, device, dir_fd=dir_fd)

    # --- the process ---------------------------------------------------------------------

    def fork(self) -> int:
        return os.fork()

    def setsid(self) -> None:
        os.setsid()

    def reset_signals(self, signals: Iterable[int]) -> None:
        """`signals` back to their default action, and nothing blocked."""
        for sig in signals:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])

    def execve(self, path: str, argv: list[str], env: dict[str, str]) -> None:
        os.execve(path, argv, env)

    def exit(self, code: int) -> NoReturn:
        """End this process at once, as a forked child must (no clean-up of the parent's)."""
        os._exit(code)

    def openat2(self, dirfd: int, path: str, flags: int, mode: int = 0, resolve: int = 0) -> int:
        """openat2(2): open `path` relative to `dirfd`, resolved as `resolve` says (the
        kernel does the whole walk, so nothing can be swapped in between steps). A new fd,
        close-on-exec. Not recorded by RecordingSyscalls: it changes no kernel state."""
        how = struct.pack("QQQ", flags | os.O_CLOEXEC, mode, resolve)
        return _check(_libc.syscall(_NR["openat2"], ctypes.c_int(dirfd), _b(path),
                                    ctypes.c_char_p(how), ctypes.c_size_t(len(how))),
                      f"open {path}")

    def fs_type(self, fd: int) -> int:
        """The magic number of the filesystem `fd` is on (fstatfs's f_type)."""
        buf = ctypes.create_string_buffer(128)  # struct statfs; f_type is its first word
        _check(_libc.fstatfs(ctypes.c_int(fd), buf), "fstatfs")
        return struct.unpack_from("=l" if ctypes.sizeof(ctypes.c_long) == 8 else "=i", buf)[0] \
            & 0xFFFFFFFF

    def bpf_prog_load(self, prog_type: int, insns: bytes, license: str, name: str = "") -> int:
        """bpf(BPF_PROG_LOAD): load `insns` (struct bpf_insn, 8 bytes each) and return the
        program's fd (close-on-exec). When the kernel refuses, loads once more with a log
        buffer, so the error carries the verifier's reason."""
        code = ctypes.create_string_buffer(insns, len(insns))
        lic = ctypes.create_string_buffer(license.encode())

        def attr(log: ctypes.Array | None) -> bytes:
            # union bpf_attr's fields up to prog_name, 64 bytes (the kernel zero-fills the
            # rest; every kernel with cgroup device programs has these)
            return struct.pack("=IIQQIIQII16s", prog_type, len(insns) // 8,
                               ctypes.addressof(code), ctypes.addressof(lic),
                               0 if log is None else 1, 0 if log is None else len(log),
                               0 if log is None else ctypes.addressof(log), 0, 0,
                               name.encode()[:15])

        try:
            return _bpf(BPF_PROG_LOAD, attr(None), "bpf(BPF_PROG_LOAD)")
        except OSError as err:
            first = err
        log = ctypes.create_string_buffer(_BPF_LOG_SIZE)
        try:
            return _bpf(BPF_PROG_LOAD, attr(log), "bpf(BPF_PROG_LOAD)")
        except OSError:
            pass
        lines = log.value.decode(errors="replace").strip().splitlines()
        reason = f"; verifier: {' | '.join(lines[-8:])}" if lines else ""
        raise OSError(first.errno, f"{first.strerror}{reason}")

    def bpf_prog_attach(self, target_fd: int, prog_fd: int, attach_type: int,
                        flags: int = 0) -> None:
        """bpf(BPF_PROG_ATTACH): attach a loaded program to `target_fd` (for cgroup
        programs, an fd of the cgroup v2 directory). The attachment holds the program;
        its fd may be closed afterwards."""
        attr = struct.pack("=IIII", target_fd, prog_fd, attach_type, flags)
        _bpf(BPF_PROG_ATTACH, attr, "bpf(BPF_PROG_ATTACH)")


def _bpf(cmd: int, attr: bytes, what: str) -> int:
    buf = ctypes.create_string_buffer(attr, len(attr))
    return _check(_libc.syscall(_NR_BPF, ctypes.c_int(cmd), buf, ctypes.c_uint(len(attr))), what)


class RecordingSyscalls(Syscalls):
    """Records every call as a tuple instead of making it (for tests).

    fork() returns `fork_pid` (0: the recording goes on as the child); exit() raises
    SystemExit, so a sequence that ends the process ends the test's call instead."""

    def __init__(self, fork_pid: int = 0) -> None:
        self.calls: list[tuple] = []
        self.fork_pid = fork_pid

    def mount(self, source, target, fstype, flags=0, data=None):  # type: ignore[override]
        self.calls.append(("mount", source, target, fstype, flags, data))

    def umount(self, target, flags=0):  # type: ignore[override]
        self.calls.append(("umount", target, flags))

    def pivot_root(self, new_root, put_old):  # type: ignore[override]
        self.calls.append(("pivot_root", new_root, put_old))

    def unshare(self, flags):  # type: ignore[override]
        self.calls.append(("unshare", flags))

    def setns(self, fd, nstype=0):  # type: ignore[override]
        """Records what `fd` stands for (its path, or "net:[inode]" for a namespace)."""
        self.calls.append(("setns", os.readlink(f"/proc/self/fd/{fd}"), nstype))

    def sethostname(self, name):  # type: ignore[override]
        self.calls.append(("sethostname", name))

    def setdomainname(self, name):  # type: ignore[override]
        self.calls.append(("setdomainname", name))

    def prctl(self, option, arg2=0, arg3=0, arg4=0, arg5=0):  # type: ignore[override]
        self.calls.append(("prctl", option, arg2))
        return 0

    def set_process_name(self, name):  # type: ignore[override]
        self.calls.append(("set_process_name", name))

    def capset(self, effective, permitted, inheritable):  # type: ignore[override]
        self.calls.append(("capset", effective, permitted, inheritable))

    def set_ids(self, uid, gid, groups):  # type: ignore[override]
        self.calls.append(("set_ids", uid, gid, tuple(groups)))

    def setrlimit(self, which, limits):  # type: ignore[override]
        self.calls.append(("setrlimit", which, tuple(limits)))

    def write_proc(self, path, value):  # type: ignore[override]
        self.calls.append(("write_proc", path, value))

    def loopback_up(self):  # type: ignore[override]
        self.calls.append(("loopback_up",))

    def mknod(self, name, mode, device, dir_fd):  # type: ignore[override]
        """Records the node; leaves an empty file in its place for what follows (chmod)."""
        self.calls.append(("mknod", name, mode, device))
        os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600, dir_fd=dir_fd))

    def fork(self):  # type: ignore[override]
        self.calls.append(("fork",))
        return self.fork_pid

    def setsid(self):  # type: ignore[override]
        self.calls.append(("setsid",))

    def reset_signals(self, signals):  # type: ignore[override]
        self.calls.append(("reset_signals",))

    def execve(self, path, argv, env):  # type: ignore[override]
        self.calls.append(("execve", path, list(argv), dict(env)))

    def exit(self, code):  # type: ignore[override]
        self.calls.append(("exit", code))
        raise SystemExit(code)

    def bpf_prog_load(self, prog_type, insns, license, name=""):  # type: ignore[override]
        """Records the load; returns an fd of /dev/null, which the caller may close."""
        self.calls.append(("bpf_prog_load", prog_type, insns, license, name))
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)

    def bpf_prog_attach(self, target_fd, prog_fd, attach_type, flags=0):  # type: ignore[override]
        """Records the attach with the path `target_fd` stands for."""
        self.calls.append(("bpf_prog_attach", os.readlink(f"/proc/self/fd/{target_fd}"),
                           attach_type, flags))


SYSCALLS = Syscalls()
