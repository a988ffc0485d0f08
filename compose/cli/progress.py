"""The service API's events on the terminal, like docker compose v2 (`--progress`): a live
line per object on a terminal (tty), plain lines otherwise (plain), one JSON object per
line (json: {"id", "status", "text"}, as docker compose writes them), or nothing
(quiet); notes above them, build output as it comes. With --dry-run every line says so.
Thread-safe: the executor reports from many threads."""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field

from common import timings

from ..events import DONE, FAILED, WORKING, Event, Note, Output, Step


@dataclass
class _Line:
    kind: str
    name: str
    text: str
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    failed: bool = False


class Progress:
    """A Reporter (call it with events); `close` it when the work is over."""

    def __init__(self, stream=None, tty: bool | None = None, title: str = "Running",
                 builds: bool = True, mode: str | None = None, dry_run: bool = False) -> None:
        self.builds = builds  # show what builds print
        self.stream = stream or sys.stderr
        if mode is None:
            mode = "tty" if (self.stream.isatty() if tty is None else tty) else "plain"
        self.mode = mode
        self.tty = mode == "tty"
        self.dry_run = "DRY-RUN MODE - " if dry_run else ""
        self.title = title
        self.lines: dict[tuple[str, str], _Line] = {}
        self.since: dict[tuple[str, str], tuple[str, float]] = {}  # --timings: status, when
        self.lock = threading.Lock()
        self.live = None
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(file=self.stream), refresh_per_second=12,
                             transient=False, get_renderable=self._render)
            self.live.start()

    def _render(self):
        from rich.text import Text

        with self.lock:
            lines = list(self.lines.values())
        done = sum(1 for line in lines if line.ended is not None)
        out = Text(f"[+] {self.title} {done}/{len(lines)}\n", style="bold")
        for line in lines:
            elapsed = (line.ended or time.monotonic()) - line.started
            mark, style = ("✘", "red") if line.failed else ("✔", "green") if line.ended else ("⠿", "cyan")
            out.append(f" {mark} ", style=style)
            out.append(f"{self.dry_run}{line.kind} {line.name}".ljust(40))
            out.append(f" {line.text}".ljust(12), style="red" if line.failed else None)
            out.append(f" {elapsed:.1f}s\n", style="dim")
        return out

    def __call__(self, event: Event) -> None:
        if isinstance(event, Step) and timings.on():
            self._time(event)
        if self.mode == "quiet":
            return
        if self.mode == "json":
            self._json(event)
            return
        if isinstance(event, Step):
            self.update(event.kind, event.name, event.status, event.state == DONE,
                        event.state == FAILED)
        elif isinstance(event, Note):
            self.note(event.text)
        elif isinstance(event, Output) and self.builds:
            self.note(event.render())

    def _time(self, step: Step) -> None:
        """--timings: each status of an object lasts until its next one ("Creating" is
        the create, "Created" the wait for dependencies, "Starting" the start)."""
        now = timings.clock()
        with self.lock:
            before = self.since.pop((step.kind, step.name), None)
            if step.state == WORKING:
                self.since[(step.kind, step.name)] = (step.status, now)
        if before:
            timings.span(f"{step.kind} {step.name} {before[0]}", before[1], now)

    def update(self, kind: str, name: str, text: str, done: bool = False,
               failed: bool = False) -> None:
        with self.lock:
            line = self.lines.get((kind, name))
            if line is None:
                line = self.lines[(kind, name)] = _Line(kind, name, text)
            line.text = text
            if done or failed:
                line.ended = time.monotonic()
                line.failed = failed
        if not self.tty:
            with self.lock:
                self.stream.write(f" {self.dry_run}{kind} {name}  {text}\n")
                self.stream.flush()

    def _json(self, event: Event) -> None:
        if isinstance(event, Step):
            status = {DONE: "Done", FAILED: "Error"}.get(event.state, "Working")
            record = {"id": f"{event.kind} {event.name}", "status": status, "text": event.status}
        elif isinstance(event, Output):
            if not self.builds:
                return
            record = {"id": event.source, "text": event.text, "tail": True}
        else:
            record = {"text": event.render()}
        if self.dry_run:
            record = {"dry-run": True, **record}
        with self.lock:
            self.stream.write(json.dumps(record) + "\n")
            self.stream.flush()

    def note(self, text: str) -> None:
        """A message above the progress lines."""
        if self.mode == "quiet":
            return
        if self.mode == "json":
            self._json(Note(text))
            return
        if self.live is not None:
            self.live.console.print(text, markup=False, highlight=False)
        else:
            with self.lock:
                self.stream.write(text + "\n")
                self.stream.flush()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
