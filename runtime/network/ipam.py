"""Address management: subnets for new networks, addresses for containers. Pure logic.

The default pools (runtime.settings) avoid docker's (172.17.0.0/12, 192.168.0.0/16) and podman's
(10.88.0.0/16, 10.89.0.0/16) defaults; every subnet already routed on the host is
skipped too. The callers hold the locks that make a choice and its recording atomic.
"""
from __future__ import annotations

import ipaddress
import socket
import struct
from typing import Iterable

from ..errors import BerthError

IPv4Network = ipaddress.IPv4Network


class IpamError(BerthError):
    pass


def host_routes(path: str = "/proc/net/route") -> list[IPv4Network]:
    """IPv4 destinations the host routes somewhere (not the default route)."""
    routes = []
    try:
        with open(path) as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                dest, mask = fields[1], fields[7]
                if dest == "00000000" and mask == "00000000":
                    continue
                net = socket.inet_ntoa(struct.pack("<I", int(dest, 16)))
                bits = bin(int(mask, 16)).count("1")
                routes.append(ipaddress.IPv4Network(f"{net}/{bits}", strict=False))
    except OSError:
        pass
    return routes


def choose_subnet(taken: Iterable[IPv4Network],
                  pools: Iterable[tuple[str, int]]) -> IPv4Network:
    """The first pool subnet that overlaps nothing in `taken`."""
    taken = list(taken)
    for base, size in pools:
        for candidate in ipaddress.IPv4Network(base).subnets(new_prefix=size):
            if not any(candidate.overlaps(t) for t in taken):
                return candidate
    raise IpamError("no free subnet left in the address pools; remove unused networks "
                    "(berth network prune) or set a subnet")


def parse_subnet(text: str) -> IPv4Network:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise IpamError(f"invalid subnet {text!r}") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise IpamError(f"subnet {text}: only IPv4 networks are supported")
    if net.prefixlen > 30:
        raise IpamError(f"subnet {text} is too small")
    return net


def default_gateway(subnet: IPv4Network) -> str:
    return str(subnet.network_address + 1)


def choose_address(subnet: IPv4Network, used: Iterable[str], gateway: str,
                   ip_range: str | None = None) -> str:
    """The lowest free host address of `subnet` (within `ip_range` if set)."""
    taken = set(used) | {gateway}
    space = ipaddress.IPv4Network(ip_range, strict=False) if ip_range else subnet
    for host in space.hosts():
        if host in subnet and str(host) not in taken:
            return str(host)
    raise IpamError(f"no free address left in {space}")


def check_static(address: str, subnet: IPv4Network, used: Iterable[str], gateway: str) -> str:
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        raise IpamError(f"invalid IPv4 address {address!r}") from None
    if ip not in subnet or ip in (subnet.network_address, subnet.broadcast_address):
        raise IpamError(f"address {address} is not a host address of {subnet}")
    if address == gateway or address in set(used):
        raise IpamError(f"address {address} is already in use on {subnet}")
    return address
