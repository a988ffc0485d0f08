"""The cgroup filesystem inside a container, as docker gives it: /sys/fs/cgroup shows
the container's own cgroups, read-only (read-write when privileged), so runtimes that
size themselves from their limits (the JVM's heap, Go's GOMAXPROCS, Node) can read
them. cgroup v1: a tmpfs with one directory per hierarchy (and the host's links, such
as cpu -> cpu,cpuacct), each the container's own cgroup of that hierarchy; the empty
cgroup2 mount of a hybrid host is left out, as runc does. cgroup v2 only: the
container's cgroup directory itself.
"""
from __future__ import annotations

import os
from typing import NamedTuple

from .fsutil import read_text
from .syscalls import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT, Syscalls

CGROUP_ROOT = "/sys/fs/cgroup"
_FLAGS = {"rw", "ro", "clone_children", "noprefix", "xattr", "nsdelegate", "cpuset_v2_mode",
          "memory_recursiveprot", "favordynmods", "memory_localevents"}  # not controllers


_OWN = {"text": ""}  # /proc/self/cgroup, read before a cgroup namespace hides the paths


def remember_own(path: str = "/proc/self/cgroup") -> None:
    """Read the process's cgroups while their paths are the host's (before unsharing a
    cgroup namespace); PID 1, forked after, mounts them (own_cgroups)."""
    with open(path) as handle:
        _OWN["text"] = handle.read()


def own_cgroups() -> str:
    return _OWN["text"] or read_text("/proc/self/cgroup")


class CgroupMount(NamedTuple):
    name: str  # under /sys/fs/cgroup ("" for a v2 host: the directory itself)
    source: str | None  # the host directory of the container's own cgroup (None: it
    # has none in that hierarchy, and sees an empty directory, never the host's root)


def _membership(self_cgroup: str) -> dict[str, str]:
    """/proc/self/cgroup: hierarchy (its controllers as listed, or "" for v2) -> path."""
    out = {}
    for line in self_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            out[parts[1]] = parts[2]
    return out


def plan(mountinfo: str, self_cgroup: str) -> list[CgroupMount]:
    """The cgroup mounts a container gets, from the host's /proc/self/mountinfo and the
    container's /proc/self/cgroup (read once it is in its cgroups)."""
    member = _membership(self_cgroup)
    v1, v2 = [], []
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        root, point, fstype = fields[3], fields[4], fields[dash + 1]
        options = fields[dash + 3].split(",") if len(fields) > dash + 3 else []
        if not point.startswith(CGROUP_ROOT):
            continue
        if fstype == "cgroup":
            controllers = [o for o in options if o not in _FLAGS and ("=" not in o
                                                                     or o.startswith("name="))]
            key = next((k for k in member if k and set(k.split(",")) == set(controllers)), None)
            if key is None:
                continue
            path = member[key]
            v1.append(CgroupMount(os.path.basename(point),
                                  None if path == "/" else _below(point, root, path)))
        elif fstype == "cgroup2" and "" in member:
            v2.append(CgroupMount("", _below(point, root, member[""])))
    return v1 if v1 else v2


def _below(point: str, root: str, path: str) -> str:
    """Where cgroup `path` is on the host, for a hierarchy mounted at `point` whose
    mount shows cgroup `root`."""
    inside = os.path.relpath(path, root) if root != "/" else path.lstrip("/")
    return os.path.normpath(os.path.join(point, inside)) if inside not in ("", ".") else point


def links(directory: str = CGROUP_ROOT) -> list[tuple[str, str]]:
    """The host's links beside its hierarchies (cpu -> cpu,cpuacct), kept inside."""
    out = []
    try:
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if os.path.islink(path):
                out.append((name, os.readlink(path)))
    except OSError:
        pass
    return out


def populate(directory_fd: int, mounts: list[CgroupMount], host_links: list[tuple[str, str]],
             writable: bool, sys: Syscalls) -> None:
    """Fill the tmpfs open at `directory_fd` (the container's /sys/fs/cgroup, v1): a
    directory per hierarchy with the container's own cgroup bound on it."""
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (0 if writable else MS_RDONLY)
    for item in mounts:
        os.mkdir(item.name, 0o555, dir_fd=directory_fd)
        if item.source is None:
            continue  # a hierarchy the container has no cgroup of its own in: not the host's
        inner = f"/proc/self/fd/{directory_fd}/{item.name}"
        sys.mount(item.source, inner, None, MS_BIND)
        sys.mount(None, inner, None, MS_BIND | MS_REMOUNT | flags)
    names = {m.name for m in mounts}
    for name, points_to in host_links:
        if points_to in names and name not in names:
            os.symlink(points_to, name, dir_fd=directory_fd)
