"""Where one command's time goes (`berth --timings ...` or BERTH_TIMINGS=1): named spans
recorded from any layer and thread, shown by the CLI at exit as offsets from the moment
the process started (interpreter start-up included). While off, a span costs one check.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from typing import Iterator

_spans: list[tuple[str, float, float]] | None = None  # None: not recording
_lock = threading.Lock()
_main: float | None = None  # when the CLI's main() began


def clock() -> float:
    """Seconds on the boot clock, the one /proc/self/stat's start time counts on."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def process_started() -> float:
    """When this process started, on clock() (to the kernel's tick, 10 ms)."""
    with open("/proc/self/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def main_began() -> None:
    """Note that the CLI's entry point runs: what came before is interpreter start-up."""
    global _main
    _main = clock()


def enable() -> None:
    """Record from now on, with start-up and imports up to now as the first spans."""
    global _spans
    if _spans is not None:
        return
    _spans = []
    now = clock()
    began = process_started()
    if _main is not None:
        _spans.append(("start-up (interpreter, site)", began, _main))
        _spans.append(("import and parse the command line", _main, now))
    else:
        _spans.append(("start-up and import", began, now))


def on() -> bool:
    return _spans is not None


def span(name: str, start: float, end: float) -> None:
    """Record `name` from `start` to `end` (both on clock())."""
    if _spans is not None:
        with _lock:
            _spans.append((name, start, end))


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Record the time the block takes as `name`."""
    if _spans is None:
        yield
        return
    start = clock()
    try:
        yield
    finally:
        span(name, start, clock())


def report() -> list[str]:
    """The spans in the order they began, each as its start and length in ms from the
    process's start, then the total so far."""
    if _spans is None:
        return []
    began = process_started()
    with _lock:
        spans = sorted(_spans, key=lambda item: item[1])
    lines = ["timings (ms): start length phase"]
    lines += [f"{(start - began) * 1000:9.1f} {(end - start) * 1000:9.1f}  {name}"
              for name, start, end in spans]
    lines.append(f"{'':9} {(clock() - began) * 1000:9.1f}  total")
    return lines
