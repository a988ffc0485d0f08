"""What happened to containers, images, networks and volumes, kept as JSON lines under
berth's root (`events.log`), in docker's event shape, so `berth system events` can show
the past (--since, --until) as well as follow what comes, with no daemon to remember it.

Each event is one write of one line with O_APPEND (atomic for lines this short), so
concurrent commands and monitors never interleave; the file is rotated to
`events.log.1` past MAX_BYTES.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

from .fsutil import open_private

MAX_BYTES = 4 << 20


def _path(root: Path) -> Path:
    return root / "events.log"


def record(root: Path, kind: str, action: str, actor: str,
           attributes: dict[str, Any] | None = None) -> None:
    """Append one event; never fails the operation it reports."""
    now = time.time_ns()
    line = json.dumps({"Type": kind, "Action": action, "Actor": {
        "ID": actor, "Attributes": {k: str(v) for k, v in (attributes or {}).items()}},
        "scope": "local", "time": now // 1_000_000_000, "timeNano": now},
        separators=(",", ":")) + "\n"
    path = _path(root)
    try:
        if path.exists() and path.stat().st_size > MAX_BYTES:
            os.replace(path, path.with_name("events.log.1"))
        fd = open_private(path)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError:
        pass


def _lines(path: Path) -> Iterator[dict]:
    try:
        with open(path) as handle:
            for line in handle:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue
    except FileNotFoundError:
        return


def read(root: Path, since: float | None = None, until: float | None = None,
         follow: bool = False, poll: float = 0.2) -> Iterator[dict]:
    """Events from `since` to `until` (seconds); with `follow`, then the new ones as
    they come, until `until` if given."""
    path = _path(root)
    offset = path.stat().st_size if path.exists() else 0
    last = 0
    for event in list(_lines(path.with_name("events.log.1"))) + list(_lines(path)):
        last = max(last, event["timeNano"])
        if since is not None and event["timeNano"] < since * 1e9:
            continue
        if until is not None and event["timeNano"] > until * 1e9:
            return
        yield event
    while follow and (until is None or time.time() < until):
        time.sleep(poll)
        size = path.stat().st_size if path.exists() else 0
        if size < offset:  # rotated: the new file from its start
            offset = 0
        if size == offset:
            continue
        with open(path) as handle:
            handle.seek(offset)
            chunk = handle.read()
        offset += len(chunk.encode())
        for line in chunk.splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event["timeNano"] <= last:
                continue  # read before, while the past was read
            if until is not None and event["timeNano"] > until * 1e9:
                return
            yield event
