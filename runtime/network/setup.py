"""A container's network at start: namespace, attachments, ports, and /etc files.

Run by the container's monitor just before it launches the container, so the work of
many containers starting together runs in parallel processes."""
from __future__ import annotations

import os
import socket
from pathlib import Path

from .. import netns
from ..fsutil import atomic_write, read_text
from ..paths import Paths
from ..spec import ContainerSpec


def prepare(paths: Paths, cid: str, spec: ContainerSpec) -> list[socket.socket]:
    """Everything the container's network needs; returns the sockets that hold its
    published ports (keep them open while the container runs)."""
    cdir = paths.container(cid)
    mode = spec.network.mode
    if mode in ("none", "bridge"):
        path = str(paths.netns / cid)
        if not netns.exists(path):
            netns.create(path)
    if mode == "bridge":
        from .api import Networks

        endpoints, sockets = Networks(paths).attach(
            cid, spec.name, [(e.network, e.aliases, e.static_ip, e.mac_address)
                                  for e in spec.network.endpoints],
            spec.network.ports, spec.network.dns, spec.network.links)
        attachments = endpoints.attachments
        first = attachments[0] if attachments else None
        # berth's DNS on the network with a way out, if any: an internal one forwards nothing
        resolver = next((a for a in attachments if not a.internal), first)
        write_etc_files(cdir, spec, first.ip if first else None,
                        [resolver.gateway] if resolver else [])
        return sockets
    if mode.startswith("container:"):
        other = paths.container(mode[len("container:"):])
        for name in ("hosts", "hostname", "resolv.conf"):
            if (other / name).exists():
                atomic_write(cdir / name, (other / name).read_bytes(), 0o644)
        return []
    write_etc_files(cdir, spec, None, [])
    return []


DEFAULT_HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                 "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                 "ff02::2\tip6-allrouters\n")


def write_etc_files(cdir: Path, spec: ContainerSpec, address: str | None,
                    nameservers: list[str]) -> None:
    """hostname, hosts and resolv.conf, bind-mounted into the container at start."""
    if spec.network.mode == "host":
        hostname = os.uname().nodename
        hosts = read_text("/etc/hosts")
        resolv = read_text("/etc/resolv.conf")
    else:
        hostname = spec.hostname
        names = hostname + (f".{spec.domainname} {hostname}" if spec.domainname else "")
        hosts = DEFAULT_HOSTS + "".join(f"{ip}\t{host}\n" for host, ip in spec.network.extra_hosts)
        if address:  # as docker: without an address (network none), no line of its own
            hosts += f"{address}\t{names}\n"
        resolv = resolv_conf(spec, nameservers)
    if spec.network.mode == "host":
        hosts += "".join(f"{ip}\t{host}\n" for host, ip in spec.network.extra_hosts)
    for name, text in (("hostname", hostname + "\n"), ("hosts", hosts), ("resolv.conf", resolv)):
        atomic_write(cdir / name, text, 0o644)  # bound into the container: its users read them


def resolv_conf(spec: ContainerSpec, nameservers: list[str] | None = None) -> str:
    """berth's DNS server on its network when it has one (which forwards to the
    container's `dns` servers), else those, else the host's non-loopback servers.
    Search domains are the container's own only."""
    host = read_text("/etc/resolv.conf").splitlines()
    servers = nameservers or spec.network.dns or [
        line.split()[1] for line in host if line.startswith("nameserver") and len(line.split()) > 1
        and not line.split()[1].startswith(("127.", "::1"))]
    lines = [f"nameserver {s}" for s in servers]
    if spec.network.dns_search:
        lines.append("search " + " ".join(spec.network.dns_search))
    if spec.network.dns_options:
        lines.append("options " + " ".join(spec.network.dns_options))
    return "\n".join(lines) + "\n"
