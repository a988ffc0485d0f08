"""A published port's forwarder: its listening socket was made on the host side; the
process then enters the session's user and network namespaces, where each connection
it accepts is carried to the container's address (the connection's own socket is made
in there). TCP: one thread pair per connection. UDP: each client address gets a socket
of its own in there, and what the container sends back on it goes to that client. The
process ends when the agent kills it."""
from __future__ import annotations

import os
import selectors
import signal
import socket
import threading
import time
from typing import Callable

from ..syscalls import CLONE_NEWNET, CLONE_NEWUSER, PR_SET_PDEATHSIG, SYSCALLS

CHUNK = 1 << 16
# seconds a client's UDP flow is kept without traffic: an answered one as conntrack keeps
# a UDP stream (nf_conntrack_udp_timeout_stream), an unanswered one as its 30 s
UDP_ANSWERED, UDP_UNANSWERED = 120.0, 30.0
UDP_FLOWS = 512  # at most: the least recently used goes (spoofed sources can't use up fds)


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
        if listener.type == socket.SOCK_DGRAM:
            relay_datagrams(listener, target)
        while True:
            client, _ = listener.accept()
            threading.Thread(target=_connect, args=(client, target), daemon=True).start()
    except BaseException:  # noqa: BLE001 - a forked child must never return
        os._exit(1)


def relay_datagrams(listener: socket.socket, target: tuple[str, int],
                    done: Callable[[], bool] = lambda: False) -> None:
    """Carry datagrams between the clients of `listener` and `target` until `done()`."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    flows: dict[tuple, list] = {}  # client -> [its socket, last use, answered]

    def drop(client: tuple) -> None:
        flow = flows.pop(client)[0]
        selector.unregister(flow)
        flow.close()

    while not done():
        for key, _ in selector.select(1.0):
            try:
                if key.fileobj is listener:
                    data, client = listener.recvfrom(CHUNK)
                    if client not in flows:
                        if len(flows) >= UDP_FLOWS:
                            drop(min(flows, key=lambda c: flows[c][1]))
                        flow = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        try:
                            flow.connect(target)
                        except OSError:
                            flow.close()
                            raise
                        selector.register(flow, selectors.EVENT_READ, client)
                        flows[client] = [flow, 0.0, False]
                    flows[client][1] = time.monotonic()
                    flows[client][0].send(data)
                elif key.data in flows:
                    listener.sendto(key.fileobj.recv(CHUNK), key.data)
                    flows[key.data][1:] = [time.monotonic(), True]
            except OSError:
                continue  # a datagram lost, as datagrams may be
        now = time.monotonic()
        for client, (_, used, answered) in list(flows.items()):
            if now - used > (UDP_ANSWERED if answered else UDP_UNANSWERED):
                drop(client)


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
