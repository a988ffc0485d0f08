"""docker's default seccomp policy, as a classic BPF filter built here (no libseccomp).

docker's profile allows a list of syscalls and refuses the rest; this is the same policy
seen from the other side: the syscalls docker's profile leaves out are refused with
EPERM unless the container holds the capability that docker's profile lets them in with
(mount needs SYS_ADMIN, reboot SYS_BOOT, ...). clone with a namespace flag is refused
without SYS_ADMIN, and clone3 says ENOSYS (its flags sit in memory a filter can't read),
so that the C library falls back to clone, as under docker.

The filter is installed last, just before the exec, so berth's own set-up (mount,
pivot_root) is done by then. Built for x86_64 (with its i386 compatibility calls) and
aarch64; on other machines containers run without a filter. Privileged containers and
`security_opt: [seccomp=unconfined]` run without one too.
"""
from __future__ import annotations

import ctypes
import errno
import platform
import struct

from .syscalls import SYSCALLS, Syscalls

# who may use what: syscall -> the capabilities that let a container call it (none: nobody)
RULES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("add_key", "keyctl", "request_key", "userfaultfd", "io_uring_setup",
                     "io_uring_enter", "io_uring_register", "nfsservctl", "uselib", "ustat",
                     "sysfs", "_sysctl", "vm86", "vm86old", "create_module", "get_kernel_syms",
                     "query_module"), ()),
    **dict.fromkeys(("mount", "umount", "umount2", "pivot_root", "unshare", "setns",
                     "fanotify_init", "lookup_dcookie", "quotactl", "quotactl_fd",
                     "name_to_handle_at", "swapon", "swapoff", "fsopen", "fsmount", "fsconfig",
                     "fspick", "move_mount", "open_tree", "mount_setattr"), ("SYS_ADMIN",)),
    "bpf": ("SYS_ADMIN", "BPF"),
    "perf_event_open": ("SYS_ADMIN", "PERFMON"),
    **dict.fromkeys(("reboot", "kexec_load", "kexec_file_load"), ("SYS_BOOT",)),
    **dict.fromkeys(("init_module", "finit_module", "delete_module"), ("SYS_MODULE",)),
    "kcmp": ("SYS_PTRACE",),
    **dict.fromkeys(("settimeofday", "stime", "clock_settime", "clock_settime64",
                     "clock_adjtime", "clock_adjtime64"), ("SYS_TIME",)),
    **dict.fromkeys(("iopl", "ioperm"), ("SYS_RAWIO",)),
    **dict.fromkeys(("get_mempolicy", "set_mempolicy", "mbind"), ("SYS_NICE",)),
    "acct": ("SYS_PACCT",),
    "open_by_handle_at": ("DAC_READ_SEARCH",),
    "syslog": ("SYSLOG",),
}

# syscall numbers (asm/unistd_64.h, asm/unistd_32.h, asm-generic/unistd.h)
X86_64 = {
    "add_key": 248, "keyctl": 250, "request_key": 249, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "nfsservctl": 180,
    "uselib": 134, "ustat": 136, "sysfs": 139, "_sysctl": 156, "create_module": 174,
    "get_kernel_syms": 177, "query_module": 178, "mount": 165, "umount2": 166,
    "pivot_root": 155, "unshare": 272, "setns": 308, "bpf": 321, "fanotify_init": 300,
    "lookup_dcookie": 212, "perf_event_open": 298, "quotactl": 179, "quotactl_fd": 443,
    "name_to_handle_at": 303, "swapon": 167, "swapoff": 168, "fsopen": 430, "fsmount": 432,
    "fsconfig": 431, "fspick": 433, "move_mount": 429, "open_tree": 428, "mount_setattr": 442,
    "clone3": 435, "clone": 56, "reboot": 169, "kexec_load": 246, "kexec_file_load": 320,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "kcmp": 312,
    "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305, "iopl": 172, "ioperm": 173,
    "get_mempolicy": 239, "set_mempolicy": 238, "mbind": 237, "acct": 163,
    "open_by_handle_at": 304, "syslog": 103,
}
I386 = {
    "add_key": 286, "keyctl": 288, "request_key": 287, "userfaultfd": 374,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "nfsservctl": 169,
    "uselib": 86, "ustat": 62, "sysfs": 135, "_sysctl": 149, "vm86": 166, "vm86old": 113,
    "create_module": 127, "get_kernel_syms": 130, "query_module": 167, "mount": 21,
    "umount": 22, "umount2": 52, "pivot_root": 217, "unshare": 310, "setns": 346, "bpf": 357,
    "fanotify_init": 338, "lookup_dcookie": 253, "perf_event_open": 336, "quotactl": 131,
    "quotactl_fd": 443, "name_to_handle_at": 341, "swapon": 87, "swapoff": 115, "fsopen": 430,
    "fsmount": 432, "fsconfig": 431, "fspick": 433, "move_mount": 429, "open_tree": 428,
    "mount_setattr": 442, "clone3": 435, "clone": 120, "reboot": 88, "kexec_load": 283,
    "init_module": 128, "finit_module": 350, "delete_module": 129, "kcmp": 349,
    "settimeofday": 79, "stime": 25, "clock_settime": 264, "clock_settime64": 404,
    "clock_adjtime": 343, "clock_adjtime64": 405, "iopl": 110, "ioperm": 101,
    "get_mempolicy": 275, "set_mempolicy": 276, "mbind": 274, "acct": 51,
    "open_by_handle_at": 342, "syslog": 103,
}
AARCH64 = {
    "add_key": 217, "keyctl": 219, "request_key": 218, "userfaultfd": 282,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "nfsservctl": 42,
    "mount": 40, "umount2": 39, "pivot_root": 41, "unshare": 97, "setns": 268, "bpf": 280,
    "fanotify_init": 262, "lookup_dcookie": 18, "perf_event_open": 241, "quotactl": 60,
    "quotactl_fd": 443, "name_to_handle_at": 264, "swapon": 224, "swapoff": 225, "fsopen": 430,
    "fsmount": 432, "fsconfig": 431, "fspick": 433, "move_mount": 429, "open_tree": 428,
    "mount_setattr": 442, "clone3": 435, "clone": 220, "reboot": 142, "kexec_load": 104,
    "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106,
    "kcmp": 272, "settimeofday": 170, "clock_settime": 112, "clock_adjtime": 266,
    "get_mempolicy": 236, "set_mempolicy": 237, "mbind": 235, "acct": 89,
    "open_by_handle_at": 265, "syslog": 116,
}

