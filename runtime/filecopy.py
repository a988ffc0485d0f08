"""Copying files into and out of containers, written straight into their filesystem.

A running container's tree is reached through /proc/PID/root; a stopped one's overlay is
mounted for the copy in a private mount namespace. Every path inside is resolved by the
kernel within the container's root (runtime.rootdir) and all work after that is done on
file descriptors, so a container that swaps a directory for a symlink while the copy
runs cannot send a read or a write to the host (CVE-2018-15664). Only regular files,
directories and symbolic links are copied, as docker does: a link to /dev/zero is a
link, never gigabytes of zeros. Used by `cp` and by `watch` (which needs no tar or
shell in the image, unlike compose).
"""
from __future__ import annotations

import os
import shutil
import stat
from typing import Callable

from .errors import BerthError
from .forked import ChildError, in_child
from .rootdir import RootDir, open_regular_at
from .syscalls import KERNEL_FILESYSTEMS, SYSCALLS, Syscalls

_NOT_COPIED = "not a regular file, directory or symbolic link"
class CopyError(BerthError):
    pass


# --- into a container ------------------------------------------------------------------------

def copy_tree_in(root: str, inner: str, source: str, uid: int | None = None,
                 gid: int | None = None) -> None:
    """Copy host file or tree `source` to `inner` inside `root` (replacing what is there),
    owned uid:gid; missing parent directories are created."""
    head, tail = os.path.split(source.rstrip("/") or "/")
    source_dir = os.open(head or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        tail = tail or "."
        st = os.stat(tail, dir_fd=source_dir, follow_symlinks=False)
        with RootDir(root) as container:
            parent = container.makedirs(os.path.dirname(inner.rstrip("/")) or "/", uid, gid)
            try:
                name = os.path.basename(inner.rstrip("/"))
                if not name:
                    raise CopyError(f"cannot replace the container's root with {source}")
                if not _copied(st):
                    raise CopyError(f"{source}: {_NOT_COPIED}")
                _put(parent, name, source_dir, tail, st, uid, gid)
            finally:
                os.close(parent)
    finally:
        os.close(source_dir)


def copy_entry(parent: int, name: str, source_dir: int, source: str,
               st: os.stat_result) -> None:
    """Write entry `source` of directory fd `source_dir` (lstat `st`) as `name` in
    directory fd `parent`, with its owners, modes and times; anything else than a file,
    directory or link (a device, a fifo) is left out."""
    if _copied(st):
        _put(parent, name, source_dir, source, st, None, None, keep_owner=True)


def _put(parent: int, name: str, source_dir: int, source: str, st: os.stat_result,
         uid: int | None, gid: int | None, keep_owner: bool = False) -> None:
    """Write entry `source` of directory fd `source_dir` as `name` in directory fd
    `parent`, owned uid:gid (or as the source is, with `keep_owner`). Both sides are
    reached through fds only, and a source that changes kind meanwhile is refused."""
    if keep_owner:
        uid, gid = st.st_uid, st.st_gid

    def owned(fd_or_name, **at) -> None:
        if uid is not None:
            os.chown(fd_or_name, uid, gid if gid is not None else -1, **at)

    times = (st.st_atime_ns, st.st_mtime_ns)
    if stat.S_ISDIR(st.st_mode):
        existing = _lstat(name, parent)
        if existing is not None and not stat.S_ISDIR(existing.st_mode):
            _remove(name, parent)
            existing = None
        if existing is None:
            os.mkdir(name, 0o700, dir_fd=parent)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        src = os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                      dir_fd=source_dir)
        try:
            with os.scandir(src) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    child = entry.stat(follow_symlinks=False)
                    if _copied(child):
                        _put(fd, entry.name, src, entry.name, child, uid, gid, keep_owner)
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            owned(fd)
            os.utime(fd, ns=times)
        finally:
            os.close(src)
            os.close(fd)
    elif stat.S_ISLNK(st.st_mode):
        target = os.readlink(source, dir_fd=source_dir)
        _remove(name, parent)
        os.symlink(target, name, dir_fd=parent)
        owned(name, dir_fd=parent, follow_symlinks=False)
        os.utime(name, ns=times, dir_fd=parent, follow_symlinks=False)
    else:
        tmp = f".{name}.berth-tmp"
        _remove(tmp, parent)
        src = open_regular_at(source_dir, source)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=parent)
        with os.fdopen(fd, "wb") as out, os.fdopen(src, "rb") as data:
            shutil.copyfileobj(data, out, 1 << 20)
            out.flush()
            os.fchmod(out.fileno(), stat.S_IMODE(st.st_mode))
            owned(out.fileno())
            os.utime(out.fileno(), ns=times)
        existing = _lstat(name, parent)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            shutil.rmtree(name, dir_fd=parent)
        os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)


def remove_path(root: str, inner: str) -> None:
    """Delete `inner` (file or tree) inside `root`; a missing one is fine."""
    with RootDir(root) as container:
        try:
            parent, name = container.parent(inner)
        except (FileNotFoundError, NotADirectoryError):
            return
        try:
            if name:
                _remove(name, parent)
        finally:
            os.close(parent)


# --- out of a container ----------------------------------------------------------------------

