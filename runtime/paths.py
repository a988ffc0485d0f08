"""Where berth keeps things: persistent state under BERTH_ROOT, runtime state under the run dir."""
from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .fsutil import make_dir

DEFAULT_ROOT = "/var/lib/berth"
DEFAULT_RUN = "/run/berth"


@dataclass(frozen=True)
class Paths:
    root: Path
    run: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Paths":
        """BERTH_ROOT (default /var/lib/berth); BERTH_RUN, else /run/berth for the default
        root and BERTH_ROOT/run for any other, so separate roots never share run state."""
        root = Path(environ.get("BERTH_ROOT") or DEFAULT_ROOT).absolute()
        run = environ.get("BERTH_RUN")
        if not run:
            run = DEFAULT_RUN if str(root) == DEFAULT_ROOT else str(root / "run")
        return cls(root, Path(run).absolute())

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    @property
    def names(self) -> Path:
        """name -> container id, as symlinks (creating one is an atomic reservation)."""
        return self.root / "names"

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def networks(self) -> Path:
        return self.root / "networks"

    @property
    def locks(self) -> Path:
        return self.run / "locks"

    @property
    def netns(self) -> Path:
        return self.run / "netns"

    def container(self, cid: str) -> Path:
        return self.containers / cid

    def monitor_socket(self, cid: str) -> Path:
        return self.run / "monitors" / f"{cid[:32]}.sock"

    def ensure(self) -> "Paths":
        """Create berth's directories, root's alone (as docker keeps its own): what is in
        them (containers' configs and logs, secrets, monitor sockets) is nobody else's."""
        for path in (self.root, self.run, self.images, self.containers, self.names, self.volumes,
                     self.networks, self.locks, self.netns, self.run / "monitors"):
            make_dir(path, 0o700)
        return self


def private_socket() -> socket.socket:
    """A unix stream socket whose file, once bound, only root may connect to (the mode is
    set on the socket before bind, so there is no moment it is open to others)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    os.fchmod(sock.fileno(), 0o600)
    return sock


@contextlib.contextmanager
def short_path(path: Path):
    """`path` spelled through /proc/self/fd so it fits in a unix socket address (108 bytes)."""
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)
