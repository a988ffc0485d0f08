"""berth's DNS server: one process per BERTH_ROOT, listening on every network's gateway.

On a network it answers A and PTR queries for the containers attached to that network
only: their names, their aliases (compose service names among them) and, for the
container asking, its own links. Several containers with one name are all returned,
in a rotated order on each answer (round robin). Everything else is forwarded to the
asking container's own DNS servers, or the host's. Records are re-read whenever the
endpoint or network records change, so a container's name resolves from its start
and stops resolving when it stops. It exits when no network is left.

Who may ask: only a container attached to the network whose gateway it asks (anyone
else is refused, whatever address they reach), and it learns only the names of its
own networks. An internal network's gateway forwards nothing: queries for other names
fail (SERVFAIL) instead of leaving the host (CVE-2024-29018), whoever asks (a container
there has its way out, if it has one, through its other network's gateway).

    python -m runtime.network.dnsserver ROOT RUN
"""
from __future__ import annotations

import itertools
import os
import selectors
import signal
import socket
import struct
import sys
import time
from collections import defaultdict
from pathlib import Path

from ..paths import Paths, private_socket, short_path
from . import dnswire
from .records import Records

TTL = 0  # containers come and go; never let a resolver keep an old answer
TCP_READ_LIMIT = 1.0  # seconds a TCP client has to send its whole query
FORWARD_TIMEOUT = 2.0


def host_nameservers(path: str = "/etc/resolv.conf") -> list[str]:
    try:
        with open(path) as handle:
            return [line.split()[1] for line in handle
                    if line.startswith("nameserver") and len(line.split()) > 1]
    except OSError:
        return []


