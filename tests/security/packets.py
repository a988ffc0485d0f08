"""Raw packets for the attacks in tests/security: frames built by hand, sent through an
AF_PACKET socket (what a container with CAP_NET_RAW, or another machine on the LAN, can
do), and a sniffer that tells whether such a frame got somewhere it must not."""
from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import select
import socket
import struct
import subprocess
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800


def mac_of(ifname: str) -> bytes:
    """The interface's MAC in this process's network namespace (sysfs shows the host's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ifreq = fcntl.ioctl(sock, 0x8927, struct.pack("256s", ifname.encode()))  # SIOCGIFHWADDR
    return ifreq[18:24]


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv4(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x1234, 0x4000, 64,
                         proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, length)


def tcp_syn(src: str, dst: str, sport: int, dport: int) -> bytes:
    """An IPv4 packet holding a TCP SYN."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    csum = _checksum(_pseudo(src, dst, 6, len(tcp)) + tcp)
    return _ipv4(src, dst, 6, tcp[:16] + struct.pack("!H", csum) + tcp[18:])


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    """An IPv4 packet holding a UDP datagram."""
    head = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    csum = _checksum(_pseudo(src, dst, 17, len(head) + len(payload)) + head + payload) or 0xFFFF
    return _ipv4(src, dst, 17, head[:6] + struct.pack("!H", csum) + payload)


def send_frame(ifname: str, dst_mac: bytes, packet: bytes) -> None:
    """Put an Ethernet frame holding `packet` on `ifname`, bypassing routing."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((ifname, 0))
        sock.send(dst_mac + mac_of(ifname) + struct.pack("!H", ETH_P_IP) + packet)


class Sniffer:
    """Every IPv4 packet seen on an interface from now on."""

    def __init__(self, ifname: str) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((ifname, 0))

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Sniffer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def saw(self, sport: int, timeout: float = 1.0) -> bool:
        """Whether a TCP or UDP packet from source port `sport` went by within `timeout`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self.sock], [], [], left)[0]:
                break
            frame = self.sock.recv(65535)
            if len(frame) < 38 or frame[12:14] != struct.pack("!H", ETH_P_IP):
                continue
            ihl = (frame[14] & 0x0F) * 4
            if frame[23] in (6, 17) and struct.unpack("!H", frame[14 + ihl:16 + ihl])[0] == sport:
                return True
        return False


@contextlib.contextmanager
def foreign_host():
    """Another machine on the LAN, as a network namespace joined to this host by a veth
    pair: yields (netns path, its interface, this host's interface, this host's address
    on that link, its own address)."""
    tag = secrets.token_hex(3)
    name, host_if, peer_if = f"berth-atk-{tag}", f"vatk{tag}h", f"vatk{tag}p"
    block = 0xC6120000 + secrets.randbelow(1 << 15) * 4  # a /30 of 198.18.0.0/15 (RFC 2544)
    host_ip, peer_ip = (socket.inet_ntoa(struct.pack("!I", block + n)) for n in (1, 2))

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    ip("netns", "add", name)
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", peer_if, "netns", name)
        ip("addr", "add", f"{host_ip}/30", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("-n", name, "addr", "add", f"{peer_ip}/30", "dev", peer_if)
        ip("-n", name, "link", "set", peer_if, "up")
        ip("-n", name, "link", "set", "lo", "up")
        yield f"/run/netns/{name}", peer_if, host_if, host_ip, peer_ip
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        if os.path.exists(f"/run/netns/{name}"):
            os.unlink(f"/run/netns/{name}")
