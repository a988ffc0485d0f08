"""Terminals for containers: allocated inside the container's own devpts (so `tty`
and ttyname work there), with the master end handed back over a unix socket."""
from __future__ import annotations

import fcntl
import os
import socket
import struct
import termios

_TIOCGPTN = 0x80045430
_TIOCSPTLCK = 0x40045431


def open_pty(rows: int = 24, cols: int = 80) -> tuple[int, int]:
    """A new pty from /dev/ptmx of the current mount namespace: (master, slave)."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
    number = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, b"\0\0\0\0"))[0]
    slave = os.open(f"/dev/pts/{number}", os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return master, slave


def become_terminal_of(slave: int) -> None:
    """Make `slave` this (new session's) controlling terminal and its stdio."""
    for target in (0, 1, 2):
        os.dup2(slave, target)
    if slave > 2:
        os.close(slave)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def send_fd(sock_fd: int, fd: int) -> None:
    with socket.socket(fileno=os.dup(sock_fd)) as sock:
        socket.send_fds(sock, [b"t"], [fd])


def recv_fd(sock: socket.socket) -> int | None:
    try:
        _, fds, _, _ = socket.recv_fds(sock, 1, 1)
    except OSError:
        return None
    return fds[0] if fds else None


def set_size(master: int, rows: int, cols: int) -> None:
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

