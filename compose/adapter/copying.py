"""`cp` into a container: the runtime's copy (files owned by the container's root, as
docker's), then, for `--archive`, the host files' owners given back to what was copied:
each path is opened beneath the container's root (never following a link it planted)
and changed through its fd. `--follow-link`: a symbolic link SOURCE is copied as what it
points at."""
from __future__ import annotations

import os
import stat

from runtime.filecopy import copy_in, in_container_root
from runtime.rootdir import O_PATH, RootDir

from ..errors import ComposeError


def _target(api, cid: str, source: str, inner: str) -> str:
    """Where copy_in puts `source`: into `inner` when that is a directory."""
    found: list[str] = [inner]

    def look(root: str) -> None:
        with RootDir(root) as tree:
            try:
                os.close(tree.open(inner, os.O_PATH | os.O_DIRECTORY))
                found[0] = os.path.join(inner, os.path.basename(source.rstrip("/")))
            except OSError:
                pass

    in_container_root(api, cid, look)
    return found[0]


def _give_owners(root: str, source: str, target: str) -> None:
    """chown what was copied to `target` as `source` (a host tree) is owned; symbolic
    links keep the container root's."""
    entries = [(source, target)]
    if os.path.isdir(source) and not os.path.islink(source):
        for dirpath, dirnames, filenames in os.walk(source):
            rel = os.path.relpath(dirpath, source)
            for name in dirnames + filenames:
                inner = os.path.normpath(os.path.join(target, rel, name))
                entries.append((os.path.join(dirpath, name), inner))
    with RootDir(root) as tree:
        for host, inner in entries:
            st = os.lstat(host)
            if os.path.islink(host):
                continue
            try:
                fd = tree.open(inner, O_PATH | os.O_NOFOLLOW)
            except OSError:
                continue  # not copied (a special file), or changed meanwhile
            try:  # a file or directory still (never a link or device put there since)
                if stat.S_ISREG(os.fstat(fd).st_mode) or stat.S_ISDIR(os.fstat(fd).st_mode):
                    os.chown(f"/proc/self/fd/{fd}", st.st_uid, st.st_gid)
            finally:
                os.close(fd)


def copy_into(api, cid: str, source: str, inner: str, archive: bool, follow_link: bool) -> None:
    if follow_link:
        source = os.path.realpath(source)
    target = _target(api, cid, source, inner) if archive else inner
    copy_in(api, cid, source, inner)
    if archive:
        try:
            in_container_root(api, cid, lambda root: _give_owners(root, source, target))
        except OSError as err:
            raise ComposeError(f"cannot keep the owners of {source}: {err}") from None
