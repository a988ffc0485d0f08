"""ContainerSpec: everything needed to run one container, as stored in its config.json.

Built once at create time (image config + user options combined as docker does) and
read by the monitor and the container's init. Plain dataclasses that round-trip
through JSON.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Mount:
    type: str  # bind, tmpfs (named volumes are binds of their data directory)
    target: str
    source: str | None = None
    read_only: bool = False
    propagation: str | None = None
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None
    volume: str | None = None  # the named volume this bind comes from
    create_source: bool = False  # create a missing bind source directory, as compose does
    subpath: str | None = None  # bind this directory inside `source` (a volume's subpath)


@dataclass
class Healthcheck:
    test: list[str]  # ["CMD", ...] or ["CMD-SHELL", "..."]
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0
    start_interval: float = 5.0


@dataclass
class Resources:
    memory: int | None = None
    memory_swap: int | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    pids: int | None = None
    memory_reservation: int | None = None  # a soft limit, reclaimed first under pressure
    cpuset: str | None = None  # the CPUs it may run on, e.g. "0-1,3"
    swappiness: int | None = None  # cgroup v1 only
    cpu_quota: int | None = None  # microseconds per cpu_period (docker's --cpu-quota)
    cpu_period: int | None = None  # microseconds (default 100000)
    cpuset_mems: str | None = None  # the memory nodes it may use
    oom_kill_disable: bool = False
    blkio_weight: int | None = None  # 10-1000
    # block I/O, per device ("MAJOR:MINOR", value): weights, bytes and operations per second
    blkio_weight_device: list[tuple[str, int]] = field(default_factory=list)
    device_read_bps: list[tuple[str, int]] = field(default_factory=list)
    device_write_bps: list[tuple[str, int]] = field(default_factory=list)
    device_read_iops: list[tuple[str, int]] = field(default_factory=list)
    device_write_iops: list[tuple[str, int]] = field(default_factory=list)

    def cpu_limit(self) -> tuple[int, int] | None:
        """(quota, period) in microseconds, from --cpus or --cpu-quota/--cpu-period."""
        period = self.cpu_period or 100000
        if self.cpus:
            return int(self.cpus * period), period
        if self.cpu_quota:
            return self.cpu_quota, period
        return None


@dataclass
class Endpoint:
    """A network to join (the address and interface it gets are runtime records)."""

    network: str
    aliases: list[str] = field(default_factory=list)
    static_ip: str | None = None
    mac_address: str | None = None  # else one derived from the address, as docker does


@dataclass
class PortMapping:
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    host_port: int = 0  # 0: pick a free port at start
    host_port_end: int = 0  # a range "8000-8010": any free port in it


@dataclass
class NetworkConfig:
    mode: str = "none"  # none, host, bridge (berth networks), container:<id>
    endpoints: list[Endpoint] = field(default_factory=list)
    ports: list[PortMapping] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    extra_hosts: list[list[str]] = field(default_factory=list)  # [host, ip]
    links: list[list[str]] = field(default_factory=list)  # [container name, alias]


@dataclass
class ContainerSpec:
    name: str
    image: str
    image_id: str
    args: list[str]
    env: list[str] = field(default_factory=list)
    working_dir: str = "/"
    user: str = ""
    hostname: str = ""
    domainname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    read_only: bool = False
    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    group_add: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None  # what made `args` (for commit): the entrypoint
    cmd: list[str] | None = None  # and the command, as the container's config has them
    cgroupns: str = "host"  # or "private": a cgroup namespace of its own
    device_cgroup_rules: list[str] = field(default_factory=list)  # "c 1:3 rwm", allowed too
    groups_as: str = "docker"  # supplementary groups as `docker run` or BuildKit's RUN
    # find them (runtime.users.resolve)
    no_new_privileges: bool = False  # as docker: only when asked (setuid programs work)
    seccomp: bool = True  # docker's default syscall filter (runtime.seccomp); False: unconfined
    log_max_size: int = 0  # rotate container.log at this many bytes (0: never)
    log_max_files: int = 1  # container.log and the rotated container.log.N kept
    ulimits: dict[str, list[int]] = field(default_factory=dict)  # name -> [soft, hard]
    resources: Resources = field(default_factory=Resources)
    restart: str = "no"
    stop_signal: str = "SIGTERM"
    stop_timeout: float = 10.0
    init: bool = False
    tty: bool = False
    open_stdin: bool = False
    auto_remove: bool = False
    healthcheck: Healthcheck | None = None
    network: NetworkConfig = field(default_factory=NetworkConfig)
    sysctls: dict[str, str] = field(default_factory=dict)
    shm_size: int = 64 << 20
    ipc: str = "private"  # private, shareable, host, container:<id>
    pid_mode: str = ""  # "", host, container:<id>
    uts: str = ""  # "" (its own hostname) or host
    oom_score_adj: int | None = None
    devices: list[list[str]] = field(default_factory=list)  # [host path, container path, perms]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ContainerSpec":
        data = dict(data)
        data["mounts"] = [Mount(**m) for m in data.get("mounts", [])]
        data["resources"] = Resources(**data.get("resources", {}))
        if data.get("healthcheck"):
            data["healthcheck"] = Healthcheck(**data["healthcheck"])
        net = dict(data.get("network", {}))
        net["endpoints"] = [Endpoint(**e) for e in net.get("endpoints", [])]
        net["ports"] = [PortMapping(**p) for p in net.get("ports", [])]
        data["network"] = NetworkConfig(**net)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
