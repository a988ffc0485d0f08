"""What berth records about networks, on disk.

    BERTH_ROOT/networks/<name>.json   a network: subnet, gateway, bridge, options
    RUN/endpoints/<container id>.json a running container's attachments and ports

Addresses in use, DNS records and firewall rules are all derived from these files,
so there is one truth and nothing to keep in step. An endpoint file exists exactly
while the container's network namespace does.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..fsutil import read_json, write_json
from ..paths import Paths


@dataclass
class Network:
    name: str
    id: str
    subnet: str
    gateway: str
    bridge: str
    ip_range: str | None = None
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    driver: str = "bridge"

    @property
    def prefix(self) -> int:
        return int(self.subnet.split("/")[1])

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Attachment:
    network: str
    ip: str
    prefix: int
    gateway: str
    interface: str  # inside the container: eth0, eth1, ...
    host_veth: str
    aliases: list[str] = field(default_factory=list)
    internal: bool = False
    mac: str = ""  # asked for; else derived from the address (ioctl.mac_for)


@dataclass
class Published:
    protocol: str
    host_ip: str  # "" for every host address
    host_port: int
    container_ip: str
    container_port: int


@dataclass
class Endpoints:
    """A running container's view of the network."""

    container: str
    name: str
    attachments: list[Attachment] = field(default_factory=list)
    ports: list[Published] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)  # upstream servers of its own (compose `dns`)
    links: list[list[str]] = field(default_factory=list)  # [container name, alias]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Endpoints":
        data = dict(data)
        data["attachments"] = [Attachment(**a) for a in data.get("attachments", [])]
        data["ports"] = [Published(**p) for p in data.get("ports", [])]
        return cls(**data)


class Records:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.networks_dir = paths.networks
        self.endpoints_dir = paths.run / "endpoints"
        self.networks_dir.mkdir(parents=True, exist_ok=True)
        self.endpoints_dir.mkdir(parents=True, exist_ok=True)

    # networks
    def network_path(self, name: str) -> Path:
        return self.networks_dir / f"{name}.json"

    def network(self, name: str) -> Network | None:
        data = read_json(self.network_path(name)) if "/" not in name else None
        return Network(**data) if data else None

    def networks(self) -> list[Network]:
        return [Network(**data) for data in _read_all(self.networks_dir)]

    def save_network(self, network: Network) -> None:
        write_json(self.network_path(network.name), network.to_dict())

    def delete_network(self, name: str) -> None:
        self.network_path(name).unlink(missing_ok=True)

    # endpoints
    def endpoints_path(self, cid: str) -> Path:
        return self.endpoints_dir / f"{cid}.json"

    def endpoints(self, cid: str) -> Endpoints | None:
        data = read_json(self.endpoints_path(cid))
        return Endpoints.from_dict(data) if data else None

    def all_endpoints(self) -> list[Endpoints]:
        return [Endpoints.from_dict(data) for data in _read_all(self.endpoints_dir)]

    def save_endpoints(self, endpoints: Endpoints) -> None:
        write_json(self.endpoints_path(endpoints.container), endpoints.to_dict())

    def delete_endpoints(self, cid: str) -> None:
        self.endpoints_path(cid).unlink(missing_ok=True)

    def used_addresses(self, network: str) -> set[str]:
        return {a.ip for e in self.all_endpoints() for a in e.attachments if a.network == network}


def _read_all(directory: Path) -> list[dict]:
    """The JSON records in `directory`, by file name (ones removed meanwhile left out)."""
    records = (read_json(entry) for entry in sorted(directory.glob("*.json")))
    return [data for data in records if data]
