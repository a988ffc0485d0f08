"""Resolve a path inside a root directory as if that root were `/`.

Symlinks are followed, but an absolute symlink restarts at the root and `..` stops at
it, so the result never leaves the root. Used wherever berth writes into an image or
container filesystem: layer unpacking, mount targets, `cp`, watch sync.
"""
from __future__ import annotations

import errno
import os
from collections import deque

MAX_LINKS = 255


class EscapeError(ValueError):
    """A path that cannot be resolved inside its root (too many links)."""


def secure_join(root: str | os.PathLike, unsafe: str) -> str:
    root = os.fspath(root)
    parts = deque(unsafe.split("/"))
    resolved: list[str] = []
    links = 0
    while parts:
        comp = parts.popleft()
        if comp in ("", "."):
            continue
        if comp == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, comp)
        try:
            target = os.readlink(candidate)
        except OSError as err:
            if err.errno in (errno.EINVAL, errno.ENOENT, errno.ENOTDIR):
                resolved.append(comp)
                continue
            raise
        links += 1
        if links > MAX_LINKS:
            raise EscapeError(f"too many symbolic links resolving {unsafe!r}")
        if target.startswith("/"):
            resolved = []
        parts.extendleft(reversed(target.split("/")))
    return os.path.join(root, *resolved)


def clean_member_path(name: str) -> list[str]:
    """An archive member's path as components; `..` anywhere is refused."""
    comps = [c for c in name.split("/") if c not in ("", ".")]
    if ".." in comps:
        raise EscapeError(f"archive entry {name!r} points outside its root")
    return comps
