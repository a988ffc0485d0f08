"""A container's overlayfs upper directory as an OCI layer tar (what a build step changed).

Overlay whiteouts (0:0 character devices) become `.wh.NAME` entries, opaque directories
get `.wh..wh..opq`; hard links are kept; overlay's own xattrs are left out. Entries are
written in sorted order with their times, so the same change gives the same layer.
"""
from __future__ import annotations

import os
import stat
import tarfile
from typing import BinaryIO, Iterable

from .. import rootless
from .unpack import OPAQUE, WHITEOUT_PREFIX

_KEEP_XATTRS = ("security.capability", "user.")
_OVERLAY_XATTRS = ("trusted.overlay.", "user.overlay.")  # overlayfs's own (userxattr: user.)


def _xattrs(path: str) -> dict[str, str]:
    out = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for name in names:
        if name.startswith(_KEEP_XATTRS) and not name.startswith(_OVERLAY_XATTRS):
            try:
                value = os.getxattr(path, name, follow_symlinks=False)
            except OSError:
                continue
            out["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return out


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, rootless.opaque_xattr(), follow_symlinks=False) == b"y"
    except OSError:
        return False


def write_layer(upper: str, out: BinaryIO, skip: Iterable[str] = ()) -> None:
    """Write the layer tar of directory `upper` to `out`; `skip`: relative paths to leave out."""
    skipped = set(skip)
    links: dict[tuple[int, int], str] = {}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(upper):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, upper)
            rel_dir = "" if rel_dir == "." else rel_dir
            if rel_dir and _opaque(dirpath):
                info = tarfile.TarInfo(os.path.join(rel_dir, OPAQUE))
                info.mtime = int(os.lstat(dirpath).st_mtime)
                tar.addfile(info)
            names = sorted(dirnames + filenames)
            for name in names:
                rel = os.path.join(rel_dir, name)
                full = os.path.join(dirpath, name)
                if rel in skipped:
                    if name in dirnames:
                        dirnames.remove(name)
                    continue
                st = os.lstat(full)
                if _is_whiteout(st):
                    info = tarfile.TarInfo(os.path.join(rel_dir, WHITEOUT_PREFIX + name))
                    info.mtime = int(st.st_mtime)
                    tar.addfile(info)
                    continue
                info = tar.gettarinfo(full, arcname=rel)
                info.uname = info.gname = ""
                info.pax_headers.update(_xattrs(full))
                key = (st.st_dev, st.st_ino)
                if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                    if key in links:
                        info.type = tarfile.LNKTYPE
                        info.linkname = links[key]
                        info.size = 0
                        tar.addfile(info)
                        continue
                    links[key] = rel
                if info.isreg():
                    with open(full, "rb") as handle:
                        tar.addfile(info, handle)
                else:
                    tar.addfile(info)


def empty_file(path: str) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == 0


def empty_dir(path: str) -> bool:
    return os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path)


def has_changes(upper: str, skip: list[str]) -> bool:
    """Whether a RUN changed anything but berth's own mount points."""
    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = os.path.relpath(dirpath, upper)
        rel_dir = "" if rel_dir == "." else rel_dir
        if rel_dir and rootless.opaque_xattr() in os.listxattr(dirpath):
            return True
        for name in filenames:
            if os.path.join(rel_dir, name) not in skip:
                return True
        for name in dirnames:
            rel = os.path.join(rel_dir, name)
            full = os.path.join(dirpath, name)
            if os.path.islink(full) or (rel not in skip and rel != "etc" and not os.listdir(full)):
                return True
    return False
