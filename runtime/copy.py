"""Copying files into and out of containers, written straight into their filesystem.

A running container's tree is reached through /proc/PID/root; a stopped one's overlay is
mounted for the copy in a private mount namespace. Paths inside are resolved with
secure_join, so a symlink in the container can never carry a read or write to the host.
Used by `cp` and by `watch` (which needs no tar or shell in the image, unlike compose).
"""
from __future__ import annotations

import os
import shutil
import stat
from typing import Callable

from .errors import BerthError
from .forked import ChildError, in_child
from .securejoin import secure_join


class CopyError(BerthError):
    pass


def write_file(root: str, inner: str, source: str, uid: int | None = None,
               gid: int | None = None) -> None:
    """Copy host file `source` to `inner` inside `root` (replacing it), as uid:gid."""
    inner = inner if inner.startswith("/") else "/" + inner
    parent = secure_join(root, os.path.dirname(inner))
    _makedirs(parent, uid, gid)
    name = os.path.basename(inner)
    dir_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        st = os.stat(source, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            _replace(name, dir_fd)
            os.symlink(os.readlink(source), name, dir_fd=dir_fd)
            if uid is not None:
                os.chown(name, uid, gid if gid is not None else -1, dir_fd=dir_fd,
                         follow_symlinks=False)
            return
        tmp = f".{name}.berth-tmp"
        _replace(tmp, dir_fd)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     stat.S_IMODE(st.st_mode), dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            os.fchmod(out.fileno(), stat.S_IMODE(st.st_mode))
            if uid is not None:
                os.fchown(out.fileno(), uid, gid if gid is not None else -1)
        existing = _lstat(name, dir_fd)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            shutil.rmtree(name, dir_fd=dir_fd)
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _lstat(name: str, dir_fd: int):
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _replace(name: str, dir_fd: int) -> None:
    st = _lstat(name, dir_fd)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def _makedirs(path: str, uid: int | None, gid: int | None) -> None:
    if os.path.isdir(path):
        return
    _makedirs(os.path.dirname(path), uid, gid)
    os.mkdir(path, 0o755)
    if uid is not None:
        os.chown(path, uid, gid if gid is not None else -1)


def remove_path(root: str, inner: str) -> None:
    """Delete `inner` (file or tree) inside `root`; a missing one is fine."""
    inner = inner if inner.startswith("/") else "/" + inner
    parent = secure_join(root, os.path.dirname(inner))
    if not os.path.isdir(parent):
        return
    dir_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        _replace(os.path.basename(inner), dir_fd)
    finally:
        os.close(dir_fd)


def copy_tree_in(root: str, inner: str, source: str, uid=None, gid=None) -> None:
    if not os.path.isdir(source):
        write_file(root, inner, source, uid, gid)
        return
    _makedirs(secure_join(root, inner), uid, gid)
    for dirpath, dirnames, filenames in os.walk(source):
        rel = os.path.relpath(dirpath, source)
        target_dir = os.path.normpath(os.path.join(inner, rel))
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                write_file(root, os.path.join(target_dir, name), full, uid, gid)
            else:
                _makedirs(secure_join(root, os.path.join(target_dir, name)), uid, gid)
        for name in filenames:
            write_file(root, os.path.join(target_dir, name), os.path.join(dirpath, name), uid, gid)


def copy_out_of(root: str, inner: str, dest: str) -> None:
    source = secure_join(root, inner)
    if not os.path.lexists(source):
        raise CopyError(f"no such file or directory in the container: {inner}")
    if os.path.isdir(dest) and not os.path.islink(source):
        dest = os.path.join(dest, os.path.basename(inner.rstrip("/")) or "root")
    if os.path.isdir(source) and not os.path.islink(source):
        shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)
    elif os.path.islink(source):
        os.symlink(os.readlink(source), dest)
    else:
        shutil.copy2(source, dest)


def in_container_root(api, cid: str, action: Callable[[str], None]) -> None:
    """Run `action(root)` with the container's filesystem at `root`."""
    container = api.get(cid)
    if container.status.value in ("running", "paused") and container.state.pid:
        action(f"/proc/{container.state.pid}/root")
        return
    from . import rootfs
    from .fsutil import read_json
    from .syscalls import CLONE_NEWNS, MS_BIND, MS_PRIVATE, MS_REC, SYSCALLS

    info = read_json(container.dir / "rootfs.json")
    layout = rootfs.Layout(str(container.dir), info["layers_root"], info["layers"])

    def mounted() -> None:
        SYSCALLS.unshare(CLONE_NEWNS)
        SYSCALLS.mount(None, "/", None, MS_REC | MS_PRIVATE)
        os.chdir(layout.layers_root)
        SYSCALLS.mount("overlay", layout.rootfs, "overlay", 0, rootfs.overlay_options(layout))
        for mount in container.spec.mounts:  # volumes are part of what a copy sees
            if mount.type == "bind" and mount.source and os.path.exists(mount.source):
                target = rootfs.mount_point(layout.rootfs, mount.target,
                                            not os.path.isdir(mount.source))
                SYSCALLS.mount(mount.source, target, None, MS_BIND | MS_REC)
        action(layout.rootfs)

    try:
        in_child(mounted)
    except ChildError as err:
        raise CopyError(str(err)) from None


def copy_in(api, cid: str, source: str, inner: str) -> None:
    if not os.path.lexists(source):
        raise CopyError(f"no such file or directory: {source}")

    def action(root: str) -> None:
        target = inner
        resolved = secure_join(root, inner)
        if os.path.isdir(resolved) and not os.path.islink(resolved):
            target = os.path.join(inner, os.path.basename(source.rstrip("/")))
        copy_tree_in(root, target, source, 0, 0)

    in_container_root(api, cid, action)


def copy_out(api, cid: str, inner: str, dest: str) -> None:
    in_container_root(api, cid, lambda root: copy_out_of(root, inner, dest))
