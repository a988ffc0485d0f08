"""container.log: the container's output in docker's json-file format.

One JSON object a line, `{"log": "hello\\n", "stream": "stdout", "time": "...Z"}`, the
time in RFC 3339 with nanoseconds (UTC). Output is cut into lines per stream: a line is
written when its newline comes, or, when MAX_LINE bytes of it are held without one, as
a record of that size with no newline (docker cuts long lines the same way); at the
stream's end what is left is written as it is. With a `max_size`, the file is rotated
when it reaches it: container.log -> .1 -> .2 ..., `max_files` files in all (one: it
starts again empty); runtime.logs reads across them.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

from ..fsutil import open_private
from ..protocol import STDERR, STDOUT

MAX_LINE = 16 * 1024
STREAMS = {STDOUT: "stdout", STDERR: "stderr"}


def log_time(ns: int) -> str:
    sec, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac:09d}Z"


def record(stream: str, line: bytes, ns: int) -> bytes:
    """One record as written to the file."""
    entry = {"log": line.decode("utf-8", "replace"), "stream": stream, "time": log_time(ns)}
    return json.dumps(entry, ensure_ascii=False).encode() + b"\n"


class LogFile:
    def __init__(self, path: Path, max_size: int = 0, max_files: int = 1,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.path = path
        self.max_size, self.max_files = max_size, max_files
        self.clock = clock
        self.file = os.fdopen(open_private(path), "ab", buffering=0)
        self.size = os.fstat(self.file.fileno()).st_size
        self.partial = {STDOUT: b"", STDERR: b""}  # the start of each stream's next line

    def add(self, kind: int, data: bytes) -> None:
        """Output of stream `kind` (STDOUT, STDERR) as it was read."""
        *lines, self.partial[kind] = (self.partial[kind] + data).split(b"\n")
        for line in lines:
            self.write(kind, line + b"\n")
        while len(self.partial[kind]) >= MAX_LINE:
            self.write(kind, self.partial[kind][:MAX_LINE])
            self.partial[kind] = self.partial[kind][MAX_LINE:]

    def end(self, kind: int) -> None:
        """Stream `kind` is over: the rest of its last line, if any."""
        if self.partial[kind]:
            self.write(kind, self.partial[kind])
            self.partial[kind] = b""

    def write(self, kind: int, line: bytes) -> None:
        data = record(STREAMS[kind], line, self.clock())
        self.file.write(data)
        self.size += len(data)
        if self.max_size and self.size >= self.max_size:
            self.rotate()

    def rotate(self) -> None:
        self.file.close()
        for n in range(self.max_files - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n - 1}") if n > 1 else self.path
            if older.exists():
                os.rename(older, self.path.with_name(f"{self.path.name}.{n}"))
        self.file = os.fdopen(open_private(self.path, os.O_WRONLY | os.O_TRUNC), "wb",
                              buffering=0)
        self.size = 0

    def close(self) -> None:
        self.file.close()
