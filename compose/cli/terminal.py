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
from typing import Iterator

from runtime.monitor import ERROR, EXIT, STDERR, STDOUT
from runtime.ptys import set_size


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


def attach(attachment, stdin: bool, tty: bool) -> int:
    """Relay between this process's stdio and an attachment until the container exits."""
    stdin_open = stdin
    if tty:
        attachment.resize(*terminal_size())
        signal.signal(signal.SIGWINCH, lambda *_: attachment.resize(*terminal_size()))
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
                    attachment.send(data)
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


def exec_in(api, ref: str, argv: list[str], *, user: str | None, workdir: str | None,
            env: list[str], interactive: bool, tty: bool, privileged: bool = False) -> int:
    """Run a command in a running container with this terminal; its exit code."""
    if not tty:
        stdin = 0 if interactive else os.open(os.devnull, os.O_RDONLY)
        relay, err_fd, _ = api.exec_process(ref, argv, user=user, workdir=workdir, env=env,
                                            stdio=(stdin, 1, 2), privileged=privileged)
        return _wait_relay(relay, err_fd)
    null = os.open(os.devnull, os.O_RDWR)
    relay, err_fd, master = api.exec_process(ref, argv, user=user, workdir=workdir, env=env,
                                             stdio=(null, null, null), tty=True,
                                             privileged=privileged)
    os.close(null)
    if master < 0:
        return _wait_relay(relay, err_fd)
    set_size(master, *terminal_size())
    signal.signal(signal.SIGWINCH, lambda *_: set_size(master, *terminal_size()))
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
    return _wait_relay(relay, err_fd)


def _wait_relay(relay: int, err_fd: int) -> int:
    from runtime.nsexec import wait_relay

    previous = signal.signal(signal.SIGINT, lambda signum, _f: os.kill(relay, signum))
    try:
        code, error = wait_relay(relay, err_fd)
    finally:
        signal.signal(signal.SIGINT, previous)
    if error:
        print(f"berth: {error}", file=sys.stderr)
    return code
