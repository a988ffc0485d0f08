"""A published port's forwarder: its listening socket was made on the host side; the
process then enters the session's user and network namespaces, where each connection
it accepts is carried to the container's address (the connection's own socket is made
in there). One thread pair per connection; the process ends when the agent kills it."""
from __future__ import annotations

import os
import signal
import socket
import threading

from ..syscalls import CLONE_NEWNET, CLONE_NEWUSER, PR_SET_PDEATHSIG, SYSCALLS

CHUNK = 1 << 16


def serve(listener: socket.socket, holder: int, target: tuple[str, int]) -> None:
    """Never returns."""
    try:
        SYSCALLS.set_process_name("berth-forward")
        SYSCALLS.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the agent's ports die with it
        os.closerange(3, listener.fileno())  # the agent's sockets are not this one's
        os.closerange(listener.fileno() + 1, 1 << 16)
        for name, kind in (("user", CLONE_NEWUSER), ("net", CLONE_NEWNET)):
            fd = os.open(f"/proc/{holder}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
            SYSCALLS.setns(fd, kind)
            os.close(fd)
        listener.setblocking(True)
        while True:
            client, _ = listener.accept()
            threading.Thread(target=_connect, args=(client, target), daemon=True).start()
    except BaseException:  # noqa: BLE001 - a forked child must never return
        os._exit(1)


def _connect(client: socket.socket, target: tuple[str, int]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=10)
        upstream.settimeout(None)
    except OSError:
        client.close()
        return
    done = threading.Semaphore(0)
    threading.Thread(target=_pump, args=(upstream, client, done), daemon=True).start()
    _pump(client, upstream, done)
    done.acquire()
    done.acquire()
    client.close()
    upstream.close()


def _pump(source: socket.socket, sink: socket.socket, done: threading.Semaphore) -> None:
    """Copy until EOF, then pass the EOF on (a half-close, as TCP allows); an error ends
    both directions."""
    try:
        while data := source.recv(CHUNK):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    finally:
        done.release()
