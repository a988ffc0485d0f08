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

from .errors import BerthError
from .syscalls import RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, SYSCALLS

O_PATH = getattr(os, "O_PATH", 0o10000000)
MAX_LINKS = 40  # as the kernel's path walk
EAGAIN_RETRIES = 128


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
        attempts = 0
        while True:
            try:
                return SYSCALLS.openat2(self.fd, inner or ".", flags, mode, self.resolve)
            except OSError as err:
                if err.errno == errno.ENOSYS:
                    raise BerthError(f"berth needs Linux 5.6 or later (openat2); this is "
                                     f"{os.uname().release}") from None
                # EAGAIN: a rename or mount elsewhere on the machine raced a ".." step, so
                # the kernel could not prove the walk stayed inside; openat2(2) says retry.
                attempts += 1
                if err.errno != errno.EAGAIN or attempts >= EAGAIN_RETRIES:
                    raise
                os.sched_yield()  # let the racing rename or mount finish

    def follow(self, inner: str) -> str:
        """Where `inner` leads inside the root, links followed (within it) even when what
        they name doesn't exist yet: a dangling /etc/resolv.conf link names the file to
        create. Every step is looked at through an fd opened inside the root."""
        pending = [c for c in inner.split("/") if c not in ("", ".")]
        pending.reverse()
        resolved: list[str] = []
        links = 0
        while pending:
            comp = pending.pop()
            if comp == "..":
                if resolved:
                    resolved.pop()
                continue
            try:
                parent = self.open("/".join(resolved), O_PATH | os.O_DIRECTORY)
            except (FileNotFoundError, NotADirectoryError):
                resolved.append(comp)  # below a missing directory: nothing to follow
                continue
            try:
                target = os.readlink(comp, dir_fd=parent)
            except OSError:  # not a link, or not there
                resolved.append(comp)
                continue
            finally:
                os.close(parent)
            links += 1
            if links > MAX_LINKS:
                raise OSError(errno.ELOOP, f"too many levels of symbolic links: {inner}")
            if target.startswith("/"):
                resolved = []
            pending.extend(reversed([c for c in target.split("/") if c not in ("", ".")]))
        return "/" + "/".join(resolved)

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
        """An fd of directory `inner`, creating what is missing (owned uid:gid), where
        its links lead when they dangle."""
        try:
            return self.open(inner, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            pass
        comps = [c for c in self.follow(inner).split("/") if c]
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
            fd = reopen_regular(self.open(inner, O_PATH))
        except OSError:
            return ""
        with os.fdopen(fd, "rb") as handle:
            return handle.read(1 << 22).decode("utf-8", "replace")


def reopen_regular(path_fd: int, flags: int = os.O_RDONLY) -> int:
    """A readable fd for what O_PATH fd `path_fd` stands for (which it closes), if that
    is a regular file: a device, a fifo or a socket someone put there is never opened
    (opening a device can do things, a watchdog's reboots the host)."""
    try:
        if not stat.S_ISREG(os.fstat(path_fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return os.open(f"/proc/self/fd/{path_fd}", flags | os.O_CLOEXEC)
    finally:
        os.close(path_fd)


def open_regular_at(dir_fd: int, name: str, flags: int = os.O_RDONLY) -> int:
    """reopen_regular of `name` in directory fd `dir_fd`, a final link not followed."""
    return reopen_regular(os.open(name, O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd),
                          flags)


def is_escape(err: OSError) -> bool:
    """An openat2 refusal for a path that leaves a strict root."""
    return err.errno == errno.EXDEV
