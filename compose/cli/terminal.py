"""Connecting the user's terminal to a container: attach to its stdio, or exec in it."""
from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import sys
import termios
import tty as ttymod
from contextlib import contextmanager
from typing import Callable, Iterator

from ..backend import ERROR, EXIT, STDERR, STDOUT, Attachment, ExecRequest, Process


def terminal_size() -> tuple[int, int]:
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(1, termios.TIOCGWINSZ, b"\0" * 8))
        return rows, cols
    except OSError:
        return 24, 80


@contextmanager
def raw_terminal(enabled: bool) -> Iterator[None]:
    """Put stdin's terminal in raw mode for the block (keys go to the container as typed)."""
    if not enabled or not os.isatty(0):
        yield
        return
    saved = termios.tcgetattr(0)
    ttymod.setraw(0)
    try:
        yield
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


DETACH_KEYS = "ctrl-p,ctrl-q"
DETACHED = -2  # what attach returns when the user detached with the detach keys


def parse_detach_keys(text: str) -> bytes:
    """docker's `--detach-keys`: `ctrl-p,ctrl-q`, `a,b`, `ctrl-@`..."""
    out = bytearray()
    for key in text.split(","):
        key = key.strip()
        if len(key) == 1:
            out.append(ord(key))
        elif key.startswith("ctrl-") and len(key) == 6 and \
                (key[5].isalpha() or key[5] in "@[\\]^_"):
            out.append(ord(key[5].upper()) & 0x1f)
        else:
            raise ValueError(f"invalid detach key {key!r}: use a letter, or ctrl-<letter>, "
                             "separated by commas")
    return bytes(out)


class _DetachKeys:
    """Holds back what could be the start of the detach sequence until it is known."""

    def __init__(self, sequence: bytes) -> None:
        self.sequence = sequence
        self.pending = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(what to pass on, whether the whole sequence was typed)."""
        if not self.sequence:
            return data, False
        out = bytearray()
        for byte in data:
            if byte == self.sequence[len(self.pending)]:
                self.pending += bytes([byte])
                if self.pending == self.sequence:
                    return bytes(out), True
            else:
                out += self.pending + bytes([byte])
                self.pending = b""
        return bytes(out), False


def attach(attachment: Attachment, stdin: bool, tty: bool, detach_keys: bytes = b"",
           on_signal: Callable[[int], None] | None = None) -> int:
    """Relay between this process's stdio and an attachment until the container exits
    (its exit code), or the user types `detach_keys` (DETACHED). With `on_signal`,
    SIGINT and SIGTERM received meanwhile are passed to it (docker's --sig-proxy)."""
    stdin_open = stdin
    keys = _DetachKeys(detach_keys if tty and stdin else b"")
    if tty:
        attachment.resize(*terminal_size())
        signal.signal(signal.SIGWINCH, lambda *_: attachment.resize(*terminal_size()))
    if on_signal is not None and not tty:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda number, _frame: on_signal(number))
    with raw_terminal(tty and stdin):
        while True:
            readable = [attachment] + ([0] if stdin_open else [])
            if attachment.has_frames():
                ready = [attachment]
            else:
                ready, _, _ = select.select(readable, [], [])
            if 0 in ready:
                data = os.read(0, 65536)
                if data:
                    data, detached = keys.feed(data)
                    if data:
                        attachment.send(data)
                    if detached:
                        attachment.close()
                        return DETACHED
                else:
                    stdin_open = False
                    if not tty:
                        attachment.close_stdin()
            if attachment in ready:
                for kind, payload in attachment.read_frames():
                    if kind == STDOUT:
                        _write_all(1, payload)
                    elif kind == STDERR:
                        _write_all(2, payload)
                    elif kind == ERROR:
                        _write_all(2, b"berth: " + payload + b"\n")
                    elif kind == EXIT:
                        attachment.close()
                        return int(payload) if payload else -1


def exec_in(start: Callable[[ExecRequest], Process], request: ExecRequest,
            interactive: bool) -> int:
    """Run the process `start(request)` starts with this terminal; its exit code."""
    if not request.tty:
        stdin = 0 if interactive else os.open(os.devnull, os.O_RDONLY)
        request = ExecRequest(**{**request.__dict__, "stdio": (stdin, 1, 2)})
        return _wait(start(request))
    process = start(request)
    master = process.terminal
    if master < 0:
        return _wait(process)
    process.resize(*terminal_size())
    signal.signal(signal.SIGWINCH, lambda *_: process.resize(*terminal_size()))
    with raw_terminal(interactive):
        sources = [master] + ([0] if interactive else [])
        while True:
            ready, _, _ = select.select(sources, [], [])
            if 0 in ready:
                data = os.read(0, 65536)
                if data:
                    _write_all(master, data)
                else:
                    sources.remove(0)
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                _write_all(1, data)
    os.close(master)
    return _wait(process)


def _wait(process: Process) -> int:
    """Its exit code; Ctrl-C meanwhile goes to it."""
    previous = signal.signal(signal.SIGINT, lambda signum, _f: os.kill(process.pid, signum))
    try:
        code, error = process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    if error:
        print(f"berth: {error}", file=sys.stderr)
    return code
