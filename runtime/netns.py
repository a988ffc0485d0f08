"""Named network namespaces: a bind mount of a namespace file that outlives processes.

The network layer prepares a container's namespace (loopback, veths, addresses) before
the container starts, so its first instruction already has its network; restarts keep
it; removing the file's mount frees it (and the veths inside go with it).
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

from .forked import ChildError, in_child
from .syscalls import CLONE_NEWNET, MNT_DETACH, MS_BIND, SYSCALLS, Syscalls


def create(path: str, sys: Syscalls = SYSCALLS) -> None:
    """A new network namespace with `lo` up, pinned at `path`."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a"):
        pass

    def pinned() -> None:
        sys.unshare(CLONE_NEWNET)
        sys.mount("/proc/self/ns/net", path, None, MS_BIND)
        sys.loopback_up()

    try:
        in_child(pinned)
    except ChildError as err:
        remove(path, sys)
        raise OSError(f"cannot create network namespace {path}: {err}") from None


def exists(path: str) -> bool:
    """True if `path` has a namespace mounted on it (it is then on nsfs, not its directory's fs)."""
    try:
        return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev
    except OSError:
        return False


def remove(path: str, sys: Syscalls = SYSCALLS) -> None:
    try:
        sys.umount(path, MNT_DETACH)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    Path(path).unlink(missing_ok=True)
