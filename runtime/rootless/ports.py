"""Published ports without root: the rootless network namespace is not the host's, so
the agent (on the host side, as the user) binds the host port and forks a forwarder
that carries each connection into the namespace, to the container (forward.py).

A container's monitor asks with reserve() and keeps the returned connection open while
the container runs (as it keeps the bound socket under root): when it closes, or the
monitor dies, the agent stops the forwarder and the port is free again."""
from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path

from ..errors import BerthError
from ..paths import short_path
from ..spec import PortMapping
from .session import Session, session_dir

UNPRIVILEGED_START = "/proc/sys/net/ipv4/ip_unprivileged_port_start"


class PortError(BerthError):
    pass


def reserve(run: Path, req: PortMapping, target: str | None) -> tuple[socket.socket, int]:
    """Publish `req` to `target` (the container's address) through the session's agent;
    returns the connection that holds the publication, and the host port. Without a
    target the port is only tried (bound and let go at once)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        with short_path(session_dir(run) / "agent.sock") as path:
            conn.connect(path)
        request = {"protocol": req.protocol, "host_ip": req.host_ip, "port": req.host_port,
                   "port_end": req.host_port_end, "target": target,
                   "target_port": req.container_port}
        conn.sendall(json.dumps(request).encode() + b"\n")
        answer = json.loads(conn.makefile("rb").readline() or b"{}")
    except (OSError, ValueError) as err:
        conn.close()
        raise PortError(f"cannot publish port {req.host_port}: the rootless session's agent "
                        f"does not answer ({err})") from None
    if "port" not in answer:
        conn.close()
        raise PortError(answer.get("error") or f"cannot publish port {req.host_port}")
    return conn, int(answer["port"])


def handle(conn: socket.socket, session: Session) -> int | None:
    """In the agent: one request; the forwarder's pid once it serves, None when the
    request is done with (answered: an error, a port only tried)."""
    from . import forward

    try:
        request = json.loads(conn.makefile("rb").readline() or b"{}")
        if not isinstance(request, dict):
            raise ValueError("not a request")
        listener, port = bind(str(request["protocol"]), str(request["host_ip"]),
                              int(request["port"]), int(request["port_end"]))
    except PortError as err:
        _send(conn, {"error": str(err)})
        return None
    except Exception as err:  # noqa: BLE001 - one bad request never stops the agent
        _send(conn, {"error": f"bad publication request: {err}"})
        return None
    target = request.get("target")
    if not target:  # only tried: free now
        listener.close()
        _send(conn, {"port": port})
        return None
    try:
        pid = os.fork()
    except OSError as err:
        listener.close()
        _send(conn, {"error": f"cannot publish port {port}: {err.strerror}"})
        return None
    if pid == 0:
        forward.serve(listener, session.holder, (str(target), int(request["target_port"])))
    listener.close()
    _send(conn, {"port": port})
    return pid


def _send(conn: socket.socket, answer: dict) -> None:
    try:
        conn.sendall(json.dumps(answer).encode() + b"\n")
    except OSError:
        pass


def bind(protocol: str, host_ip: str, port: int, port_end: int) -> tuple[socket.socket, int]:
    """The host socket of a publication (the first free port of a range; any for 0)."""
    if protocol not in ("tcp", "udp"):
        raise PortError(f"cannot publish port {port}/{protocol}: without root berth "
                        "publishes TCP and UDP ports")
    address = host_ip if host_ip not in ("", "0.0.0.0") else "0.0.0.0"
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    last: OSError | None = None
    for candidate in range(port, max(port, port_end) + 1):
        sock = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
        if protocol == "tcp":  # (on UDP it would let a second publication share the port)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, candidate))
            if protocol == "tcp":
                sock.listen(128)
            return sock, sock.getsockname()[1]
        except OSError as err:
            sock.close()
            last = err
    what = f"{address}:{port}" + (f"-{port_end}" if port_end else "")
    if last is not None and last.errno == errno.EACCES:
        start = _unprivileged_start()
        raise PortError(f"cannot publish port {what}/{protocol} without root: ports below {start} "
                        f"are privileged (as root, run `sysctl -w "
                        f"net.ipv4.ip_unprivileged_port_start={port}`)")
    reason = "already in use" if last is not None and last.errno == errno.EADDRINUSE \
        else (last.strerror if last is not None else "unavailable")
    raise PortError(f"cannot publish port {what}/{protocol}: {reason}")


def _unprivileged_start() -> str:
    try:
        with open(UNPRIVILEGED_START) as handle:
            return handle.read().strip()
    except OSError:
        return "1024"
