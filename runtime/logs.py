"""Read a container's JSON-lines log: tail, since, follow."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from common.units import parse_time


@dataclass(frozen=True)
class LogLine:
    time: str  # RFC 3339 with nanoseconds, UTC
    stream: str
    text: str

    @property
    def timestamp(self) -> float:
        return parse_time(self.time)


def _parse(raw: bytes) -> LogLine | None:
    try:
        record = json.loads(raw)
        return LogLine(record["time"], record["stream"], record["log"])
    except (ValueError, KeyError):
        return None


def rotated(path: Path) -> list[Path]:
    """The log's files, oldest first: path.N ... path.1 (rotated away), then path."""
    older = []
    n = 1
    while (candidate := path.with_name(f"{path.name}.{n}")).exists():
        older.append(candidate)
        n += 1
    return older[::-1] + [path]


def _tail_lines(path: Path, count: int) -> tuple[list[bytes], int]:
    """The last `count` lines of the file and the offset after them."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        block, data = 65536, b""
        pos = end
        while pos > 0 and data.count(b"\n") <= count:
            pos = max(0, pos - block)
            handle.seek(pos)
            data = handle.read(end - pos)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines[-count:] if count else [], end


def read(path: Path, tail: int | None = None, since: float | None = None,
         follow: bool = False, running: Callable[[], bool] = lambda: False,
         poll: float = 0.02) -> Iterator[LogLine]:
    """Log lines oldest first, across rotated files; with `follow`, keep yielding while
    `running()` is true, moving on to the new file when the monitor rotates the log."""
    def wanted(raw: bytes) -> LogLine | None:
        line = _parse(raw) if raw else None
        return line if line and (since is None or line.timestamp >= since) else None

    if not path.exists():
        return
    files = rotated(path)
    if tail is not None and tail >= 0:
        raws, offset = _tail_lines(path, tail)
        for older in reversed(files[:-1]):
            if len(raws) >= tail:
                break
            raws = _tail_lines(older, tail - len(raws))[0] + raws
    else:
        raws, offset = [], 0
        for older in files[:-1]:
            with open(older, "rb") as handle:
                raws += handle.read().split(b"\n")
    for raw in raws:
        if line := wanted(raw):
            yield line
    handle = open(path, "rb")
    try:
        handle.seek(offset)
        pending = b""
        while True:
            chunk = handle.read(65536)
            if chunk:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    if line := wanted(raw):
                        yield line
                continue
            if not follow:
                return
            if _replaced(path, handle):  # rotated: finish this file, go on in the next one
                *complete, pending = (pending + handle.read()).split(b"\n")
                for raw in complete:
                    if line := wanted(raw):
                        yield line
                following = _next_file(path, handle)
                handle.close()
                handle = open(following, "rb")
                continue
            if not running():
                # one last read: the monitor may have written its final lines
                for raw in (pending + handle.read()).split(b"\n"):
                    if line := wanted(raw):
                        yield line
                return
            time.sleep(poll)
    finally:
        handle.close()


def _next_file(path: Path, handle) -> Path:
    """The file written after the one open in `handle` (the log itself when that one was
    emptied, or dropped meanwhile)."""
    inode = os.fstat(handle.fileno()).st_ino
    files = rotated(path)
    for index, candidate in enumerate(files[:-1]):
        try:
            if os.stat(candidate).st_ino == inode:
                return files[index + 1]
        except FileNotFoundError:
            continue
    return path


def _replaced(path: Path, handle) -> bool:
    """The monitor rotated the log: a new file at `path`, or this one emptied."""
    try:
        return (os.stat(path).st_ino != os.fstat(handle.fileno()).st_ino
                or os.fstat(handle.fileno()).st_size < handle.tell())
    except FileNotFoundError:
        return False
