"""Crash-safe file writes and locks: every state write is write-temp + rename."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import Any, Iterator


def atomic_write(path: str | os.PathLike, data: bytes | str, mode: int = 0o600) -> None:
    """Replace `path` with `data` so readers see the old or the new file, never a part.
    The file gets exactly `mode` (root's alone by default), whatever the umask."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, mode)
        os.write(fd, raw)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def tree_size(path: str | os.PathLike) -> int:
    """The disk space the files under `path` take (their blocks), 0 if it is gone."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total


def make_dir(path: str | os.PathLike, mode: int = 0o700) -> None:
    """Directory `path` (with any missing parents, root's alone), exactly `mode` itself."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, mode)


def open_private(path: str | os.PathLike, flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """An fd of file `path`, created readable by root only if missing (logs)."""
    fd = os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def write_json(path: str | os.PathLike, data: Any) -> None:
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True))


def read_json(path: str | os.PathLike, default: Any = None) -> Any:
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read())
    except FileNotFoundError:
        return default


def read_text(path: str | os.PathLike) -> str:
    """A text file's content, or "" if it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


@contextlib.contextmanager
def locked(path: str | os.PathLike, shared: bool = False) -> Iterator[None]:
    """Hold an flock on `path` (created if needed) for the block."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
