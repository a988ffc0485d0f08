"""Interfaces through the classic ioctls: bridges, addresses, links up and down, the
default route: creating and removing networks, and configuring a container's namespace
from inside it, with no netlink at all. Only veth pairs need netlink
(runtime.network.netlink)."""
from __future__ import annotations

import errno
import fcntl
import socket
import struct

from .records import Attachment

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_SIOCSIFADDR = 0x8916
_SIOCSIFNETMASK = 0x891C
_SIOCSIFHWADDR = 0x8924
_SIOCADDRT = 0x890B
_SIOCBRADDBR = 0x89A0
_SIOCBRDELBR = 0x89A1
_IFF_UP = 0x1
_RTF_UP, _RTF_GATEWAY = 0x1, 0x2
_ARPHRD_ETHER = 1


def _sockaddr_in(address: str) -> bytes:
    return struct.pack("=H2s4s8x", socket.AF_INET, b"\0\0", socket.inet_aton(address))


def _ifreq(name: str, payload: bytes) -> bytes:
    return struct.pack("16s", name.encode()) + payload.ljust(24, b"\0")


def mac_for(ip: str) -> str:
    """The MAC follows from the address (as docker does), so neighbours' caches stay right
    when a recreated container gets the same address."""
    return "02:42:" + ":".join(f"{int(octet):02x}" for octet in ip.split("."))


def set_address(sock: socket.socket, name: str, ip: str, prefix: int) -> None:
    fcntl.ioctl(sock, _SIOCSIFADDR, _ifreq(name, _sockaddr_in(ip)))
    netmask = socket.inet_ntoa(struct.pack("!I", (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF))
    fcntl.ioctl(sock, _SIOCSIFNETMASK, _ifreq(name, _sockaddr_in(netmask)))


def set_up(sock: socket.socket, name: str, up: bool = True) -> None:
    flags = struct.unpack("16sH", fcntl.ioctl(sock, _SIOCGIFFLAGS, _ifreq(name, b""))[:18])[1]
    flags = flags | _IFF_UP if up else flags & ~_IFF_UP
    fcntl.ioctl(sock, _SIOCSIFFLAGS, _ifreq(name, struct.pack("H", flags)))


def add_bridge(name: str, gateway: str, prefix: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, _SIOCBRADDBR, struct.pack("16s", name.encode()))
        set_address(sock, name, gateway, prefix)
        set_up(sock, name)


def delete_bridge(name: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            set_up(sock, name, False)
            fcntl.ioctl(sock, _SIOCBRDELBR, struct.pack("16s", name.encode()))
        except OSError as err:
            if err.errno not in (errno.ENODEV, errno.ENXIO):
                raise


def configure(attachments: list[Attachment]) -> None:
    """Address each interface, bring it up, and route through the first non-internal one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for att in attachments:
            mac = bytes(int(part, 16) for part in (att.mac or mac_for(att.ip)).split(":"))
            fcntl.ioctl(sock, _SIOCSIFHWADDR,
                        _ifreq(att.interface, struct.pack("=H14s", _ARPHRD_ETHER, mac)))
            set_address(sock, att.interface, att.ip, att.prefix)
            set_up(sock, att.interface)
        default = next((a for a in attachments if not a.internal), None)
        if default is None:
            return
        route = struct.pack("@L16s16s16sHhLPhPLLH", 0, _sockaddr_in("0.0.0.0"),
                            _sockaddr_in(default.gateway), _sockaddr_in("0.0.0.0"),
                            _RTF_UP | _RTF_GATEWAY, 0, 0, 0, 0, 0, 0, 0, 0)
        try:
            fcntl.ioctl(sock, _SIOCADDRT, route)
        except OSError as err:
            if err.errno != errno.EEXIST:
                raise