def copy_out_of(root: str, inner: str, dest: str) -> None:
    """Copy `inner` (file, link or tree) from inside `root` to host path `dest` (into it,
    when it is a directory)."""
    with RootDir(root) as container:
        try:
            parent, name = container.parent(inner)
        except (FileNotFoundError, NotADirectoryError):
            raise CopyError(f"no such file or directory in the container: {inner}") from None
        try:
            st = os.fstat(parent) if not name else _lstat(name, parent)
            if st is None:
                raise CopyError(f"no such file or directory in the container: {inner}")
            if not _copied(st):
                raise CopyError(f"{inner}: {_NOT_COPIED}")
            if os.path.isdir(dest):
                dest = os.path.join(dest, os.path.basename(inner.rstrip("/")) or "root")
            _get(parent, name or ".", st, dest, top=True)
        finally:
            os.close(parent)


def _get(parent: int, name: str, st: os.stat_result, dest: str, top: bool = False) -> None:
    """Copy `name` of container directory fd `parent` to host path `dest`, times kept.
    Below the top, what is created on the host is never followed (O_NOFOLLOW)."""
    nofollow = 0 if top else os.O_NOFOLLOW
    times = (st.st_atime_ns, st.st_mtime_ns)
    if stat.S_ISDIR(st.st_mode):
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        try:
            os.makedirs(dest, exist_ok=True) if top else _mkdir(dest)
            if SYSCALLS.fs_type(fd) not in KERNEL_FILESYSTEMS:  # /proc, /sys: left empty,
                with os.scandir(fd) as entries:                 # as docker cp shows them
                    for entry in sorted(entries, key=lambda e: e.name):
                        child = entry.stat(follow_symlinks=False)
                        if _copied(child):
                            _get(fd, entry.name, child, os.path.join(dest, entry.name))
            os.chmod(dest, stat.S_IMODE(os.fstat(fd).st_mode))
            os.utime(dest, ns=times)
        finally:
            os.close(fd)
    elif stat.S_ISLNK(st.st_mode):
        if os.path.lexists(dest) and not os.path.isdir(dest):
            os.unlink(dest)
        os.symlink(os.readlink(name, dir_fd=parent), dest)
        os.utime(dest, ns=times, follow_symlinks=False)
    else:
        try:
            src = open_regular_at(parent, name)
        except OSError:  # swapped since it was looked at
            raise CopyError(f"{name}: {_NOT_COPIED}") from None
        with os.fdopen(src, "rb") as data:
            out_fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | nofollow,
                             0o600)
            with os.fdopen(out_fd, "wb") as out:
                shutil.copyfileobj(data, out, 1 << 20)
                out.flush()
                os.fchmod(out.fileno(), stat.S_IMODE(os.fstat(src).st_mode))
                os.utime(out.fileno(), ns=times)


def _mkdir(path: str) -> None:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise


# --- helpers ---------------------------------------------------------------------------------

def _copied(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)


def _lstat(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _remove(name: str, dir_fd: int) -> None:
    st = _lstat(name, dir_fd)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


# --- a container's root --------------------------------------------------------------------

def in_container_root(api, cid: str, action: Callable[[str], None],
                      sys: Syscalls = SYSCALLS) -> None:
    """Run `action(root)` with the container's filesystem at `root`."""
    container = api.get(cid)
    if container.status.value in ("running", "paused") and container.state.pid:
        action(f"/proc/{container.state.pid}/root")
        return
    from . import rootfs
    from .fsutil import read_json
    from .syscalls import CLONE_NEWNS, MS_PRIVATE, MS_RDONLY, MS_REC

    info = read_json(container.dir / "rootfs.json")
    layout = rootfs.Layout(str(container.dir), info["layers_root"], info["layers"])

    def mounted() -> None:
        sys.unshare(CLONE_NEWNS)
        sys.mount(None, "/", None, MS_REC | MS_PRIVATE)
        os.chdir(layout.layers_root)
        sys.mount("overlay", layout.rootfs, "overlay", 0, rootfs.overlay_options(layout))
        for mount in container.spec.mounts:  # volumes are part of what a copy sees
            if mount.type == "bind" and mount.source and os.path.exists(mount.source):
                with rootfs.volume_subpath(mount.source, mount.subpath) as source, \
                        rootfs.mount_point(layout.rootfs, mount.target,
                                           not os.path.isdir(source)) as target:
                    rootfs.bind_mount(source, target, layout, sys,
                                      MS_RDONLY | MS_REC if mount.read_only else 0)
        action(layout.rootfs)

    try:
        in_child(mounted)
    except ChildError as err:
        raise CopyError(str(err)) from None


def copy_in(api, cid: str, source: str, inner: str) -> None:
    """`berth cp SOURCE CONTAINER:INNER` (into INNER when it is a directory)."""
    if not os.path.lexists(source):
        raise CopyError(f"no such file or directory: {source}")

    def action(root: str) -> None:
        target = inner
        with RootDir(root) as container:
            try:
                os.close(container.open(inner, os.O_PATH | os.O_DIRECTORY))
                target = os.path.join(inner, os.path.basename(source.rstrip("/")))
            except OSError:
                pass  # not a directory (yet): `inner` is the name to copy to
        copy_tree_in(root, target, source, 0, 0)

    _reported(lambda: in_container_root(api, cid, action), inner)


def copy_out(api, cid: str, inner: str, dest: str) -> None:
    """`berth cp CONTAINER:INNER DEST` (into DEST when it is a directory)."""
    _reported(lambda: in_container_root(api, cid, lambda root: copy_out_of(root, inner, dest)),
              inner)


def _reported(copy: Callable[[], None], inner: str) -> None:
    """A copy whose failures (a file that went away or became a link meanwhile, a full
    disk, a path that is no directory) are one CopyError naming what and why."""
    try:
        copy()
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        raise CopyError(f"cannot copy {inner}: {err.strerror or err}{where}") from None
