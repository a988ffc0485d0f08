"""Starting berth's DNS server (runtime.network.dnsserver) on demand and telling it
that records changed; it stops by itself when no network is left."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

from ..errors import BerthError
from ..fsutil import locked, make_dir, open_private
from ..paths import Paths, short_path


STARTUP_LIMIT = 10.0


class DnsError(BerthError):
    pass


def _notify(paths: Paths) -> bytes | None:
    """Ask a running server to reload; its answer, or None if none runs."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    try:
        with short_path(paths.run / "dns" / "control.sock") as address:
            sock.connect(address)
        sock.sendall(b"reload\n")
        return sock.recv(16)
    except OSError:
        return None
    finally:
        sock.close()


def refresh(paths: Paths) -> None:
    """Tell a running server (if any) that records changed."""
    _notify(paths)


def _spawn(paths: Paths) -> None:
    """Start a server unless one is running or starting (under the DNS lock)."""
    directory = paths.run / "dns"
    marker = directory / "starting"
    try:
        if time.time() - marker.stat().st_mtime < STARTUP_LIMIT:
            return  # another command started one a moment ago
    except FileNotFoundError:
        pass
    marker.touch()
    log = os.fdopen(open_private(directory / "server.log"), "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtime.network.dnsserver", str(paths.root), str(paths.run)],
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
        start_new_session=True)
    log.close()
    # the server itself runs on in a detached grandchild; the child forks it once it has
    # loaded (~100 ms), meanwhile this command goes on (dns.sync waits where it matters)
    threading.Thread(target=proc.wait, daemon=True).start()


def start(paths: Paths) -> None:
    """Have a server start, without waiting for it (a network was just created)."""
    directory = paths.run / "dns"
    make_dir(directory, 0o700)
    with locked(directory / "lock"):
        if _notify(paths) is None:
            _spawn(paths)


def sync(paths: Paths) -> None:
    """Make the DNS server serve the current records, starting it if needed; returns
    once it does."""
    directory = paths.run / "dns"
    make_dir(directory, 0o700)
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if _notify(paths) == b"ok\n":
            return
        with locked(directory / "lock"):
            if _notify(paths) == b"ok\n":
                return
            _spawn(paths)
        time.sleep(0.005)
    raise DnsError(f"the DNS server did not start; see {directory / 'server.log'}")
