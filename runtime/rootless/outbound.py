"""The session's way out: pasta (Debian passt) or slirp4netns gives the rootless network
namespace the host's addresses and routes and carries its traffic through the user's
own sockets. Ports are published by the agent instead (ports.py), so neither forwards
any port."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from .checks import RootlessError

# What arrives from the helper that conntrack cannot place (pasta sends some segments
# with no flags at all) is dropped before the namespace's own stack sees it: that one
# would answer a forwarded container's connection with a reset, as no socket of its own
# has that port (the packet is not translated back to the container's address).
GUARD = """table inet berth_session {
  chain input {
    type filter hook input priority filter - 2; policy accept;
    ct state invalid drop
  }
}
"""

PASTA_ARGS = ["--config-net", "--quiet", "--no-map-gw",
              "-t", "none", "-u", "none", "-T", "none", "-U", "none"]


def guard() -> None:
    """Install GUARD in this process's network namespace (the holder's, as it starts)."""
    proc = subprocess.run(["nft", "-f", "-"], input=GUARD, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RootlessError(f"nft: {proc.stderr.strip()}")


def start(holder: int, pidfile: Path, log: int, which=shutil.which) -> int:
    """Link the holder's network namespace to the outside; returns the helper's pid.
    pasta configures the namespace, then forks into the background (writing its pid);
    slirp4netns stays a child, ready once it writes to its ready fd."""
    pasta = which("pasta")
    userns, netns = f"/proc/{holder}/ns/user", f"/proc/{holder}/ns/net"
    if pasta:
        proc = subprocess.run([pasta, *PASTA_ARGS, "-P", str(pidfile), "--netns", netns,
                               "--userns", userns], stdin=subprocess.DEVNULL, stdout=log,
                              stderr=log)
        if proc.returncode != 0:
            raise RootlessError(f"pasta failed ({proc.returncode}): see {_log_name(log)}")
        return int(pidfile.read_text().strip())
    slirp = which("slirp4netns")
    if not slirp:
        raise RootlessError("neither pasta nor slirp4netns is installed "
                            "(Debian: apt-get install passt)")
    ready_r, ready_w = os.pipe()
    proc = subprocess.Popen([slirp, "--configure", "--mtu=65520", "--disable-host-loopback",
                             f"--ready-fd={ready_w}", f"--userns-path={userns}",
                             "--netns-type=path", netns, "tap0"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            pass_fds=(ready_w,), start_new_session=True)
    os.close(ready_w)
    with os.fdopen(ready_r, "rb") as ready:
        if ready.read(1) != b"1":
            raise RootlessError(f"slirp4netns failed: see {_log_name(log)}")
    return proc.pid


def stop(pid: int) -> None:
    """Stop the helper `pid` (if that pid is still a helper: after a kill -9 of the
    agent, the number may have been reused)."""
    try:
        with open(f"/proc/{pid}/comm") as handle:
            if not handle.read().startswith(("pasta", "passt", "slirp4netns")):
                return
        os.kill(pid, 15)
    except (FileNotFoundError, ProcessLookupError):
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def _log_name(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "the session log"
