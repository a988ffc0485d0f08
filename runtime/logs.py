"""Read a container's JSON-lines log: tail, since, follow."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator


@dataclass(frozen=True)
class LogLine:
    time: str  # RFC 3339 with nanoseconds, UTC
    stream: str
    text: str

    @property
    def timestamp(self) -> float:
        return parse_time(self.time)


def parse_time(text: str) -> float:
    base, _, frac = text.rstrip("Z").partition(".")
    seconds = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=timezone.utc).timestamp()
    return seconds + (float("0." + frac) if frac else 0.0)


def _parse(raw: bytes) -> LogLine | None:
    try:
        record = json.loads(raw)
        return LogLine(record["time"], record["stream"], record["log"])
    except (ValueError, KeyError):
        return None


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
    """Log lines oldest first; with `follow`, keep yielding while `running()` is true."""
    if not path.exists():
        return
    if tail is not None and tail >= 0:
        raws, offset = _tail_lines(path, tail)
    else:
        raws, offset = [], 0
    for raw in raws:
        line = _parse(raw)
        if line and (since is None or line.timestamp >= since):
            yield line
    with open(path, "rb") as handle:
        handle.seek(offset)
        pending = b""
        while True:
            chunk = handle.read(65536)
            if chunk:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    line = _parse(raw)
                    if line and (since is None or line.timestamp >= since):
                        yield line
                continue
            if not follow:
                return
            if not running():
                # one last read: the monitor may have written its final lines
                rest = handle.read()
                for raw in (pending + rest).split(b"\n"):
                    line = _parse(raw) if raw else None
                    if line and (since is None or line.timestamp >= since):
                        yield line
                return
            time.sleep(poll)
