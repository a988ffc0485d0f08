"""The directories behind `RUN --mount=type=cache`, kept across builds under berth's
root (`<images>/build-mounts/<digest of the id>/`), until `berth builder prune`.

Each holds `data/` (what the step sees) and `id` (the cache's id, for listings). A step
holds the cache's lock while it runs: shared for `sharing=shared`, exclusive for
`locked` (the next step waits) and `private` (the next step gets a fresh directory of
its own, discarded after it). Prune takes the lock too, so it never removes a cache a
build is using.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..fsutil import atomic_write, tree_size
from .runmounts import RunMount


@dataclass
class CacheUse:
    path: str  # the directory to mount
    lock_fd: int
    scratch: str | None = None  # a private cache's own directory, removed on release

    def release(self) -> None:
        os.close(self.lock_fd)
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


@dataclass
class CacheEntry:
    id: str
    path: Path
    size: int


class CacheMounts:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, cache_id: str) -> Path:
        return self.root / hashlib.sha256(cache_id.encode()).hexdigest()[:32]

    def acquire(self, mount: RunMount, seed: Callable[[str], None] | None) -> CacheUse:
        """The cache's directory, made (owned and moded as the mount asks, filled by
        `seed` for a cache `from` a stage) when it does not exist yet."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        where = self._dir(mount.id)
        if not (where / "data").is_dir():
            self._create(where, mount, seed)
        fd = os.open(where / "id", os.O_RDONLY | os.O_CLOEXEC)
        if mount.sharing == "shared":
            fcntl.flock(fd, fcntl.LOCK_SH)
            return CacheUse(str(where / "data"), fd)
        if mount.sharing == "locked":
            fcntl.flock(fd, fcntl.LOCK_EX)
            return CacheUse(str(where / "data"), fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return CacheUse(str(where / "data"), fd)
        except BlockingIOError:  # private, and in use: a directory of this step's own
            scratch = tempfile.mkdtemp(prefix="private-", dir=self.root)
            os.mkdir(os.path.join(scratch, "data"))
            self._own(os.path.join(scratch, "data"), mount)
            return CacheUse(os.path.join(scratch, "data"), fd, scratch)

    def _create(self, where: Path, mount: RunMount, seed: Callable[[str], None] | None) -> None:
        staging = tempfile.mkdtemp(prefix="new-", dir=self.root)
        try:
            data = os.path.join(staging, "data")
            if seed is not None:
                seed(data)
            else:
                os.mkdir(data)
            self._own(data, mount)
            atomic_write(os.path.join(staging, "id"), mount.id.encode())
            try:
                os.rename(staging, where)
            except OSError:  # another build made it first: theirs is as good
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @staticmethod
    def _own(path: str, mount: RunMount) -> None:
        os.chown(path, mount.uid or 0, mount.gid or 0)
        os.chmod(path, 0o755 if mount.mode is None else mount.mode)

    def entries(self) -> Iterator[CacheEntry]:
        if not self.root.is_dir():
            return
        for where in sorted(self.root.iterdir()):
            if (where / "id").is_file():
                yield CacheEntry((where / "id").read_text(), where, tree_size(where / "data"))

    def prune(self) -> int:
        """Remove every cache no build is using; the bytes freed."""
        freed = 0
        for entry in list(self.entries()):
            fd = os.open(entry.path / "id", os.O_RDONLY | os.O_CLOEXEC)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a build is using it
                doomed = Path(tempfile.mkdtemp(prefix="gone-", dir=self.root))
                os.rename(entry.path, doomed / "cache")
                shutil.rmtree(doomed, ignore_errors=True)
                freed += entry.size
            finally:
                os.close(fd)
        return freed