class Zone:
    """What one network's DNS knows."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = defaultdict(list)  # name -> ips
        self.reverse: dict[str, str] = {}  # ip -> name
        self.links: dict[str, dict[str, str]] = {}  # asking ip -> alias -> target name
        self.upstreams: dict[str, list[str]] = {}  # asking ip -> its dns servers
        self.internal = False


class Server:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.records = Records(paths)
        self.sel = selectors.DefaultSelector()
        self.listeners: dict[str, tuple[socket.socket, socket.socket]] = {}
        self.zones: dict[str, Zone] = {}  # gateway ip -> zone
        self.member_of: dict[str, list[Zone]] = {}  # a container's address -> all its zones
        self.stamp: tuple = ()
        self.turns: dict[str, int] = defaultdict(int)  # name -> next rotation
        self.pending: dict[int, tuple] = {}  # forward id -> (listener, client, query id, deadline)
        self.upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sel.register(self.upstream, selectors.EVENT_READ, self.on_upstream)
        self.ids = itertools.cycle(range(1, 65536))
        self.reload_requested = True

    # --- records -----------------------------------------------------------------------

    def _stamp(self) -> tuple:
        try:
            return (os.stat(self.records.networks_dir).st_mtime_ns,
                    os.stat(self.records.endpoints_dir).st_mtime_ns)
        except OSError:
            return ()

    def refresh(self) -> None:
        stamp = self._stamp()
        if stamp == self.stamp and not self.reload_requested:
            return
        self.stamp, self.reload_requested = stamp, False
        networks = {n.name: n for n in self.records.networks()}
        zones = {n.gateway: Zone() for n in networks.values()}
        by_network = {n.name: zones[n.gateway] for n in networks.values()}
        for net in networks.values():
            by_network[net.name].internal = net.internal
        member_of = {}
        for ep in self.records.all_endpoints():
            own = [by_network[a.network] for a in ep.attachments if a.network in by_network]
            for att in ep.attachments:
                member_of[att.ip] = own
            for att in ep.attachments:
                zone = by_network.get(att.network)
                if zone is None:
                    continue
                names = {ep.name.lower(), ep.container[:12]} | {a.lower() for a in att.aliases}
                for name in names:
                    if att.ip not in zone.names[name]:
                        zone.names[name].append(att.ip)
                zone.reverse[att.ip] = ep.name
                zone.links[att.ip] = {alias.lower(): target.lower() for target, alias in ep.links}
                zone.upstreams[att.ip] = ep.dns
        self.zones = zones
        self.member_of = member_of
        self._listen(set(zones))

    def _listen(self, gateways: set[str]) -> None:
        for gateway in set(self.listeners) - gateways:
            for sock in self.listeners.pop(gateway):
                self.sel.unregister(sock)
                sock.close()
        for gateway in gateways - set(self.listeners):
            try:
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                udp.bind((gateway, 53))
                tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((gateway, 53))
                tcp.listen(64)
            except OSError as err:
                print(f"cannot listen on {gateway}:53: {err}", file=sys.stderr, flush=True)
                continue
            self.sel.register(udp, selectors.EVENT_READ, self.on_udp)
            self.sel.register(tcp, selectors.EVENT_READ, self.on_tcp)
            self.listeners[gateway] = (udp, tcp)

    # --- answering ---------------------------------------------------------------------

    def zones_for(self, zone: Zone, client_ip: str) -> list[Zone]:
        """The asked network first, then the asking container's other networks."""
        return [zone] + [z for z in self.member_of.get(client_ip, []) if z is not zone]

    def lookup(self, zone: Zone, client_ip: str, name: str, rotate: bool) -> list[str] | None:
        """Addresses for `name`; each A answer starts with the next one (round robin)."""
        name = name.lower().rstrip(".")
        target = zone.links.get(client_ip, {}).get(name, name)
        for candidate in self.zones_for(zone, client_ip):
            ips = candidate.names.get(target)
            if ips:
                turn = self.turns[target] % len(ips)
                if rotate:
                    self.turns[target] += 1
                return ips[turn:] + ips[:turn]
        return None

    def answer(self, zone: Zone, client_ip: str, wire: bytes) -> bytes | None:
        """A reply, or None when the query must be forwarded."""
        try:
            asked = dnswire.question(wire)
        except dnswire.NotAQuery:  # an update, a notify...: nothing berth serves
            return dnswire.error(wire, dnswire.NOTIMP)
        except ValueError:  # garbage from the network
            return None if len(wire) < 12 else dnswire.error(wire, dnswire.FORMERR)
        if asked.rdtype == dnswire.PTR:
            ip = _ptr_ip(asked.name)
            owner = next((z.reverse[ip] for z in self.zones_for(zone, client_ip)
                          if ip and ip in z.reverse), None)
            if owner is None:
                return None
            try:
                return dnswire.response(wire, asked, dnswire.PTR, [owner + "."], TTL)
            except ValueError:  # a container name DNS cannot carry
                return dnswire.error(wire, dnswire.SERVFAIL)
        ips = self.lookup(zone, client_ip, asked.name, rotate=asked.rdtype == dnswire.A)
        if ips is None:
            return None
        # our rotation's order; AAAA and the other types of a known name: no records
        return dnswire.response(wire, asked, dnswire.A, ips if asked.rdtype == dnswire.A else [],
                                TTL)

    def handle(self, gateway: str, client: tuple, wire: bytes, reply) -> None:
        self.refresh()
        zone = self.zones.get(gateway)
        if zone is None or len(wire) < 12 or dnswire.is_response(wire):
            return
        if client[0] not in zone.reverse:  # not on this network: nothing to learn here
            reply(dnswire.error(wire, dnswire.REFUSED))
            return
        out = self.answer(zone, client[0], wire)
        if out is not None:
            reply(out)
            return
        if zone.internal:  # no way out
            reply(dnswire.error(wire, dnswire.SERVFAIL))
            return
        upstreams = zone.upstreams.get(client[0]) or host_nameservers()
        if not upstreams:
            reply(dnswire.error(wire, dnswire.SERVFAIL))
            return
        forward_id = next(self.ids)
        self.pending[forward_id] = (reply, wire[:2], time.monotonic() + FORWARD_TIMEOUT, wire)
        try:
            self.upstream.sendto(struct.pack(">H", forward_id) + wire[2:], (upstreams[0], 53))
        except OSError:
            del self.pending[forward_id]
            reply(dnswire.error(wire, dnswire.SERVFAIL))

    def on_udp(self, sock: socket.socket) -> None:
        try:
            wire, client = sock.recvfrom(65535)
        except OSError:
            return
        gateway = sock.getsockname()[0]
        self.handle(gateway, client, wire, lambda out: sock.sendto(out, client))

    def on_tcp(self, sock: socket.socket) -> None:
        conn, client = sock.accept()
        gateway = sock.getsockname()[0]
        zone = self.zones.get(gateway)
        if zone is None or client[0] not in zone.reverse:  # read nothing from strangers
            conn.close()
            return
        try:
            deadline = time.monotonic() + TCP_READ_LIMIT  # one limit for the whole query
            length = struct.unpack(">H", _recv_exactly(conn, 2, deadline))[0]
            wire = _recv_exactly(conn, length, deadline)
        except (OSError, struct.error):
            conn.close()
            return

        def reply(out: bytes) -> None:
            try:
                conn.sendall(struct.pack(">H", len(out)) + out)
            except OSError:
                pass  # the client went away
            finally:
                conn.close()

        self.handle(gateway, client, wire, reply)

    def on_upstream(self, sock: socket.socket) -> None:
        try:
            wire, _ = sock.recvfrom(65535)
        except OSError:
            return
        if len(wire) < 12:
            return
        forward_id = struct.unpack(">H", wire[:2])[0]
        entry = self.pending.pop(forward_id, None)
        if entry:
            reply, original_id, _, _ = entry
            reply(original_id + wire[2:])

    def expire(self) -> None:
        now = time.monotonic()
        for forward_id, (reply, _, deadline, wire) in list(self.pending.items()):
            if deadline < now:
                del self.pending[forward_id]
                try:
                    reply(dnswire.error(wire, dnswire.SERVFAIL))
                except OSError:
                    pass

    def on_control(self, sock: socket.socket) -> None:
        """A berth command changed the records and waits until they are served."""
        conn, _ = sock.accept()
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(64)
                self.reload_requested = True
                self.refresh()
                conn.sendall(b"ok\n" if self.zones else b"bye\n")
            except OSError:
                pass

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        control = private_socket()
        path = self.paths.run / "dns" / "control.sock"
        if path.exists():
            path.unlink()
        with short_path(path) as address:
            control.bind(address)
        control.listen(16)
        self.sel.register(control, selectors.EVENT_READ, self.on_control)
        self.refresh()
        (self.paths.run / "dns" / "starting").unlink(missing_ok=True)
        while True:
            for key, _ in self.sel.select(0.5):
                try:
                    key.data(key.fileobj)
                except Exception as err:  # noqa: BLE001 - one query never stops the server
                    print(f"{type(err).__name__}: {err}", file=sys.stderr, flush=True)
            self.expire()
            self.refresh()
            if not self.zones:
                path.unlink()
                return  # no network left to serve


def _recv_exactly(conn: socket.socket, size: int, deadline: float) -> bytes:
    data = b""
    while len(data) < size:
        conn.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def _ptr_ip(qname: str) -> str | None:
    labels = qname.lower().rstrip(".").split(".")
    if labels[-2:] != ["in-addr", "arpa"] or len(labels) != 6:
        return None
    return ".".join(reversed(labels[:4]))


def main() -> None:
    root, run = sys.argv[1:3]
    if os.fork():  # detach: the starter reaps this process, the server outlives it
        os._exit(0)
    os.setsid()
    Server(Paths(Path(root), Path(run))).run()


if __name__ == "__main__":
    main()
