"""What COPY and ADD write: the sources they take (from the context, another stage, a
download or a heredoc) and the layer tar that holds them.

Context files are read through the kernel beneath the context's root (runtime.rootdir), a
link is copied as a link, and archives ADD extracts stay inside their destination.
"""
from __future__ import annotations

import copy
import errno
import fnmatch
import hashlib
import os
import stat
import tarfile
import time
from typing import BinaryIO, Callable

from common.patterns import Ignore

from ..rootdir import O_PATH, RootDir, is_escape, reopen_regular
from ..securejoin import EscapeError, clean_member_path, secure_join
from .buildspec import BuildError


Mode = int | Callable[[int, bool], int] | None  # --chmod: none, octal, or symbolic


def dir_info(path: str, uid: int, gid: int, mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path.strip("/"))
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = int(time.time())
    return info


class CopyPlan:
    """The files one COPY/ADD puts where, and the layer tar that holds them."""

    def __init__(self, dest: str, uid: int, gid: int, mode: "Mode", adding: bool,
                 keep_owner: bool = False) -> None:
        self.dest = dest
        self.uid, self.gid, self.mode = uid, gid, mode
        self.keep_owner = keep_owner  # the files keep their owners (else: uid, gid)
        self.parents = False  # --parents: keep each source's directories (after a /./)
        self.excludes: Ignore | None = None  # --exclude, matched inside each source
        self.adding = adding
        self.entries: list[tuple[str, str]] = []  # (host path, path in the image)
        self.archives: list[tuple[str, str]] = []  # ADD: (archive, directory to extract to)
        self.remote_sources: list[str] = []
        self.root = ""  # where the sources are: the context, or another stage's filesystem

    def target_dir(self) -> str:
        """The directory the copied files land in."""
        many = len(self.entries) + len(self.archives) + len(self.remote_sources) > 1
        if self.dest.endswith("/") or many or self.archives:
            return self.dest.rstrip("/") or "/"
        if len(self.entries) == 1 and os.path.isdir(self.entries[0][0]):
            return self.dest.rstrip("/") or "/"
        return os.path.dirname(self.dest.rstrip("/")) or "/"

    def file(self, host: str, inner: str) -> None:
        self.entries.append((host, inner))

    def _target(self, name: str, many: bool) -> str:
        if self.dest.endswith("/") or many:
            return os.path.join(self.dest, name)
        return self.dest

    def _matches(self, root: str, pattern: str, ignore: Ignore | None, instr, builder) -> list[str]:
        """Context-relative paths matching `pattern` (wildcards per path component)."""
        norm = os.path.normpath("/" + pattern).lstrip("/")
        if pattern.startswith("..") or os.path.normpath(pattern).startswith(".."):
            raise builder.fail(instr, f"forbidden path outside the build context: {pattern}")
        if not norm or norm == ".":
            return [""]
        found = [""]
        for comp in norm.split("/"):
            nxt = []
            for base in found:
                directory = secure_join(root, base)
                if not any(ch in comp for ch in "*?["):
                    nxt.append(os.path.join(base, comp))
                    continue
                try:
                    names = sorted(os.listdir(directory))
                except OSError:
                    continue
                nxt += [os.path.join(base, n) for n in names if fnmatch.fnmatchcase(n, comp)]
            found = nxt
        return [f for f in found if os.path.lexists(_inside(root, f))
                and not (ignore and ignore.ignored(f))]

    def collect(self, root: str, sources: list[str], ignore: Ignore | None, tmpdir: str, instr,
                builder) -> str:
        """Resolve the sources in `root`; return a digest of everything they copy."""
        self.root = root
        digest = hashlib.sha256()
        matched_all = []
        for source in sources:
            if tmpdir and os.path.isabs(source) and source.startswith(tmpdir + "/"):
                matched_all.append((source, os.path.basename(source), True, ""))
                continue
            pivot, _, after = source.rpartition("/./") if "/./" in source else ("", "", source)
            matches = self._matches(root, os.path.join(pivot, after) if pivot else source,
                                    ignore, instr, builder)
            matches = [m for m in matches if not (self.excludes and m and
                                                  self.excludes.ignored(os.path.basename(m)))]
            if not matches:
                raise builder.fail(instr, f"file not found in build context or excluded by "
                                          f".dockerignore: {source}")
            base = os.path.normpath(pivot) if pivot else "."
            matched_all += [(_inside(root, m), m, False,
                             os.path.relpath(os.path.dirname(m) or ".", base) if self.parents
                             else "") for m in matches]
        many = len(matched_all) > 1
        for host, rel, downloaded, kept in matched_all:
            name = os.path.basename(rel.rstrip("/")) or ""
            kept = "" if kept in (".", "") else kept
            if kept:
                self._kept_parents(host, kept, digest)
            if os.path.isdir(host) and not os.path.islink(host):
                target = self.dest if (self.dest.endswith("/") or not many) else os.path.join(self.dest, name)
                if self.parents and rel:
                    target = os.path.join(self.dest, kept, name)
                for dirpath, dirnames, filenames in os.walk(host):
                    dirnames.sort()
                    rel_dir = os.path.relpath(dirpath, host)
                    for item in sorted(dirnames + filenames):
                        full = os.path.join(dirpath, item)
                        rel_item = os.path.normpath(os.path.join(rel, rel_dir, item))
                        inside = os.path.normpath(os.path.join(rel_dir, item))
                        if (ignore and ignore.ignored(rel_item)) or \
                                (self.excludes and self.excludes.ignored(inside)):
                            if item in dirnames:
                                dirnames.remove(item)
                            continue
                        inner = os.path.normpath(os.path.join(target, rel_dir, item))
                        self.entries.append((full, inner))
                        self._digest_entry(digest, full, inner)
            elif self.adding and not downloaded and not os.path.islink(host) and _is_archive(host):
                self.archives.append((host, self.dest))  # a link is copied as a link, never read
                self._digest_entry(digest, host, self.dest)
            else:
                inner = self._target(name, many)
                if inner.endswith("/"):
                    inner = os.path.join(inner, name)
                if self.parents and kept:
                    inner = os.path.join(self.dest, kept, name)
                self.entries.append((host, inner))
                self._digest_entry(digest, host, inner)
        return digest.hexdigest()

    def _kept_parents(self, host: str, kept: str, digest) -> None:
        """--parents: the directories kept above a source, made like their originals."""
        parts = kept.split("/")
        for depth in range(1, len(parts) + 1):
            host_dir = host
            for _ in range(len(parts) - depth + 1):
                host_dir = os.path.dirname(host_dir)
            inner = os.path.join(self.dest, *parts[:depth])
            if (host_dir, inner) not in self.entries:
                self.entries.append((host_dir, inner))
                self._digest_entry(digest, host_dir, inner)

    def _open(self, host: str) -> int:
        """An fd for regular file `host` of the context (or stage) root, resolved by the
        kernel beneath that root: a directory swapped for a symlink while the build runs
        cannot make it read a file outside (runtime.rootdir), and nothing but a regular
        file is ever opened."""
        rel = os.path.relpath(host, self.root) if self.root else ""
        try:
            if not self.root or rel == ".." or rel.startswith("../"):  # the build's tmpdir
                path_fd = os.open(host, O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
            else:
                with RootDir(self.root, strict=True) as tree:
                    path_fd = tree.open(rel, O_PATH | os.O_NOFOLLOW)
            return reopen_regular(path_fd)
        except OSError as err:
            why = "it leads outside the build context" if is_escape(err) else (
                "it is no longer a regular file" if err.errno == errno.EINVAL else err.strerror)
            raise BuildError(f"cannot read {rel or host}: {why}") from None

    def _info(self, host: str, inner: str) -> tarfile.TarInfo:
        st = os.lstat(host)
        info = tarfile.TarInfo(inner.strip("/"))
        info.mtime = int(st.st_mtime)
        info.uid, info.gid = (st.st_uid, st.st_gid) if self.keep_owner else (self.uid, self.gid)
        if stat.S_ISLNK(st.st_mode):
            info.type = tarfile.SYMTYPE
            info.mode = 0o777
            info.linkname = os.readlink(host)
        elif stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
            info.mode = self._mode(st.st_mode)
        else:
            info.size = st.st_size
            info.mode = self._mode(st.st_mode)
        return info

    def _mode(self, st_mode: int) -> int:
        """A copied file's mode: its own, --chmod's octal one, or its own changed by a
        symbolic --chmod (u+x)."""
        if self.mode is None:
            return stat.S_IMODE(st_mode)
        if callable(self.mode):
            return self.mode(stat.S_IMODE(st_mode), stat.S_ISDIR(st_mode))
        return self.mode

    def write(self, tar_path: str, missing: list[str] | Callable[[str], list[str]]) -> None:
        """The layer: missing destination directories (owned like the files; or a
        function of the target directory that finds them), the files, and the contents
        of archives ADD extracts."""
        if callable(missing):
            missing = missing(self.target_dir())
        with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
            for directory in missing:
                tar.addfile(dir_info(directory, self.uid, self.gid))
            for host, inner in self.entries:
                info = self._info(host, inner)
                if info.isreg():
                    with os.fdopen(self._open(host), "rb") as handle:
                        st = os.fstat(handle.fileno())  # what is read, not what was looked at
                        info.size, info.mtime = st.st_size, int(st.st_mtime)
                        info.mode = self._mode(st.st_mode)
                        tar.addfile(info, handle)
                else:
                    tar.addfile(info)
            for archive, dest in self.archives:
                with os.fdopen(self._open(archive), "rb") as handle:
                    _extract_into(tar, handle, os.path.basename(archive), dest)

    def _digest_entry(self, digest, host: str, inner: str) -> None:
        st = os.lstat(host)
        digest.update(f"{inner}\0{st.st_mode}\0".encode())
        if stat.S_ISLNK(st.st_mode):
            digest.update(os.readlink(host).encode())
        elif stat.S_ISREG(st.st_mode):
            with os.fdopen(self._open(host), "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)

    def write_from(self, root: str, tar_path: str, missing: list[str] | Callable[[str], list[str]],
                   instr, builder) -> None:
        """COPY --from: the sources are inside another stage's filesystem at `root`."""
        self.collect(root, self.remote_sources, None, "", instr, builder)
        self.write(tar_path, missing)


def _inside(root: str, rel: str) -> str:
    """`rel` in `root`, its directories resolved inside root, its last component not
    followed (COPY of a symlink copies the link)."""
    if not rel:
        return root
    return os.path.join(secure_join(root, os.path.dirname(rel)), os.path.basename(rel))


def _is_archive(path: str) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _extract_into(tar: tarfile.TarFile, archive: BinaryIO, name: str, dest: str) -> None:
    """ADD of a local archive: its entries, re-rooted at `dest`, never outside it."""
    made: set[str] = set()
    with tarfile.open(fileobj=archive, mode="r:*") as source:
        for member in source.getmembers():
            try:
                comps = clean_member_path(member.name)
            except EscapeError as err:
                raise BuildError(f"ADD {name}: {err}") from None
            if not comps:
                continue
            for depth in range(1, len(comps)):  # directories the archive only implies
                parent = os.path.join(dest.strip("/"), *comps[:depth])
                if parent not in made:
                    made.add(parent)
                    tar.addfile(dir_info(parent, 0, 0))
            made.add(os.path.join(dest.strip("/"), *comps))
            member = copy.copy(member)
            member.name = os.path.join(dest.strip("/"), *comps)
            if member.islnk():
                link = clean_member_path(member.linkname)
                member.linkname = os.path.join(dest.strip("/"), *link)
            tar.addfile(member, source.extractfile(member) if member.isreg() else None)
