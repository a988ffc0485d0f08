"""Many containers' output on one terminal: `service-1  | line`, coloured per container."""
from __future__ import annotations

import heapq
import queue
import sys
import threading
from typing import Callable, Iterable

from ..backend import Backend
from ..labels import ContainerInfo

_COLORS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")


def prefix_name(info: ContainerInfo) -> str:
    """compose's prefix: `service-N` for service containers, the name otherwise."""
    if info.service and not info.oneoff:
        return f"{info.service}-{info.number}"
    return info.name


class Printer:
    def __init__(self, containers: Iterable[ContainerInfo], color: bool, timestamps: bool,
                 stream=None, prefix: bool = True) -> None:
        self.stream = stream or sys.stdout
        self.color = color
        self.timestamps = timestamps
        self.prefix = prefix  # `service-N  | ` before each line
        self.width = 0
        self.colors: dict[str, str] = {}
        self.lock = threading.Lock()
        for info in containers:
            self.add(info)

    def add(self, info: ContainerInfo) -> None:
        name = prefix_name(info)
        self.width = max(self.width, len(name))
        self.colors.setdefault(name, _COLORS[len(self.colors) % len(_COLORS)])

    def line(self, info: ContainerInfo, text: str, time: str = "") -> None:
        name = prefix_name(info)
        prefix = f"{name.ljust(self.width)}  | " if self.prefix else ""
        if self.color and prefix:
            prefix = f"\x1b[{self.colors.get(name, '0')}m{prefix}\x1b[0m"
        stamp = f"{time} " if self.timestamps and time else ""
        with self.lock:
            self.stream.write(prefix + stamp + text + ("" if text.endswith("\n") else "\n"))
            self.stream.flush()

    def note(self, text: str) -> None:
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()


def history(backend: Backend, containers: list[ContainerInfo], tail: int | None,
            since: float | None, until: float | None = None) -> list[tuple]:
    """Existing log lines of several containers, interleaved by time."""
    streams = []
    for info in containers:
        lines = [(line.time, index, info, line) for index, line in
                 enumerate(backend.logs(info.id, tail=tail, since=since))
                 if until is None or line.timestamp < until]
        streams.append(lines)
    return list(heapq.merge(*streams, key=lambda item: (item[0], item[1])))


def follow(backend: Backend, containers: list[ContainerInfo], printer: Printer,
           stop: threading.Event, since: float | None = None, tail: int | None = None,
           on_exit: Callable[[ContainerInfo], None] | None = None,
           until: float | None = None) -> None:
    """Print the containers' output as it comes until they have all finished or `stop`."""
    lines: queue.Queue = queue.Queue()

    def pump(info: ContainerInfo) -> None:
        try:
            for line in backend.logs(info.id, follow=True, since=since, tail=tail):
                lines.put((info, line))
                if stop.is_set():
                    break
        except Exception:  # noqa: BLE001 - a container removed under us just ends its stream
            pass
        lines.put((info, None))

    for info in containers:
        threading.Thread(target=pump, args=(info,), daemon=True).start()
    remaining = len(containers)
    while remaining and not stop.is_set():
        try:
            info, line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            remaining -= 1
            if on_exit:
                on_exit(info)
            continue
        if until is None or line.timestamp < until:
            printer.line(info, line.text, line.time)
