"""The monitor's event loop: one selector over files (fds, sockets) and a heap of timers.

Single-threaded: each handler runs to its end before the next starts. A handler is
registered for a file and called without arguments when the file is readable.
"""
from __future__ import annotations

import heapq
import itertools
import selectors
import socket
import time
from typing import Callable

Handler = Callable[[], None]
File = int | socket.socket


class EventLoop:
    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.timers: list[tuple[float, int, Handler]] = []
        self._seq = itertools.count()
        self.stopped = False

    def watch(self, file: File, handler: Handler) -> None:
        self.selector.register(file, selectors.EVENT_READ, handler)

    def unwatch(self, file: File) -> None:
        self.selector.unregister(file)

    def after(self, delay: float, fn: Handler) -> int:
        """Call fn() in `delay` seconds; the timer's id, for cancel()."""
        seq = next(self._seq)
        heapq.heappush(self.timers, (time.monotonic() + delay, seq, fn))
        return seq

    def cancel(self, seq: int | None) -> None:
        if seq is not None:
            self.timers = [t for t in self.timers if t[1] != seq]
            heapq.heapify(self.timers)

    def stop(self) -> None:
        """End run() once the current round of handlers is over."""
        self.stopped = True

    def run(self) -> None:
        while not self.stopped:
            timeout = None
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - time.monotonic())
            for key, _ in self.selector.select(timeout):
                if self.selector.get_map().get(key.fd) is not key:
                    continue  # unregistered (its fd closed) by a handler earlier in this round
                key.data()
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, fn = heapq.heappop(self.timers)
                fn()
