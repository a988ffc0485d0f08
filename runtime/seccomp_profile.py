"""docker's default seccomp profile, as data: the syscalls a container may make, on which
conditions, and the numbers those syscalls have on x86_64, i386 and aarch64.

The rules are moby's default profile, `seccomp/default.json` of github.com/moby/profiles at
tag seccomp/v0.2.3 (commit 836ae4d37ef2ec995c77c99fc55f5b5f3af3a897), the version moby/moby
vendors at commit b985e2313a8676e18072b442911fc8f64f17d440 (2026-08-23) in
`vendor/github.com/moby/profiles/seccomp/default.json`; its `default_linux.go` holds the same
rules. They are written here in the profile's order, one `Rule` per entry, leaving out only
the entries for machines berth builds no filter for (ppc64le: sync_file_range2, swapcontext;
s390/s390x: s390_pci_mmio_read, s390_pci_mmio_write, s390_runtime_instr and clone's
s390 argument order; riscv64: riscv_flush_icache). Anything no rule allows is refused with
EPERM (`defaultAction: SCMP_ACT_ERRNO`, `defaultErrnoRet: 1`), but for calls newer than a
table's highest number, which runtime.seccomp refuses with ENOSYS.

The numbers were generated once from linux-libc-dev 6.1's headers (asm/unistd_64.h,
asm/unistd_32.h, and asm-generic/unistd.h read as arm64 reads it: 64-bit, renameat, new stat,
get/setrlimit, clone3, memfd_secret) and, for the calls newer than those headers (cachestat ..
removexattrat, 451-466, and x86_64's uretprobe, 335), from libseccomp's src/syscalls.csv
(kernel v7.1), which agrees with the headers on every number they share. A table holds every
syscall the profile names that its architecture has, and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Arg0:
    """A test of a call's first argument: `op` is lt, eq, gt (against `value`) or masked_eq
    ((arg0 & mask) == value), as libseccomp's SCMP_CMP_* are."""
    op: str
    value: int
    mask: int = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of the profile: `names` are allowed (or refused with `errno`, when not 0)
    if `arg0` holds, for containers holding all of `caps` and none of `unless_caps`, on the
    machines `arches` names (moby's names of the native architecture: amd64, x86, x32, arm64,
    arm; empty: all), on kernels from `min_kernel` on."""
    names: tuple[str, ...]
    errno: int = 0
    arg0: Arg0 | None = None
    caps: tuple[str, ...] = ()
    unless_caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: str = ""


EPERM, ENOSYS = 1, 38
DEFAULT_ERRNO = EPERM
AF_ALG, AF_VSOCK = 38, 40
CLONE_NAMESPACES = 0x7E020000  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
# personality(2) values allowed: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and
# 0xffffffff, which only asks for the current one (not ADDR_NO_RANDOMIZE, 0x0040000)
PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)

RULES: tuple[Rule, ...] = (
    # what every container may do
    Rule((
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat",
        "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
        "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
        "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
        "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
        "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
        "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
        "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
        "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
        "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
        "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
        "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64",
        "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents",
        "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
        "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
        "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
        "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
        "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
        "getxattr", "getxattrat", "inotify_add_watch", "inotify_init", "inotify_init1",
        "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc",
        "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
        "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr",
        "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat",
        "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
        "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall",
        "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
        "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall",
        "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
        "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
        "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
        "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
        "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
        "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
        "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
        "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
        "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
        "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
        "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
        "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
        "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
        "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
        "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
        "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
        "set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat", "shmat", "shmctl",
        "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
        "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
        "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
        "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
        "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
        "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
        "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
        "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
        "write", "writev",
    )),
    Rule(("process_vm_readv", "process_vm_writev", "ptrace"), min_kernel="4.8"),
    # every address family but AF_ALG (38) and AF_VSOCK (40)
    Rule(("socket",), arg0=Arg0("lt", AF_ALG)),
    Rule(("socket",), arg0=Arg0("eq", AF_ALG + 1)),
    Rule(("socket",), arg0=Arg0("gt", AF_VSOCK)),
    *(Rule(("personality",), arg0=Arg0("eq", value)) for value in PERSONALITIES),
    Rule(("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
          "cacheflush", "set_tls"), arches=("arm", "arm64")),
    Rule(("arch_prctl",), arches=("amd64", "x32")),
    Rule(("modify_ldt",), arches=("amd64", "x32", "x86")),
    Rule(("open_by_handle_at",), caps=("DAC_READ_SEARCH",)),
    Rule(("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
          "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr",
          "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
          "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2",
          "unshare"), caps=("SYS_ADMIN",)),
    # without SYS_ADMIN: clone without namespace flags, and clone3 (whose flags a filter
    # can't read) says ENOSYS so that the C library falls back to clone; moby's clone rule
    # also leaves out s390, whose clone takes its flags second
    Rule(("clone",), arg0=Arg0("masked_eq", 0, CLONE_NAMESPACES), unless_caps=("SYS_ADMIN",)),
    Rule(("clone3",), errno=ENOSYS, unless_caps=("SYS_ADMIN",)),
    Rule(("reboot",), caps=("SYS_BOOT",)),
    Rule(("chroot",), caps=("SYS_CHROOT",)),
    Rule(("delete_module", "init_module", "finit_module"), caps=("SYS_MODULE",)),
    Rule(("acct",), caps=("SYS_PACCT",)),
    Rule(("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
          "ptrace"), caps=("SYS_PTRACE",)),
    Rule(("iopl", "ioperm"), caps=("SYS_RAWIO",)),
    Rule(("settimeofday", "stime", "clock_settime", "clock_settime64"), caps=("SYS_TIME",)),
    Rule(("vhangup",), caps=("SYS_TTY_CONFIG",)),
    Rule(("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
         caps=("SYS_NICE",)),
    Rule(("syslog",), caps=("SYSLOG",)),
    Rule(("bpf",), caps=("BPF",)),
    Rule(("perf_event_open",), caps=("PERFMON",)),
)

# syscall numbers, ordered by number
X86_64: dict[str, int] = {
    "read": 0, "write": 1, "open": 2, "close": 3, "stat": 4, "fstat": 5, "lstat": 6, "poll": 7,
    "lseek": 8, "mmap": 9, "mprotect": 10, "munmap": 11, "brk": 12, "rt_sigaction": 13,
    "rt_sigprocmask": 14, "rt_sigreturn": 15, "ioctl": 16, "pread64": 17, "pwrite64": 18,
    "readv": 19, "writev": 20, "access": 21, "pipe": 22, "select": 23, "sched_yield": 24,
    "mremap": 25, "msync": 26, "mincore": 27, "madvise": 28, "shmget": 29, "shmat": 30,
    "shmctl": 31, "dup": 32, "dup2": 33, "pause": 34, "nanosleep": 35, "getitimer": 36, "alarm":
    37, "setitimer": 38, "getpid": 39, "sendfile": 40, "socket": 41, "connect": 42, "accept":
    43, "sendto": 44, "recvfrom": 45, "sendmsg": 46, "recvmsg": 47, "shutdown": 48, "bind": 49,
    "listen": 50, "getsockname": 51, "getpeername": 52, "socketpair": 53, "setsockopt": 54,
    "getsockopt": 55, "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "exit": 60, "wait4":
    61, "kill": 62, "uname": 63, "semget": 64, "semop": 65, "semctl": 66, "shmdt": 67, "msgget":
    68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "fcntl": 72, "flock": 73, "fsync": 74,
    "fdatasync": 75, "truncate": 76, "ftruncate": 77, "getdents": 78, "getcwd": 79, "chdir": 80,
    "fchdir": 81, "rename": 82, "mkdir": 83, "rmdir": 84, "creat": 85, "link": 86, "unlink": 87,
    "symlink": 88, "readlink": 89, "chmod": 90, "fchmod": 91, "chown": 92, "fchown": 93,
    "lchown": 94, "umask": 95, "gettimeofday": 96, "getrlimit": 97, "getrusage": 98, "sysinfo":
    99, "times": 100, "ptrace": 101, "getuid": 102, "syslog": 103, "getgid": 104, "setuid": 105,
    "setgid": 106, "geteuid": 107, "getegid": 108, "setpgid": 109, "getppid": 110, "getpgrp":
    111, "setsid": 112, "setreuid": 113, "setregid": 114, "getgroups": 115, "setgroups": 116,
    "setresuid": 117, "getresuid": 118, "setresgid": 119, "getresgid": 120, "getpgid": 121,
    "setfsuid": 122, "setfsgid": 123, "getsid": 124, "capget": 125, "capset": 126,
    "rt_sigpending": 127, "rt_sigtimedwait": 128, "rt_sigqueueinfo": 129, "rt_sigsuspend": 130,
    "sigaltstack": 131, "utime": 132, "mknod": 133, "personality": 135, "statfs": 137,
    "fstatfs": 138, "getpriority": 140, "setpriority": 141, "sched_setparam": 142,
    "sched_getparam": 143, "sched_setscheduler": 144, "sched_getscheduler": 145,
    "sched_get_priority_max": 146, "sched_get_priority_min": 147, "sched_rr_get_interval": 148,
    "mlock": 149, "munlock": 150, "mlockall": 151, "munlockall": 152, "vhangup": 153,
    "modify_ldt": 154, "prctl": 157, "arch_prctl": 158, "adjtimex": 159, "setrlimit": 160,
    "chroot": 161, "sync": 162, "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166,
    "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173,
    "init_module": 175, "delete_module": 176, "quotactl": 179, "gettid": 186, "readahead": 187,
    "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "getxattr": 191, "lgetxattr": 192,
    "fgetxattr": 193, "listxattr": 194, "llistxattr": 195, "flistxattr": 196, "removexattr":
    197, "lremovexattr": 198, "fremovexattr": 199, "tkill": 200, "time": 201, "futex": 202,
    "sched_setaffinity": 203, "sched_getaffinity": 204, "set_thread_area": 205, "io_setup": 206,
    "io_destroy": 207, "io_getevents": 208, "io_submit": 209, "io_cancel": 210,
    "get_thread_area": 211, "lookup_dcookie": 212, "epoll_create": 213, "epoll_ctl_old": 214,
    "epoll_wait_old": 215, "remap_file_pages": 216, "getdents64": 217, "set_tid_address": 218,
    "restart_syscall": 219, "semtimedop": 220, "fadvise64": 221, "timer_create": 222,
    "timer_settime": 223, "timer_gettime": 224, "timer_getoverrun": 225, "timer_delete": 226,
    "clock_settime": 227, "clock_gettime": 228, "clock_getres": 229, "clock_nanosleep": 230,
    "exit_group": 231, "epoll_wait": 232, "epoll_ctl": 233, "tgkill": 234, "utimes": 235,
    "mbind": 237, "set_mempolicy": 238, "get_mempolicy": 239, "mq_open": 240, "mq_unlink": 241,
    "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
    "waitid": 247, "ioprio_set": 251, "ioprio_get": 252, "inotify_init": 253,
    "inotify_add_watch": 254, "inotify_rm_watch": 255, "openat": 257, "mkdirat": 258, "mknodat":
    259, "fchownat": 260, "futimesat": 261, "newfstatat": 262, "unlinkat": 263, "renameat": 264,
    "linkat": 265, "symlinkat": 266, "readlinkat": 267, "fchmodat": 268, "faccessat": 269,
    "pselect6": 270, "ppoll": 271, "unshare": 272, "set_robust_list": 273, "get_robust_list":
    274, "splice": 275, "tee": 276, "sync_file_range": 277, "vmsplice": 278, "utimensat": 280,
    "epoll_pwait": 281, "signalfd": 282, "timerfd_create": 283, "eventfd": 284, "fallocate":
    285, "timerfd_settime": 286, "timerfd_gettime": 287, "accept4": 288, "signalfd4": 289,
    "eventfd2": 290, "epoll_create1": 291, "dup3": 292, "pipe2": 293, "inotify_init1": 294,
    "preadv": 295, "pwritev": 296, "rt_tgsigqueueinfo": 297, "perf_event_open": 298, "recvmmsg":
    299, "fanotify_init": 300, "fanotify_mark": 301, "prlimit64": 302, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "clock_adjtime": 305, "syncfs": 306, "sendmmsg": 307, "setns":
    308, "getcpu": 309, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "finit_module": 313, "sched_setattr": 314, "sched_getattr": 315, "renameat2": 316,
    "seccomp": 317, "getrandom": 318, "memfd_create": 319, "bpf": 321, "execveat": 322,
    "membarrier": 324, "mlock2": 325, "copy_file_range": 326, "preadv2": 327, "pwritev2": 328,
    "pkey_mprotect": 329, "pkey_alloc": 330, "pkey_free": 331, "statx": 332, "io_pgetevents":
    333, "rseq": 334, "uretprobe": 335, "pidfd_send_signal": 424, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "pidfd_open": 434, "clone3": 435, "close_range": 436, "openat2": 437, "pidfd_getfd": 438,
    "faccessat2": 439, "process_madvise": 440, "epoll_pwait2": 441, "mount_setattr": 442,
    "quotactl_fd": 443, "landlock_create_ruleset": 444, "landlock_add_rule": 445,
    "landlock_restrict_self": 446, "memfd_secret": 447, "process_mrelease": 448, "futex_waitv":
    449, "set_mempolicy_home_node": 450, "cachestat": 451, "fchmodat2": 452, "map_shadow_stack":
    453, "futex_wake": 454, "futex_wait": 455, "futex_requeue": 456, "statmount": 457,
    "listmount": 458, "lsm_get_self_attr": 459, "lsm_set_self_attr": 460, "lsm_list_modules":
    461, "mseal": 462, "setxattrat": 463, "getxattrat": 464, "listxattrat": 465,
    "removexattrat": 466,
}

I386: dict[str, int] = {
    "restart_syscall": 0, "exit": 1, "fork": 2, "read": 3, "write": 4, "open": 5, "close": 6,
    "waitpid": 7, "creat": 8, "link": 9, "unlink": 10, "execve": 11, "chdir": 12, "time": 13,
    "mknod": 14, "chmod": 15, "lchown": 16, "lseek": 19, "getpid": 20, "mount": 21, "umount":
    22, "setuid": 23, "getuid": 24, "stime": 25, "ptrace": 26, "alarm": 27, "pause": 29,
    "utime": 30, "access": 33, "sync": 36, "kill": 37, "rename": 38, "mkdir": 39, "rmdir": 40,
    "dup": 41, "pipe": 42, "times": 43, "brk": 45, "setgid": 46, "getgid": 47, "geteuid": 49,
    "getegid": 50, "acct": 51, "umount2": 52, "ioctl": 54, "fcntl": 55, "setpgid": 57, "umask":
    60, "chroot": 61, "dup2": 63, "getppid": 64, "getpgrp": 65, "setsid": 66, "setreuid": 70,
    "setregid": 71, "sethostname": 74, "setrlimit": 75, "getrlimit": 76, "getrusage": 77,
    "gettimeofday": 78, "settimeofday": 79, "getgroups": 80, "setgroups": 81, "select": 82,
    "symlink": 83, "readlink": 85, "reboot": 88, "mmap": 90, "munmap": 91, "truncate": 92,
    "ftruncate": 93, "fchmod": 94, "fchown": 95, "getpriority": 96, "setpriority": 97, "statfs":
    99, "fstatfs": 100, "ioperm": 101, "socketcall": 102, "syslog": 103, "setitimer": 104,
    "getitimer": 105, "stat": 106, "lstat": 107, "fstat": 108, "iopl": 110, "vhangup": 111,
    "wait4": 114, "sysinfo": 116, "ipc": 117, "fsync": 118, "sigreturn": 119, "clone": 120,
    "setdomainname": 121, "uname": 122, "modify_ldt": 123, "adjtimex": 124, "mprotect": 125,
    "sigprocmask": 126, "init_module": 128, "delete_module": 129, "quotactl": 131, "getpgid":
    132, "fchdir": 133, "personality": 136, "setfsuid": 138, "setfsgid": 139, "_llseek": 140,
    "getdents": 141, "_newselect": 142, "flock": 143, "msync": 144, "readv": 145, "writev": 146,
    "getsid": 147, "fdatasync": 148, "mlock": 150, "munlock": 151, "mlockall": 152,
    "munlockall": 153, "sched_setparam": 154, "sched_getparam": 155, "sched_setscheduler": 156,
    "sched_getscheduler": 157, "sched_yield": 158, "sched_get_priority_max": 159,
    "sched_get_priority_min": 160, "sched_rr_get_interval": 161, "nanosleep": 162, "mremap":
    163, "setresuid": 164, "getresuid": 165, "poll": 168, "setresgid": 170, "getresgid": 171,
    "prctl": 172, "rt_sigreturn": 173, "rt_sigaction": 174, "rt_sigprocmask": 175,
    "rt_sigpending": 176, "rt_sigtimedwait": 177, "rt_sigqueueinfo": 178, "rt_sigsuspend": 179,
    "pread64": 180, "pwrite64": 181, "chown": 182, "getcwd": 183, "capget": 184, "capset": 185,
    "sigaltstack": 186, "sendfile": 187, "vfork": 190, "ugetrlimit": 191, "mmap2": 192,
    "truncate64": 193, "ftruncate64": 194, "stat64": 195, "lstat64": 196, "fstat64": 197,
    "lchown32": 198, "getuid32": 199, "getgid32": 200, "geteuid32": 201, "getegid32": 202,
    "setreuid32": 203, "setregid32": 204, "getgroups32": 205, "setgroups32": 206, "fchown32":
    207, "setresuid32": 208, "getresuid32": 209, "setresgid32": 210, "getresgid32": 211,
    "chown32": 212, "setuid32": 213, "setgid32": 214, "setfsuid32": 215, "setfsgid32": 216,
    "mincore": 218, "madvise": 219, "getdents64": 220, "fcntl64": 221, "gettid": 224,
    "readahead": 225, "setxattr": 226, "lsetxattr": 227, "fsetxattr": 228, "getxattr": 229,
    "lgetxattr": 230, "fgetxattr": 231, "listxattr": 232, "llistxattr": 233, "flistxattr": 234,
    "removexattr": 235, "lremovexattr": 236, "fremovexattr": 237, "tkill": 238, "sendfile64":
    239, "futex": 240, "sched_setaffinity": 241, "sched_getaffinity": 242, "set_thread_area":
    243, "get_thread_area": 244, "io_setup": 245, "io_destroy": 246, "io_getevents": 247,
    "io_submit": 248, "io_cancel": 249, "fadvise64": 250, "exit_group": 252, "lookup_dcookie":
    253, "epoll_create": 254, "epoll_ctl": 255, "epoll_wait": 256, "remap_file_pages": 257,
    "set_tid_address": 258, "timer_create": 259, "timer_settime": 260, "timer_gettime": 261,
    "timer_getoverrun": 262, "timer_delete": 263, "clock_settime": 264, "clock_gettime": 265,
    "clock_getres": 266, "clock_nanosleep": 267, "statfs64": 268, "fstatfs64": 269, "tgkill":
    270, "utimes": 271, "fadvise64_64": 272, "mbind": 274, "get_mempolicy": 275,
    "set_mempolicy": 276, "mq_open": 277, "mq_unlink": 278, "mq_timedsend": 279,
    "mq_timedreceive": 280, "mq_notify": 281, "mq_getsetattr": 282, "waitid": 284, "ioprio_set":
    289, "ioprio_get": 290, "inotify_init": 291, "inotify_add_watch": 292, "inotify_rm_watch":
    293, "openat": 295, "mkdirat": 296, "mknodat": 297, "fchownat": 298, "futimesat": 299,
    "fstatat64": 300, "unlinkat": 301, "renameat": 302, "linkat": 303, "symlinkat": 304,
    "readlinkat": 305, "fchmodat": 306, "faccessat": 307, "pselect6": 308, "ppoll": 309,
    "unshare": 310, "set_robust_list": 311, "get_robust_list": 312, "splice": 313,
    "sync_file_range": 314, "tee": 315, "vmsplice": 316, "getcpu": 318, "epoll_pwait": 319,
    "utimensat": 320, "signalfd": 321, "timerfd_create": 322, "eventfd": 323, "fallocate": 324,
    "timerfd_settime": 325, "timerfd_gettime": 326, "signalfd4": 327, "eventfd2": 328,
    "epoll_create1": 329, "dup3": 330, "pipe2": 331, "inotify_init1": 332, "preadv": 333,
    "pwritev": 334, "rt_tgsigqueueinfo": 335, "perf_event_open": 336, "recvmmsg": 337,
    "fanotify_init": 338, "fanotify_mark": 339, "prlimit64": 340, "name_to_handle_at": 341,
    "open_by_handle_at": 342, "clock_adjtime": 343, "syncfs": 344, "sendmmsg": 345, "setns":
    346, "process_vm_readv": 347, "process_vm_writev": 348, "kcmp": 349, "finit_module": 350,
    "sched_setattr": 351, "sched_getattr": 352, "renameat2": 353, "seccomp": 354, "getrandom":
    355, "memfd_create": 356, "bpf": 357, "execveat": 358, "socket": 359, "socketpair": 360,
    "bind": 361, "connect": 362, "listen": 363, "accept4": 364, "getsockopt": 365, "setsockopt":
    366, "getsockname": 367, "getpeername": 368, "sendto": 369, "sendmsg": 370, "recvfrom": 371,
    "recvmsg": 372, "shutdown": 373, "membarrier": 375, "mlock2": 376, "copy_file_range": 377,
    "preadv2": 378, "pwritev2": 379, "pkey_mprotect": 380, "pkey_alloc": 381, "pkey_free": 382,
    "statx": 383, "arch_prctl": 384, "io_pgetevents": 385, "rseq": 386, "semget": 393, "semctl":
    394, "shmget": 395, "shmctl": 396, "shmat": 397, "shmdt": 398, "msgget": 399, "msgsnd": 400,
    "msgrcv": 401, "msgctl": 402, "clock_gettime64": 403, "clock_settime64": 404,
    "clock_adjtime64": 405, "clock_getres_time64": 406, "clock_nanosleep_time64": 407,
    "timer_gettime64": 408, "timer_settime64": 409, "timerfd_gettime64": 410,
    "timerfd_settime64": 411, "utimensat_time64": 412, "pselect6_time64": 413, "ppoll_time64":
    414, "io_pgetevents_time64": 416, "recvmmsg_time64": 417, "mq_timedsend_time64": 418,
    "mq_timedreceive_time64": 419, "semtimedop_time64": 420, "rt_sigtimedwait_time64": 421,
    "futex_time64": 422, "sched_rr_get_interval_time64": 423, "pidfd_send_signal": 424,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
    "fspick": 433, "pidfd_open": 434, "clone3": 435, "close_range": 436, "openat2": 437,
    "pidfd_getfd": 438, "faccessat2": 439, "process_madvise": 440, "epoll_pwait2": 441,
    "mount_setattr": 442, "quotactl_fd": 443, "landlock_create_ruleset": 444,
    "landlock_add_rule": 445, "landlock_restrict_self": 446, "memfd_secret": 447,
    "process_mrelease": 448, "futex_waitv": 449, "set_mempolicy_home_node": 450, "cachestat":
    451, "fchmodat2": 452, "map_shadow_stack": 453, "futex_wake": 454, "futex_wait": 455,
    "futex_requeue": 456, "statmount": 457, "listmount": 458, "lsm_get_self_attr": 459,
    "lsm_set_self_attr": 460, "lsm_list_modules": 461, "mseal": 462, "setxattrat": 463,
    "getxattrat": 464, "listxattrat": 465, "removexattrat": 466,
}

AARCH64: dict[str, int] = {
    "io_setup": 0, "io_destroy": 1, "io_submit": 2, "io_cancel": 3, "io_getevents": 4,
    "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "getxattr": 8, "lgetxattr": 9, "fgetxattr":
    10, "listxattr": 11, "llistxattr": 12, "flistxattr": 13, "removexattr": 14, "lremovexattr":
    15, "fremovexattr": 16, "getcwd": 17, "lookup_dcookie": 18, "eventfd2": 19, "epoll_create1":
    20, "epoll_ctl": 21, "epoll_pwait": 22, "dup": 23, "dup3": 24, "fcntl": 25, "inotify_init1":
    26, "inotify_add_watch": 27, "inotify_rm_watch": 28, "ioctl": 29, "ioprio_set": 30,
    "ioprio_get": 31, "flock": 32, "mknodat": 33, "mkdirat": 34, "unlinkat": 35, "symlinkat":
    36, "linkat": 37, "renameat": 38, "umount2": 39, "mount": 40, "statfs": 43, "fstatfs": 44,
    "truncate": 45, "ftruncate": 46, "fallocate": 47, "faccessat": 48, "chdir": 49, "fchdir":
    50, "chroot": 51, "fchmod": 52, "fchmodat": 53, "fchownat": 54, "fchown": 55, "openat": 56,
    "close": 57, "vhangup": 58, "pipe2": 59, "quotactl": 60, "getdents64": 61, "lseek": 62,
    "read": 63, "write": 64, "readv": 65, "writev": 66, "pread64": 67, "pwrite64": 68, "preadv":
    69, "pwritev": 70, "sendfile": 71, "pselect6": 72, "ppoll": 73, "signalfd4": 74, "vmsplice":
    75, "splice": 76, "tee": 77, "readlinkat": 78, "newfstatat": 79, "fstat": 80, "sync": 81,
    "fsync": 82, "fdatasync": 83, "sync_file_range": 84, "timerfd_create": 85,
    "timerfd_settime": 86, "timerfd_gettime": 87, "utimensat": 88, "acct": 89, "capget": 90,
    "capset": 91, "personality": 92, "exit": 93, "exit_group": 94, "waitid": 95,
    "set_tid_address": 96, "unshare": 97, "futex": 98, "set_robust_list": 99, "get_robust_list":
    100, "nanosleep": 101, "getitimer": 102, "setitimer": 103, "init_module": 105,
    "delete_module": 106, "timer_create": 107, "timer_gettime": 108, "timer_getoverrun": 109,
    "timer_settime": 110, "timer_delete": 111, "clock_settime": 112, "clock_gettime": 113,
    "clock_getres": 114, "clock_nanosleep": 115, "syslog": 116, "ptrace": 117, "sched_setparam":
    118, "sched_setscheduler": 119, "sched_getscheduler": 120, "sched_getparam": 121,
    "sched_setaffinity": 122, "sched_getaffinity": 123, "sched_yield": 124,
    "sched_get_priority_max": 125, "sched_get_priority_min": 126, "sched_rr_get_interval": 127,
    "restart_syscall": 128, "kill": 129, "tkill": 130, "tgkill": 131, "sigaltstack": 132,
    "rt_sigsuspend": 133, "rt_sigaction": 134, "rt_sigprocmask": 135, "rt_sigpending": 136,
    "rt_sigtimedwait": 137, "rt_sigqueueinfo": 138, "rt_sigreturn": 139, "setpriority": 140,
    "getpriority": 141, "reboot": 142, "setregid": 143, "setgid": 144, "setreuid": 145,
    "setuid": 146, "setresuid": 147, "getresuid": 148, "setresgid": 149, "getresgid": 150,
    "setfsuid": 151, "setfsgid": 152, "times": 153, "setpgid": 154, "getpgid": 155, "getsid":
    156, "setsid": 157, "getgroups": 158, "setgroups": 159, "uname": 160, "sethostname": 161,
    "setdomainname": 162, "getrlimit": 163, "setrlimit": 164, "getrusage": 165, "umask": 166,
    "prctl": 167, "getcpu": 168, "gettimeofday": 169, "settimeofday": 170, "adjtimex": 171,
    "getpid": 172, "getppid": 173, "getuid": 174, "geteuid": 175, "getgid": 176, "getegid": 177,
    "gettid": 178, "sysinfo": 179, "mq_open": 180, "mq_unlink": 181, "mq_timedsend": 182,
    "mq_timedreceive": 183, "mq_notify": 184, "mq_getsetattr": 185, "msgget": 186, "msgctl":
    187, "msgrcv": 188, "msgsnd": 189, "semget": 190, "semctl": 191, "semtimedop": 192, "semop":
    193, "shmget": 194, "shmctl": 195, "shmat": 196, "shmdt": 197, "socket": 198, "socketpair":
    199, "bind": 200, "listen": 201, "accept": 202, "connect": 203, "getsockname": 204,
    "getpeername": 205, "sendto": 206, "recvfrom": 207, "setsockopt": 208, "getsockopt": 209,
    "shutdown": 210, "sendmsg": 211, "recvmsg": 212, "readahead": 213, "brk": 214, "munmap":
    215, "mremap": 216, "clone": 220, "execve": 221, "mmap": 222, "fadvise64": 223, "mprotect":
    226, "msync": 227, "mlock": 228, "munlock": 229, "mlockall": 230, "munlockall": 231,
    "mincore": 232, "madvise": 233, "remap_file_pages": 234, "mbind": 235, "get_mempolicy": 236,
    "set_mempolicy": 237, "rt_tgsigqueueinfo": 240, "perf_event_open": 241, "accept4": 242,
    "recvmmsg": 243, "wait4": 260, "prlimit64": 261, "fanotify_init": 262, "fanotify_mark": 263,
    "name_to_handle_at": 264, "open_by_handle_at": 265, "clock_adjtime": 266, "syncfs": 267,
    "setns": 268, "sendmmsg": 269, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp":
    272, "finit_module": 273, "sched_setattr": 274, "sched_getattr": 275, "renameat2": 276,
    "seccomp": 277, "getrandom": 278, "memfd_create": 279, "bpf": 280, "execveat": 281,
    "membarrier": 283, "mlock2": 284, "copy_file_range": 285, "preadv2": 286, "pwritev2": 287,
    "pkey_mprotect": 288, "pkey_alloc": 289, "pkey_free": 290, "statx": 291, "io_pgetevents":
    292, "rseq": 293, "pidfd_send_signal": 424, "open_tree": 428, "move_mount": 429, "fsopen":
    430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_open": 434, "clone3": 435,
    "close_range": 436, "openat2": 437, "pidfd_getfd": 438, "faccessat2": 439,
    "process_madvise": 440, "epoll_pwait2": 441, "mount_setattr": 442, "quotactl_fd": 443,
    "landlock_create_ruleset": 444, "landlock_add_rule": 445, "landlock_restrict_self": 446,
    "memfd_secret": 447, "process_mrelease": 448, "futex_waitv": 449, "set_mempolicy_home_node":
    450, "cachestat": 451, "fchmodat2": 452, "map_shadow_stack": 453, "futex_wake": 454,
    "futex_wait": 455, "futex_requeue": 456, "statmount": 457, "listmount": 458,
    "lsm_get_self_attr": 459, "lsm_set_self_attr": 460, "lsm_list_modules": 461, "mseal": 462,
    "setxattrat": 463, "getxattrat": 464, "listxattrat": 465, "removexattrat": 466,
}
