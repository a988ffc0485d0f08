"""Container cgroups behind one interface, for cgroup v1 (also hybrid) and v2.

A container's cgroup is named `berth-<id>` directly under each hierarchy's root, so
berth (and a leak check) can always find it; it is removed when the container goes.
"""
from __future__ import annotations

import os
import stat
from typing import Iterable, Protocol, Sequence

from .. import rootless
from ..spec import Resources
from ..syscalls import SYSCALLS, Syscalls
from .devicefilter import DEVICE_RULES, PRIVILEGED_RULES

CGROUP_ROOT = "/sys/fs/cgroup"


class Cgroup(Protocol):
    def create(self, resources: Resources, devices: Sequence[str] = DEVICE_RULES) -> None: ...
    def add(self, pid: int) -> None: ...
    def add_monitor(self, pid: int) -> None: ...
    def leave(self, pid: int) -> None: ...
    def procs_files(self) -> list[str]: ...
    def pids(self) -> list[int]: ...
    def freeze(self) -> None: ...
    def thaw(self) -> None: ...
    def stats(self) -> dict[str, int]: ...
    def oom_killed(self) -> bool: ...
    def destroy(self) -> None: ...
    def exists(self) -> bool: ...


def cgroup_name(cid: str) -> str:
    return f"berth-{cid}"


def cgroup_version(root: str = CGROUP_ROOT) -> int:
    return 2 if is_v2(root) else 1


def is_v2(root: str = CGROUP_ROOT) -> bool:
    return os.path.exists(os.path.join(root, "cgroup.controllers"))


def for_container(cid: str, root: str = CGROUP_ROOT, sys: Syscalls = SYSCALLS) -> Cgroup:
    """The container's cgroup under `root` (a cgroup v2 mount; on v1 hosts the controllers'
    hierarchies are found in /proc/self/mounts)."""
    from . import v1, v2

    name = cgroup_name(cid)
    if rootless.active():  # a user namespace writes no cgroup here: the container has none
        return v1.V1(name, {})
    if is_v2(root):
        return v2.V2(os.path.join(root, name), root, sys)
    return v1.V1(name, v1.mounts())


def unsupported(resources: Resources, root: str = CGROUP_ROOT) -> tuple[str, ...]:
    """What this machine's cgroups cannot apply of `resources`, in docker's words (a
    container is made without it, as docker makes it)."""
    from . import v1

    if rootless.active():
        from ..rootless.limits import unapplied
        return unapplied(resources)
    out = []
    if resources.blkio_weight or resources.blkio_weight_device:
        if is_v2(root):
            has = os.path.exists(os.path.join(root, "cgroup.controllers")) and \
                "io" in open(os.path.join(root, "cgroup.controllers")).read().split()
        else:
            blkio = v1.mounts().get("blkio")
            has = bool(blkio) and os.path.exists(os.path.join(blkio, "blkio.weight"))
        if not has:
            out.append("Your kernel does not support Block I/O weight or the cgroup is not "
                       "mounted. Weight discarded.")
    if resources.oom_kill_disable and not resources.memory:
        out.append("OOM killer is disabled for the container, but no memory limit is set, "
                   "this can result in the system running out of resources.")
    return tuple(out)


def filters_devices(root: str = CGROUP_ROOT) -> bool:
    """Whether a container's device access is limited: v2 always (create fails without its
    eBPF filter), v1 where the devices controller is mounted."""
    from . import v1

    return not rootless.active() and (is_v2(root) or "devices" in v1.mounts())


def device_rules(devices: Iterable[Sequence[str]], privileged: bool = False) -> list[str]:
    """All the device rules ("c 10:229 rwm") of a container, for Cgroup.create: docker's
    default ones and one for each of its own devices, [host path, container path,
    permissions] as in ContainerSpec.devices (the host node's type and numbers); for a
    privileged container, the one rule allowing every device."""
    rules = list(DEVICE_RULES)
    for host, _inner, perms in devices:
        try:
            st = os.stat(host)
        except OSError as err:
            raise ValueError(f"device {host}: {err.strerror}") from None
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
            rules.append(f"{kind} {os.major(st.st_rdev)}:{os.minor(st.st_rdev)} {perms or 'rwm'}")
    return list(PRIVILEGED_RULES) if privileged else rules
