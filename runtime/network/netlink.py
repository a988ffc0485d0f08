"""The three rtnetlink requests berth makes (rtnetlink(7)): create a veth pair with its
peer in another network namespace, put a link in a bridge and up, delete a link.

Written on the socket module rather than pyroute2 because pyroute2 takes ~170 ms to
import (~200 ms under load), on the critical path of every `up` and `container run`
that uses a bridge network, for three fixed messages of a few dozen bytes.
"""
from __future__ import annotations

import errno
import os
import socket
import struct

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_DELLINK = 16, 17
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLMSG_ERROR = 2
IFLA_IFNAME, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 3, 10, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFF_UP = 0x1

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change


def attr(kind: int, payload: bytes) -> bytes:
    """One rtattr (length, type, payload), padded to 4 bytes."""
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _name(name: str) -> bytes:
    return attr(IFLA_IFNAME, name.encode() + b"\0")


def ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)


def message(kind: int, flags: int, body: bytes, sequence: int = 1) -> bytes:
    return _HEADER.pack(_HEADER.size + len(body), kind, NLM_F_REQUEST | NLM_F_ACK | flags,
                        sequence, 0) + body


def veth_request(host: str, peer: str, netns_fd: int) -> bytes:
    """RTM_NEWLINK: the pair `host` (here) and `peer` (in the namespace of `netns_fd`)."""
    peer_info = ifinfo() + _name(peer) + attr(IFLA_NET_NS_FD, struct.pack("=I", netns_fd))
    info = attr(IFLA_INFO_KIND, b"veth\0") + attr(IFLA_INFO_DATA,
                                                  attr(VETH_INFO_PEER, peer_info))
    return message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
                   ifinfo() + _name(host) + attr(IFLA_LINKINFO, info))


def enslave_request(index: int, bridge: int) -> bytes:
    """RTM_NEWLINK on an existing link: into `bridge`, and up."""
    return message(RTM_NEWLINK, 0, ifinfo(index, IFF_UP, IFF_UP)
                   + attr(IFLA_MASTER, struct.pack("=I", bridge)))


def delete_request(index: int) -> bytes:
    return message(RTM_DELLINK, 0, ifinfo(index))


def _call(request: bytes) -> None:
    """Send one request and wait for its acknowledgement; an error is an OSError."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                       NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        sock.send(request)
        while True:
            data = sock.recv(65536)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, offset + _HEADER.size)
                    if code:
                        raise OSError(-code, os.strerror(-code))
                    return
                offset += max(length + (-length % 4), _HEADER.size)


def add_veth(host: str, peer: str, netns_path: str) -> None:
    """A veth pair: `host` in this namespace, `peer` in the one at `netns_path`."""
    fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _call(veth_request(host, peer, fd))
    finally:
        os.close(fd)


def index(name: str) -> int | None:
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return None


def enslave(name: str, bridge: str) -> None:
    """Put link `name` into `bridge` and bring it up."""
    link, master = index(name), index(bridge)
    if link is None or master is None:
        missing = name if link is None else bridge
        raise OSError(errno.ENODEV, f"no link {missing}")
    _call(enslave_request(link, master))


def delete(name: str) -> None:
    """Delete link `name` (a veth takes its peer with it); gone already is fine."""
    link = index(name)
    if link is None:
        return
    try:
        _call(delete_request(link))
    except OSError as err:
        if err.errno != errno.ENODEV:
            raise
