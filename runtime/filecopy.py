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
from .rootdir import RootDir
from .syscalls import SYSCALLS, Syscalls

_NOT_COPIED = "not a regular file, directory or symbolic link"
# filesystems of the kernel's own (f_type): proc, sysfs, devpts, mqueue, cgroup, cgroup2,
# debugfs, tracefs, securityfs, bpf, configfs, pstore
KERNEL_FILESYSTEMS = frozenset((0x9FA0, 0x62656572, 0x1CD1, 0x19800202, 0x27E0EB, 0x63677270,
                                0x64626720, 0x74726163, 0x73636673, 0xCAFE4A11, 0x62656570,
                                0x6165676C))


class CopyError(BerthError):
    pass


# --- into a container ------------------------------------------------------------------------

def copy_tree_in(root: str, inner: str, source: str, uid: int | None = None,
                 gid: int | None = None) -> None:
    """Copy host file or tree `source` to `inner` inside `root` (replacing what is there),
    owned uid:gid; missing parent directories are created."""
    st = os.lstat(source)
    with RootDir(root) as container:
        parent = container.makedirs(os.path.dirname(inner.rstrip("/")) or "/", uid, gid)
        try:
            name = os.path.basename(inner.rstrip("/"))
            if not name:
                raise CopyError(f"cannot replace the container's root with {source}")
            _put(parent, name, source, st, uid, gid)
        finally:
            os.close(parent)


def copy_entry(parent: int, name: str, source: str, st: os.stat_result) -> None:
    """Write host file or tree `source` (lstat `st`) as `name` in directory fd `parent`,
    with its owners and modes; anything else (a device, a fifo) is left out."""
    if _copied(st):
        _put(parent, name, source, st, None, None, keep_owner=True)


def _put(parent: int, name: str, source: str, st: os.stat_result, uid: int | None,
         gid: int | None, keep_owner: bool = False) -> None:
    """Write `source` as `name` in directory fd `parent`, owned uid:gid (or as the
    source is, with `keep_owner`)."""
    if keep_owner:
        uid, gid = st.st_uid, st.st_gid

    def owned(fd_or_name, **at) -> None:
        if uid is not None:
            os.chown(fd_or_name, uid, gid if gid is not None else -1, **at)

    if stat.S_ISDIR(st.st_mode):
        existing = _lstat(name, parent)
        if existing is not None and not stat.S_ISDIR(existing.st_mode):
            _remove(name, parent)
            existing = None
        if existing is None:
            os.mkdir(name, stat.S_IMODE(st.st_mode), dir_fd=parent)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        try:
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            owned(fd)
            with os.scandir(source) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    child = entry.stat(follow_symlinks=False)
                    if _copied(child):
                        _put(fd, entry.name, entry.path, child, uid, gid, keep_owner)
        finally:
            os.close(fd)
    elif stat.S_ISLNK(st.st_mode):
        _remove(name, parent)
        os.symlink(os.readlink(source), name, dir_fd=parent)
        owned(name, dir_fd=parent, follow_symlinks=False)
    elif stat.S_ISREG(st.st_mode):
        tmp = f".{name}.berth-tmp"
        _remove(tmp, parent)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=parent)
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            os.fchmod(out.fileno(), stat.S_IMODE(st.st_mode))
            owned(out.fileno())
        existing = _lstat(name, parent)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            shutil.rmtree(name, dir_fd=parent)
        os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
    else:
        raise CopyError(f"{source}: {_NOT_COPIED}")


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
    """Copy `name` of container directory fd `parent` to host path `dest`. Below the top,
    what is created on the host is never followed (O_NOFOLLOW)."""
    nofollow = 0 if top else os.O_NOFOLLOW
    if stat.S_ISDIR(st.st_mode):
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        try:
            os.makedirs(dest, exist_ok=True) if top else _mkdir(dest)
            if SYSCALLS.fs_type(fd) in KERNEL_FILESYSTEMS:
                return  # /proc, /sys and the like: an empty directory, as docker cp shows them
            with os.scandir(fd) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    child = entry.stat(follow_symlinks=False)
                    if _copied(child):
                        _get(fd, entry.name, child, os.path.join(dest, entry.name))
            os.chmod(dest, stat.S_IMODE(os.fstat(fd).st_mode))
        finally:
            os.close(fd)
    elif stat.S_ISLNK(st.st_mode):
        if os.path.lexists(dest) and not os.path.isdir(dest):
            os.unlink(dest)
        os.symlink(os.readlink(name, dir_fd=parent), dest)
    else:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent)
        with os.fdopen(fd, "rb") as src:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since it was looked at
                raise CopyError(f"{name}: {_NOT_COPIED}")
            out_fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | nofollow,
                             0o600)
            with os.fdopen(out_fd, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
                os.fchmod(out.fileno(), stat.S_IMODE(os.fstat(fd).st_mode))


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
