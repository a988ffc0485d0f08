"""The client side of a monitor's control socket (see runtime.monitor for the server)."""
from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Iterator

from .errors import BerthError
from .paths import short_path
from .monitor import EXIT, FRAME, RESIZE, STDIN, STDIN_CLOSE, split_frames


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


def _lines(sock: socket.socket) -> Iterator[dict]:
    buffer = b""
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield json.loads(line)


def request(path: Path, message: dict, timeout: float | None = 10.0) -> dict:
    """Send one request and return the one reply (for stop: when the container exited)."""
    sock = _connect(path, timeout)
    with sock:
        _send(sock, json.dumps(message).encode() + b"\n")
        for reply in _lines(sock):
            return reply
    raise MonitorGone("the monitor closed the connection")


def events(path: Path) -> Iterator[dict]:
    """State changes of one container as they happen (start, die, health_status, ...)."""
    sock = _connect(path, None)
    with sock:
        _send(sock, b'{"op": "events"}\n')
        yield from _lines(sock)


class Attachment:
    """A live connection to a container's stdio."""

    def __init__(self, path: Path, stdin: bool) -> None:
        self.sock = _connect(path, None)
        _send(self.sock, json.dumps({"op": "attach", "stdin": stdin}).encode() + b"\n")
        self.buffer = b""
        while b"\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise MonitorGone("the monitor closed the connection")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        reply = json.loads(line)
        if not reply.get("ok"):
            raise MonitorGone(reply.get("error", "attach refused"))

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, data: bytes) -> None:
        self.sock.sendall(FRAME.pack(STDIN, len(data)) + data)

    def close_stdin(self) -> None:
        self.sock.sendall(FRAME.pack(STDIN_CLOSE, 0))

    def resize(self, rows: int, cols: int) -> None:
        payload = rows.to_bytes(2, "big") + cols.to_bytes(2, "big")
        self.sock.sendall(FRAME.pack(RESIZE, len(payload)) + payload)

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