# the machine's own calls first, then the compatibility ones it also accepts
AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64 = 0xC000003E, 0x40000003, 0xC00000B7
ARCHES = {"x86_64": [(AUDIT_ARCH_X86_64, X86_64), (AUDIT_ARCH_I386, I386)],
          "aarch64": [(AUDIT_ARCH_AARCH64, AARCH64)]}
X32_BIT = 0x40000000  # x86_64's x32 ABI: not supported, as no current distribution uses it

CLONE_NAMESPACES = 0x7E020000  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET

# classic BPF (linux/filter.h) and seccomp (linux/seccomp.h)
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (little endian)
ALLOW = 0x7FFF0000
ERRNO = 0x00050000
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2


def _op(code: int, k: int = 0, jt: int = 0, jf: int = 0) -> tuple[int, int, int, int]:
    return (code, jt, jf, k)


def _refuse(errno_: int = errno.EPERM) -> tuple[int, int, int, int]:
    return _op(_RET, ERRNO | errno_)


def _rules_for(table: dict[str, int], caps: set[str], x32_check: bool) -> list[tuple]:
    """The instructions for one architecture: the call number in, a verdict out."""
    ops = [_op(_LD_W_ABS, _NR)]
    if x32_check:
        ops += [_op(_JGE, X32_BIT, 0, 1), _refuse(errno.ENOSYS)]
    admin = "SYS_ADMIN" in caps
    for name, unlocked_by in RULES.items():
        if name in table and not caps.intersection(unlocked_by):
            ops += [_op(_JEQ, table[name], 0, 1), _refuse()]
    if not admin:
        ops += [_op(_JEQ, table["clone3"], 0, 1), _refuse(errno.ENOSYS),
                _op(_JEQ, table["clone"], 0, 4), _op(_LD_W_ABS, _ARG0),
                _op(_JSET, CLONE_NAMESPACES, 0, 1), _refuse(), _op(_RET, ALLOW)]
    return ops + [_op(_RET, ALLOW)]


def program(caps: list[str], machine: str | None = None) -> bytes | None:
    """The filter for a container with capabilities `caps`, as struct sock_filter[]; None
    where berth has no syscall table for the machine."""
    arches = ARCHES.get(machine or platform.machine())
    if arches is None:
        return None
    held = set(caps)
    ops: list[tuple] = []
    for audit_arch, table in arches:
        block = _rules_for(table, held, x32_check=audit_arch == AUDIT_ARCH_X86_64)
        assert len(block) < 256, "a BPF jump reaches 255 instructions at most"
        ops += [_op(_LD_W_ABS, _ARCH), _op(_JEQ, audit_arch, 0, len(block))] + block
    ops.append(_refuse())  # any other architecture
    return b"".join(struct.pack("<HBBI", *op) for op in ops)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(filter_: bytes, sys: Syscalls = SYSCALLS) -> None:
    """Apply the filter to this process and all it will start; needs no_new_privs or
    CAP_SYS_ADMIN."""
    buffer = ctypes.create_string_buffer(filter_, len(filter_))
    fprog = _SockFprog(len(filter_) // 8, ctypes.addressof(buffer))
    sys.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))


def for_container(caps: list[str], privileged: bool, confined: bool) -> bytes | None:
    """The filter a container's processes run under, or None."""
    return program(caps) if confined and not privileged else None
