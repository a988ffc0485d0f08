"""The client side of a monitor's control socket (runtime.protocol; the server is
runtime.monitor.server)."""
from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Iterator

from .errors import BerthError
from .paths import short_path
from .protocol import EXIT, RESIZE, STDIN, STDIN_CLOSE, Message, Op, frame, line, split_frames, \
    split_line


class MonitorGone(BerthError, ConnectionError):
    """No monitor answers for this container (it is not running)."""


def _connect(path: Path, timeout: float | None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.settimeout(timeout)
    try:
        with short_path(path) as address:
            sock.connect(address)
    except (FileNotFoundError, ConnectionRefusedError) as err:
        sock.close()
        raise MonitorGone(str(err)) from None
    return sock


def _send(sock: socket.socket, data: bytes) -> None:
    """The monitor may close its socket the moment it finishes: that is MonitorGone."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        sock.close()
        raise MonitorGone("the monitor closed the connection") from None


def _lines(sock: socket.socket) -> Iterator[Message]:
    buffer = b""
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        reply, buffer = split_line(buffer + data)
        while reply is not None:
            yield json.loads(reply)
            reply, buffer = split_line(buffer)


def request(path: Path, message: Message, timeout: float | None = 10.0) -> Message:
    """Send one request ({"op": Op.STOP, ...}) and return the one reply (for stop: when
    the container exited)."""
    sock = _connect(path, timeout)
    with sock:
        _send(sock, line(message))
        for reply in _lines(sock):
            return reply
    raise MonitorGone("the monitor closed the connection")


def events(path: Path) -> Iterator[Message]:
    """State changes of one container as they happen (start, die, health_status, ...)."""
    sock = _connect(path, None)
    with sock:
        _send(sock, line({"op": Op.EVENTS}))
        yield from _lines(sock)


class Attachment:
    """A live connection to a container's stdio."""

    def __init__(self, path: Path, stdin: bool) -> None:
        self.sock = _connect(path, None)
        _send(self.sock, line({"op": Op.ATTACH, "stdin": stdin}))
        first, self.buffer = None, b""
        while first is None:
            data = self.sock.recv(65536)
            if not data:
                raise MonitorGone("the monitor closed the connection")
            first, self.buffer = split_line(self.buffer + data)
        reply = json.loads(first)
        if not reply.get("ok"):
            raise MonitorGone(reply.get("error", "attach refused"))

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, data: bytes) -> None:
        self.sock.sendall(frame(STDIN, data))

    def close_stdin(self) -> None:
        self.sock.sendall(frame(STDIN_CLOSE, b""))

    def resize(self, rows: int, cols: int) -> None:
        self.sock.sendall(frame(RESIZE, rows.to_bytes(2, "big") + cols.to_bytes(2, "big")))

    def has_frames(self) -> bool:
        """Whole frames already received (they can come with the attach reply, even the
        last ones before the monitor closes the connection), to be read before waiting."""
        return bool(split_frames(self.buffer)[0])

    def read_frames(self) -> Iterator[tuple[int, bytes]]:
        """Frames available now: those already received, else what one read brings
        (blocking for it): (kind, payload)."""
        frames, self.buffer = split_frames(self.buffer)
        if frames:
            yield from frames
            return
        data = self.sock.recv(65536)
        if not data:
            yield EXIT, b""
            return
        frames, self.buffer = split_frames(self.buffer + data)
        yield from frames

    def close(self) -> None:
        self.sock.close()
