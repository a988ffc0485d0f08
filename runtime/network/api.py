"""Networks: create/remove/list, and plugging containers in and out.

Choosing a subnet happens under a host-wide lock, together with creating the bridge,
so two berth roots (or commands) never pick the same subnet. Everything about one
root's networks and endpoints changes under that root's network lock. Releasing a
container needs no netlink: its records go, and deleting its namespace deletes its
veths, so the monitor can do it cheaply.
"""
from __future__ import annotations

import errno
import hashlib
import ipaddress
import re
import secrets
import socket
from pathlib import Path

from .. import eventlog, netns
from ..errors import BerthError
from ..fsutil import locked
from ..paths import Paths
from ..spec import PortMapping
from .. import rootless, settings
from ..rootless import ports as rootless_ports
from . import dns, firewall, ipam
from .records import Attachment, Endpoints, Network, Published, Records

HOST_LOCK = Path("/run/berth-ipam.lock")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


class NetworkError(BerthError):
    pass


class NetworkNotFound(NetworkError, LookupError):
    pass


def reserve_port(req: PortMapping) -> tuple[socket.socket, int]:
    """Bind the host port (a free one for 0, the first free one of a range): holding the
    socket keeps any other program or container from taking the port."""
    kind = socket.SOCK_DGRAM if req.protocol == "udp" else socket.SOCK_STREAM
    address = req.host_ip if req.host_ip not in ("", "0.0.0.0") else "0.0.0.0"
    candidates = range(req.host_port, max(req.host_port, req.host_port_end) + 1)
    last_error = None
    for port in candidates:
        sock = socket.socket(socket.AF_INET, kind)
        try:
            sock.bind((address, port))
            return sock, sock.getsockname()[1]
        except OSError as err:
            sock.close()
            last_error = err
    what = f"{address}:{req.host_port}" + (f"-{req.host_port_end}" if req.host_port_end else "")
    reason = "already in use" if last_error and last_error.errno == errno.EADDRINUSE \
        else (last_error.strerror if last_error else "unavailable")
    raise NetworkError(f"cannot publish port {what}/{req.protocol}: {reason}")


def claim_port(run: Path, req: PortMapping, target: str | None = None
               ) -> tuple[socket.socket, int]:
    """reserve_port, or without root the session agent's: it binds the host port (and,
    given the container's address `target`, forwards it there) while the socket is open."""
    if rootless.active():
        return rootless_ports.reserve(run, req, target)
    return reserve_port(req)


