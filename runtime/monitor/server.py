"""The monitor's control socket: its connections, each request dispatched through a table
of handlers by its op (runtime.protocol), and attach frames.

A connection starts in REQUEST mode; its handler may reply and drop it at once, or put
it in the mode it waits in (for the exit, for events, attached) until the monitor
replies to it.
"""
from __future__ import annotations

import json
import socket
from enum import Enum
from pathlib import Path
from typing import Callable, Mapping

from ..fsutil import make_dir
from ..paths import private_socket, short_path
from ..protocol import Message, error, frame, line, split_frames, split_line
from .loop import EventLoop


class Mode(Enum):
    REQUEST = "request"  # its request is still to come
    STOPPING = "stopping"  # waits for the exit it asked for
    WAITING = "waiting"  # waits for the exit
    RESTARTING = "restarting"  # waits for the container to run again
    EVENTS = "events"  # gets every event
    ATTACH = "attach"  # gets the output as frames, sends input frames


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.mode = Mode.REQUEST
        self.stdin = False  # attached with its input

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def reply(self, message: Message) -> bool:
        return self.send(line(message))

    def frame(self, kind: int, payload: bytes) -> bool:
        return self.send(frame(kind, payload))


Handler = Callable[[Connection, Message], None]


class Server:
    """`handlers`: op -> handler(connection, request). Frames from an attached connection
    go to on_frames(connection, [(kind, payload)]); on_close(connection) is called when a
    connection's peer closed it."""

    def __init__(self, loop: EventLoop, path: Path, handlers: Mapping[str, Handler],
                 on_frames: Callable[[Connection, list[tuple[int, bytes]]], None],
                 on_close: Callable[[Connection], None]) -> None:
        self.loop, self.path = loop, path
        self.handlers, self.on_frames, self.on_close = handlers, on_frames, on_close
        self.connections: dict[socket.socket, Connection] = {}
        self.sock: socket.socket | None = None

    def listen(self) -> None:
        make_dir(self.path.parent, 0o700)
        self.path.unlink(missing_ok=True)
        self.sock = private_socket()
        with short_path(self.path) as address:
            self.sock.bind(address)
        self.sock.listen(64)
        self.loop.watch(self.sock, self.on_accept)

    def close(self) -> None:
        try:
            if self.sock:
                self.sock.close()
            self.path.unlink()
        except OSError:
            pass

    def on_accept(self) -> None:
        assert self.sock is not None
        sock, _ = self.sock.accept()
        sock.setblocking(True)
        conn = Connection(sock)
        self.connections[sock] = conn
        self.loop.watch(sock, lambda: self.on_readable(conn))

    def drop(self, conn: Connection) -> None:
        if conn.sock in self.connections:
            del self.connections[conn.sock]
            try:
                self.loop.unwatch(conn.sock)
            except (KeyError, ValueError):
                pass
            conn.sock.close()

    def answer(self, conn: Connection, message: Message) -> None:
        """The last message of a connection: reply, then close it."""
        conn.reply(message)
        self.drop(conn)

    def in_mode(self, *modes: Mode) -> list[Connection]:
        return [conn for conn in self.connections.values() if conn.mode in modes]

    def broadcast(self, mode: Mode, message: Message) -> None:
        """`message` to every connection in `mode`; those that can't take it are dropped."""
        for conn in self.in_mode(mode):
            if not conn.reply(message):
                self.drop(conn)

    def broadcast_frame(self, kind: int, payload: bytes) -> None:
        """A frame to every attached connection; those that can't take it are dropped."""
        for conn in self.in_mode(Mode.ATTACH):
            if not conn.frame(kind, payload):
                self.drop(conn)

    def on_readable(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.on_close(conn)
            self.drop(conn)
            return
        conn.buffer += data
        if conn.mode is Mode.ATTACH:
            frames, conn.buffer = split_frames(conn.buffer)
            self.on_frames(conn, frames)
            return
        while conn.mode is Mode.REQUEST:
            request, conn.buffer = split_line(conn.buffer)
            if request is None:
                return
            try:
                self.dispatch(conn, json.loads(request))
            except Exception as err:  # noqa: BLE001 - a bad request must not kill the monitor
                self.answer(conn, error(str(err)))
                return

    def dispatch(self, conn: Connection, request: Message) -> None:
        op = request.get("op")
        handler = self.handlers.get(op) if isinstance(op, str) else None
        if handler is None:
            self.answer(conn, error(f"unknown request {op!r}"))
            return
        handler(conn, request)
