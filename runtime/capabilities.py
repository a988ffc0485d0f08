"""Linux capabilities: names, docker's default set, and a container's final set."""
from __future__ import annotations

from typing import Iterable

from .errors import BerthError

NAMES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]
NUMBERS = {name: number for number, name in enumerate(NAMES)}

# docker's default set (moby oci/caps/defaults.go)
DEFAULT = ("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
           "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")


class CapabilityError(BerthError, ValueError):
    """An unknown capability name."""


def normalize(name: str) -> str:
    upper = name.upper()
    upper = upper[4:] if upper.startswith("CAP_") else upper
    if upper != "ALL" and upper not in NUMBERS:
        raise CapabilityError(f"unknown capability {name!r}")
    return upper


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except OSError:
        return len(NAMES) - 1


def final_set(add: Iterable[str], drop: Iterable[str], privileged: bool) -> list[str]:
    """Docker's rules: start from the default set (or all when privileged), drop, then add."""
    supported = NAMES[:last_cap() + 1]
    if privileged:
        return list(supported)
    adds = [normalize(n) for n in add]
    drops = [normalize(n) for n in drop]
    caps = [] if "ALL" in drops else [c for c in DEFAULT if c not in drops]
    if "ALL" in adds:
        caps = [c for c in supported if c not in drops or "ALL" in drops]
    else:
        caps += [c for c in adds if c not in caps]
    return [c for c in caps if c in supported]


def mask(caps: Iterable[str]) -> int:
    out = 0
    for cap in caps:
        out |= 1 << NUMBERS[cap]
    return out


def container_caps(add: Iterable[str], drop: Iterable[str], privileged: bool,
                   device_filter: bool) -> list[str]:
    """final_set, minus what berth does not hold itself, and minus MKNOD where nothing
    filters the container's devices (`device_filter` false: cgroup v1 without its devices
    controller; v2 always has its eBPF filter) unless asked for by name: there a node made
    in the container could reach a host disk."""
    caps = final_set(add, drop, privileged)
    asked = [normalize(c) for c in add]
    if not device_filter and not privileged and "MKNOD" in caps and "MKNOD" not in asked:
        caps.remove("MKNOD")
    have = held()
    return [c for c in caps if mask([c]) & have]


def held() -> int:
    """The capabilities berth itself may hand on (its permitted set): a container can't
    get more, and asking the kernel for more fails the start (here, without SYS_RESOURCE,
    every privileged container would)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("CapPrm:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return (1 << len(NAMES)) - 1