class Networks:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.records = Records(paths)
        self.table = firewall.table_name(str(paths.root))

    def _lock(self):
        return locked(self.paths.locks / "networks.lock")

    # --- networks ----------------------------------------------------------------------

    def get(self, name: str) -> Network:
        net = self.records.network(name)
        if net is None:
            matches = [n for n in self.records.networks() if n.id.startswith(name) and len(name) >= 4]
            if len(matches) == 1:
                return matches[0]
            raise NetworkNotFound(f"no such network: {name}")
        return net

    def exists(self, name: str) -> bool:
        return self.records.network(name) is not None

    def list(self, labels: dict[str, str] | None = None) -> list[Network]:
        return [n for n in self.records.networks()
                if not labels or all(n.labels.get(k) == v for k, v in labels.items())]

    def create(self, name: str, *, subnet: str | None = None, gateway: str | None = None,
               ip_range: str | None = None, internal: bool = False,
               labels: dict[str, str] | None = None, options: dict[str, str] | None = None,
               exist_ok: bool = False) -> Network:
        if not _NAME.match(name) or len(name) > 200:
            raise NetworkError(f"invalid network name {name!r}: use letters, digits, '_', '.', '-'")
        # a rootless session's routes are its own namespace's: its run directory's lock
        host_lock = self.paths.locks / "ipam.lock" if rootless.active() else HOST_LOCK
        with locked(host_lock), self._lock():
            existing = self.records.network(name)
            if existing:
                if exist_ok:
                    return existing
                raise NetworkError(f"network {name} already exists")
            taken = ipam.host_routes() + [ipam.parse_subnet(n.subnet) for n in self.records.networks()]
            if subnet:
                chosen = ipam.parse_subnet(subnet)
                clash = next((t for t in taken if chosen.overlaps(t)), None)
                if clash:
                    raise NetworkError(f"subnet {chosen} overlaps {clash}, already in use on this host")
            else:
                chosen = ipam.choose_subnet(taken, settings.load(self.paths).address_pools)
            if gateway:
                ipam.check_static(gateway, chosen, [], "")
            if ip_range and not ipaddress.ip_network(ip_range, strict=False).subnet_of(chosen):
                raise NetworkError(f"ip_range {ip_range} is not inside subnet {chosen}")
            net_id = secrets.token_hex(32)
            net = Network(name=name, id=net_id, subnet=str(chosen),
                          gateway=gateway or ipam.default_gateway(chosen), bridge=f"br-{net_id[:12]}",
                          ip_range=ip_range, internal=internal, labels=dict(labels or {}),
                          options=dict(options or {}))
            from . import links

            self.records.save_network(net)
            try:
                links.ensure_bridge(net)  # its route now marks the subnet taken for others
            except BaseException:
                self.records.delete_network(name)
                links.delete_bridge(net.bridge)
                raise
            self._sync_firewall()
        dns.start(self.paths)  # its containers wait for it (dns.sync) when they attach
        eventlog.record(self.paths.root, "network", "create", net.id,
                        {"name": net.name, "type": "bridge"})
        return net

    def remove(self, name: str) -> None:
        net = self.get(name)
        with self._lock():
            users = [e.name for e in self.records.all_endpoints()
                     if any(a.network == net.name for a in e.attachments)]
            if users:
                raise NetworkError(f"network {net.name} has active endpoints: {', '.join(users)}")
            from . import links

            self.records.delete_network(net.name)
            links.delete_bridge(net.bridge)
            self._sync_firewall()
        dns.refresh(self.paths)  # the server goes away with the last network
        eventlog.record(self.paths.root, "network", "destroy", net.id,
                        {"name": net.name, "type": "bridge"})

    def users(self, name: str) -> list[str]:
        """Names of running containers attached to the network."""
        return [e.name for e in self.records.all_endpoints()
                if any(a.network == name for a in e.attachments)]

    def _sync_firewall(self) -> None:
        firewall.apply(self.table, self.records.networks(), self.records.all_endpoints())

    # --- containers --------------------------------------------------------------------

    def attach(self, cid: str, name: str,
               requests: list[tuple[str, list[str], str | None, str | None]],
               ports: list[PortMapping], dns_servers: list[str], links_: list[list[str]]
               ) -> tuple[Endpoints, list[socket.socket]]:
        """Plug container `cid` (its namespace exists) into networks.

        requests: (network, aliases, static address, MAC address) in order; the first non-internal one
        gets the default route. Returns the record and the sockets holding its ports."""
        from . import links

        path = str(self.paths.netns / cid)
        sockets: list[socket.socket] = []
        with self._lock():
            networks = {}
            for net_name, *_ in requests:
                net = self.records.network(net_name)
                if net is None:
                    raise NetworkNotFound(f"network {net_name} not found")
                networks[net_name] = net
            for net in networks.values():
                links.ensure_bridge(net)  # after a reboot the bridge is gone, the record not
            attachments = []
            for index, (net_name, aliases, static, mac) in enumerate(requests):
                net = networks[net_name]
                used = self.records.used_addresses(net.name) - {a.ip for a in attachments}
                subnet = ipam.parse_subnet(net.subnet)
                address = (ipam.check_static(static, subnet, used, net.gateway) if static
                           else ipam.choose_address(subnet, used, net.gateway, net.ip_range))
                veth = "vb" + hashlib.sha256(f"{cid}{net.id}".encode()).hexdigest()[:11]
                attachments.append(Attachment(network=net.name, ip=address, prefix=net.prefix,
                                              gateway=net.gateway, interface=f"eth{index}",
                                              host_veth=veth, aliases=list(aliases),
                                              internal=net.internal, mac=mac or ""))
            published = []
            # ports lead to the first network with a way out; a container on internal
            # networks only publishes none, as under docker
            outside = next((a for a in attachments if not a.internal), None)
            try:
                for req in ports if outside else ():
                    sock, port = claim_port(self.paths.run, req, outside.ip)
                    sockets.append(sock)
                    published.append(Published(req.protocol, req.host_ip, port, outside.ip,
                                               req.container_port))
                endpoints = Endpoints(container=cid, name=name, attachments=attachments,
                                      ports=published, dns=list(dns_servers), links=links_)
                self.records.save_endpoints(endpoints)
                if published:
                    self._sync_firewall()
            except BaseException:
                for sock in sockets:
                    sock.close()
                raise
        try:
            links.attach(path, attachments, networks)
            dns.sync(self.paths)
        except BaseException:
            self.release(cid)
            for sock in sockets:
                sock.close()
            raise
        return endpoints, sockets

    def release(self, cid: str) -> None:
        """Forget a container's attachments and ports (no netlink needed)."""
        with self._lock():
            endpoints = self.records.endpoints(cid)
            if endpoints is None:
                return
            self.records.delete_endpoints(cid)
            if endpoints.ports:
                self._sync_firewall()

    def endpoints(self, cid: str) -> Endpoints | None:
        return self.records.endpoints(cid)

    def connect(self, cid: str, name: str, network: str, aliases: list[str],
                static: str | None) -> Attachment:
        """Attach a running container to one more network."""
        from . import links

        net = self.get(network)
        with self._lock():
            current = self.records.endpoints(cid)
            if current is None:
                raise NetworkError(f"container {name} is not running")
            if any(a.network == net.name for a in current.attachments):
                raise NetworkError(f"container {name} is already connected to {net.name}")
            links.ensure_bridge(net)
            subnet = ipam.parse_subnet(net.subnet)
            used = self.records.used_addresses(net.name)
            address = (ipam.check_static(static, subnet, used, net.gateway) if static
                       else ipam.choose_address(subnet, used, net.gateway, net.ip_range))
            interface = f"eth{max([int(a.interface[3:]) for a in current.attachments] + [-1]) + 1}"
            att = Attachment(network=net.name, ip=address, prefix=net.prefix, gateway=net.gateway,
                             interface=interface,
                             host_veth="vb" + hashlib.sha256(f"{cid}{net.id}".encode()).hexdigest()[:11],
                             aliases=list(aliases), internal=net.internal)
            links.attach(str(self.paths.netns / cid), [att], {net.name: net})
            current.attachments.append(att)
            self.records.save_endpoints(current)
        dns.sync(self.paths)
        return att

    def disconnect(self, cid: str, name: str, network: str) -> None:
        from . import links

        net = self.get(network)
        with self._lock():
            current = self.records.endpoints(cid)
            att = next((a for a in (current.attachments if current else [])
                        if a.network == net.name), None)
            if current is None or att is None:
                raise NetworkError(f"container {name} is not connected to {net.name}")
            links.detach(att)
            current.attachments.remove(att)
            self.records.save_endpoints(current)

    def rename(self, cid: str, name: str) -> None:
        """A running container renamed: its DNS records answer to the new name."""
        with self._lock():
            current = self.records.endpoints(cid)
            if current is None:
                return
            current.name = name
            self.records.save_endpoints(current)
        dns.sync(self.paths)

    def prune(self, labels: dict[str, str] | None = None) -> list[str]:
        removed = []
        for net in self.list(labels):
            if not self.users(net.name):
                self.remove(net.name)
                removed.append(net.name)
        return removed


def release_container(paths: Paths, cid: str) -> None:
    """Everything a stopped container held on the network: records, ports, namespace."""
    Networks(paths).release(cid)
    netns.remove(str(paths.netns / cid))
