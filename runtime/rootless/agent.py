"""The session's agent: on the host side, as the user. It publishes ports (ports.py) and
ends the session when nothing is left in it."""
from __future__ import annotations

import fcntl
import os
import selectors
import signal
import socket
import time
from pathlib import Path

from ..paths import private_socket, short_path
from ..syscalls import SYSCALLS
from . import ports
from .session import IDLE_SECONDS, Session, end, lock_file, members, session_dir

TICK = 0.25


def serve(run: Path, ready_w: int, session: Session) -> None:
    """Answer on agent.sock until the session is idle, then end it; never returns."""
    SYSCALLS.set_process_name("berth-session")
    listener = private_socket()
    path = session_dir(run) / "agent.sock"
    path.unlink(missing_ok=True)
    with short_path(path) as short:
        listener.bind(short)
    listener.listen(64)
    listener.setblocking(False)
    os.write(ready_w, b"ok")
    os.close(ready_w)
    stopping = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stopping.update(now=True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    forwarders: dict[socket.socket, int] = {}  # a client's connection -> its forwarder
    userns = session.userns
    idle_since: float | None = None
    locked = False  # the session lock, taken to end
    while not stopping["now"]:
        for key, _ in selector.select(TICK):
            if key.fileobj is listener:
                _accept(listener, selector)
                continue
            conn = key.fileobj
            pid = ports.handle(conn, session) if conn not in forwarders else None
            if pid:
                forwarders[conn] = pid
                continue
            selector.unregister(conn)  # EOF (or a bad request): the publication ends
            _kill(forwarders.pop(conn, 0))
            conn.close()
        ended = _reap()
        if session.holder in ended:
            break  # the namespaces' holder died (killed): nothing can join any more
        for conn, pid in list(forwarders.items()):
            if pid in ended:  # the forwarder died: its publication is over (the
                selector.unregister(conn)  # monitor sees the connection close), and
                del forwarders[conn]  # its pid, free again, is never killed
                conn.close()
        if _occupied(userns, {session.holder, session.helper, *forwarders.values()}):
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= IDLE_SECONDS and _try_end(run, userns, session):
            locked = True
            break
    if not locked:  # SIGTERM, or the holder died: end now, once no command is joining
        fcntl.flock(os.open(lock_file(run), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600),
                    fcntl.LOCK_EX)
    _end(run, session, forwarders.values())


def _accept(listener: socket.socket, selector: selectors.BaseSelector) -> None:
    try:
        conn, _ = listener.accept()
    except BlockingIOError:
        return
    selector.register(conn, selectors.EVENT_READ)


def _occupied(userns: int, exclude: set[int]) -> bool:
    """Whether a process other than `exclude` is in the session's user namespace (a
    command, a monitor, berth's DNS server, a container)."""
    return any(pid not in exclude for pid in members(userns))


def _try_end(run: Path, userns: int, session: Session) -> bool:
    """Take the session lock (no command is joining) and check once more."""
    fd = os.open(lock_file(run), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    if _occupied(userns, {session.holder, session.helper}):
        os.close(fd)
        return False
    return True  # the lock stays held until this process exits


def _end(run: Path, session: Session, forwarders) -> None:
    for pid in forwarders:
        _kill(pid)
    end(run, session, spare={os.getpid()})
    _reap()
    os._exit(0)


def _kill(pid: int) -> None:
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _reap() -> list[int]:
    """The children that ended (forwarders, the holder, slirp4netns)."""
    ended = []
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended.append(pid)
