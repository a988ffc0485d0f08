"""Unpack one layer tar into a directory that overlayfs can use as a lower layer.

OCI whiteouts become overlay whiteouts: `.wh.NAME` -> a 0:0 character device NAME,
`.wh..wh..opq` -> the `trusted.overlay.opaque` xattr on its directory (`user.overlay.
opaque` without root). Modes, owners, times, xattrs, symlinks, hard links and device
nodes are kept.

Nothing is ever written outside the layer root: `..` entries are refused, parent
directories are resolved inside the root (symlinks included), the final component is
created with O_NOFOLLOW relative to its parent, and hard links must point inside.
"""
from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import tarfile
from typing import BinaryIO

from .. import rootless
from ..errors import BerthError
from ..securejoin import EscapeError, clean_member_path, secure_join

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
_OVERLAY_XATTRS = ("SCHILY.xattr.trusted.overlay.", "SCHILY.xattr.user.overlay.")


class UnpackError(BerthError, ValueError):
    """A layer that cannot be unpacked safely."""


def open_layer(path: str | os.PathLike) -> BinaryIO:
    """Open a layer blob for reading as an uncompressed tar stream (gzip/zstd/plain)."""
    raw = open(path, "rb")
    magic = raw.read(4)
    raw.seek(0)
    if magic[:2] == b"\x1f\x8b":
        raw.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if magic == b"\x28\xb5\x2f\xfd":
        import zstandard  # only for zstd layers

        return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)  # type: ignore[return-value]
    return raw


def _remove(name: str, dir_fd: int) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def _open_parent(root: str, comps: list[str]) -> int:
    """An fd for the parent directory of comps, created as needed, resolved inside root."""
    parent = secure_join(root, "/".join(comps[:-1]))
    os.makedirs(parent, mode=0o755, exist_ok=True)
    return os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)


def _xattrs(member: tarfile.TarInfo) -> dict[str, bytes]:
    """The entry's extended attributes, but none of overlayfs's own (*.overlay.*):
    a layer must not set where overlayfs redirects lookups or finds data; only its
    whiteouts, translated here, speak to overlayfs."""
    out = {}
    for key, value in member.pax_headers.items():
        if key.startswith("SCHILY.xattr.") and not key.startswith(_OVERLAY_XATTRS):
            raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
            out[key[len("SCHILY.xattr."):]] = raw
    return out


def _attributes(name: str, dir_fd: int, member: tarfile.TarInfo) -> None:
    os.chown(name, member.uid, member.gid, dir_fd=dir_fd, follow_symlinks=False)
    if not member.issym():
        os.chmod(name, member.mode & 0o7777, dir_fd=dir_fd)
    os.utime(name, (member.mtime, member.mtime), dir_fd=dir_fd, follow_symlinks=False)


def unpack(stream: BinaryIO, root: str) -> None:
    """Unpack the uncompressed tar `stream` into directory `root` (created if missing)."""
    os.makedirs(root, mode=0o755, exist_ok=True)
    dir_times: list[tuple[str, float]] = []
    try:
        archive = tarfile.open(fileobj=stream, mode="r|")
    except tarfile.TarError as err:
        raise UnpackError(f"not a tar archive: {err}") from None
    with archive:
        for member in archive:
            try:
                comps = clean_member_path(member.name)
            except EscapeError as err:
                raise UnpackError(str(err)) from None
            if not comps:
                continue
            base = comps[-1]
            parent_fd = _open_parent(root, comps)
            try:
                if base == OPAQUE:
                    os.setxattr(f"/proc/self/fd/{parent_fd}", rootless.opaque_xattr(), b"y")
                elif base.startswith(WHITEOUT_PREFIX):
                    target = base[len(WHITEOUT_PREFIX):]
                    _remove(target, parent_fd)
                    os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=parent_fd)
                else:
                    _entry(archive, member, root, base, parent_fd, dir_times, comps)
            finally:
                os.close(parent_fd)
    for path, mtime in reversed(dir_times):
        os.utime(path, (mtime, mtime), follow_symlinks=False)


def _entry(archive: tarfile.TarFile, member: tarfile.TarInfo, root: str, base: str,
           parent_fd: int, dir_times: list, comps: list[str]) -> None:
    if member.isdir():
        try:
            st = os.stat(base, dir_fd=parent_fd, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                _remove(base, parent_fd)
                os.mkdir(base, 0o700, dir_fd=parent_fd)
        except FileNotFoundError:
            os.mkdir(base, 0o700, dir_fd=parent_fd)
        _attributes(base, parent_fd, member)
        _set_xattrs(base, parent_fd, member)
        dir_times.append((os.path.join(secure_join(root, "/".join(comps[:-1])), base),
                          member.mtime))
        return
    _remove(base, parent_fd)
    if member.isreg():
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=parent_fd)
        with os.fdopen(fd, "wb") as out:
            source = archive.extractfile(member)
            if source is not None:
                shutil.copyfileobj(source, out, 1 << 20)
    elif member.issym():
        os.symlink(member.linkname, base, dir_fd=parent_fd)
    elif member.islnk():
        try:
            link_comps = clean_member_path(member.linkname)
        except EscapeError as err:
            raise UnpackError(f"hard link {member.name!r}: {err}") from None
        if not link_comps:
            raise UnpackError(f"hard link {member.name!r} to the layer root")
        # the link's own last component is not followed: a hard link to a symlink links the symlink
        source = os.path.join(secure_join(root, "/".join(link_comps[:-1])), link_comps[-1])
        if not os.path.lexists(source):
            raise UnpackError(f"hard link {member.name!r} to missing {member.linkname!r}")
        if os.path.isdir(source) and not os.path.islink(source):
            raise UnpackError(f"hard link {member.name!r} to a directory")
        os.link(source, base, dst_dir_fd=parent_fd, follow_symlinks=False)
        return  # a hard link shares its target's attributes
    elif member.ischr() or member.isblk() or member.isfifo():
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() else stat.S_IFIFO
        os.mknod(base, kind | 0o600, os.makedev(member.devmajor, member.devminor),
                 dir_fd=parent_fd)
    else:
        return  # sockets and unknown types are skipped, as docker does
    _attributes(base, parent_fd, member)
    _set_xattrs(base, parent_fd, member)


def _set_xattrs(base: str, parent_fd: int, member: tarfile.TarInfo) -> None:
    xattrs = _xattrs(member)
    if not xattrs or not (member.isreg() or member.isdir()):
        return
    fd = os.open(base, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=parent_fd)
    try:
        for key, value in xattrs.items():
            try:
                os.setxattr(fd, key, value)
            except OSError:
                pass  # e.g. security.* on a filesystem that refuses it
    finally:
        os.close(fd)


def unpack_bytes(data: bytes, root: str) -> None:
    """Unpack an in-memory tar (for tests and small layers)."""
    unpack(io.BytesIO(data), root)
