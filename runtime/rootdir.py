"""Paths inside a root directory resolved by the kernel, never leaving it.

A container's filesystem (through /proc/PID/root or its mounted overlay), a volume, a
build context: their contents belong to someone else, who may swap a directory for a
symlink at any moment (renameat2 RENAME_EXCHANGE in a loop). Resolving a path first
and opening it after (secure_join, then open) leaves a window in which the swap sends
the open to the host. Here every lookup is one openat2(2) with RESOLVE_IN_ROOT: the
kernel walks the whole path as if the root were `/` (an absolute symlink restarts at
the root, `..` stops there) and hands back an fd. Everything after works on fds: a
parent directory fd plus a single name, used with O_NOFOLLOW and the *at calls.
"""
from __future__ import annotations

import errno
import os
import stat

from .syscalls import RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, SYSCALLS

O_PATH = getattr(os, "O_PATH", 0o10000000)


class RootDir:
    """A directory that relative paths are resolved inside of.

    `strict`: a path that would leave the root is an error (RESOLVE_BENEATH, for a build
    context) instead of being clamped at the root as a chroot would (RESOLVE_IN_ROOT,
    for a container's filesystem, where an absolute symlink means the container's root).
    """

    def __init__(self, path: str | os.PathLike, strict: bool = False) -> None:
        self.path = os.fspath(path)
        self.fd = os.open(self.path, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.resolve = (RESOLVE_BENEATH if strict else RESOLVE_IN_ROOT) | RESOLVE_NO_MAGICLINKS

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "RootDir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self, inner: str, flags: int = os.O_RDONLY, mode: int = 0) -> int:
        """An fd for `inner` (relative to the root, or absolute inside it; absolute is an
        escape for a strict root)."""
        return SYSCALLS.openat2(self.fd, inner or ".", flags, mode, self.resolve)

    def lstat(self, inner: str) -> os.stat_result | None:
        """What `inner` is (a final symlink not followed), or None if it isn't there."""
        parent, name = self.parent(inner)
        try:
            return os.stat(name, dir_fd=parent, follow_symlinks=False) if name else os.fstat(parent)
        except (FileNotFoundError, NotADirectoryError):
            return None
        finally:
            os.close(parent)

    def parent(self, inner: str) -> tuple[int, str]:
        """(fd of the directory holding `inner`, its last name): work with the *at calls
        and no symlink is followed at the end. The name is "" for the root itself."""
        comps = [c for c in inner.split("/") if c not in ("", ".")]
        if comps and comps[-1] == "..":  # "a/b/.." names a directory: resolve it whole
            return self.open("/".join(comps), os.O_RDONLY | os.O_DIRECTORY), ""
        if not comps:
            return self.open(".", os.O_RDONLY | os.O_DIRECTORY), ""
        return self.open("/".join(comps[:-1]), os.O_RDONLY | os.O_DIRECTORY), comps[-1]

    def makedirs(self, inner: str, uid: int | None = None, gid: int | None = None,
                 mode: int = 0o755) -> int:
        """An fd of directory `inner`, creating what is missing (owned uid:gid)."""
        comps = [c for c in inner.split("/") if c not in ("", ".")]
        for depth in range(len(comps) + 1):
            try:
                fd = self.open("/".join(comps[:depth]), os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                parent, name = self.parent("/".join(comps[:depth]))
                try:
                    os.mkdir(name, mode, dir_fd=parent)
                    if uid is not None:
                        os.chown(name, uid, gid if gid is not None else -1, dir_fd=parent,
                                 follow_symlinks=False)
                except FileExistsError:
                    pass  # made meanwhile (or a link to resolve): the next open decides
                finally:
                    os.close(parent)
                fd = self.open("/".join(comps[:depth]), os.O_RDONLY | os.O_DIRECTORY)
            if depth < len(comps):
                os.close(fd)
        return fd

    def read_text(self, inner: str) -> str:
        """A small text file's content ("" if it is missing or not a regular file)."""
        try:
            fd = self.open(inner, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return ""
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return ""
            with os.fdopen(os.dup(fd), "rb") as handle:
                return handle.read(1 << 22).decode("utf-8", "replace")
        finally:
            os.close(fd)


def is_escape(err: OSError) -> bool:
    """An openat2 refusal for a path that leaves a strict root."""
    return err.errno == errno.EXDEV
