"""The typed compose model: what the rest of berth works with once a project is loaded.

Immutable dataclasses built from the canonical tree by `compose.typed`. Durations
are seconds (float), sizes are bytes (int); `None` means "not set, use the default".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True, slots=True)
class Port:
    target: int
    published: str | None = None  # "8080", "8080-8090", or None for a random host port
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"
    name: str | None = None
    app_protocol: str | None = None


@dataclass(frozen=True, slots=True)
class Mount:
    type: str  # bind, volume, tmpfs, image, npipe, cluster
    target: str
    source: str | None = None
    read_only: bool = False
    create_host_path: bool = True
    propagation: str | None = None
    selinux: str | None = None
    nocopy: bool = False
    subpath: str | None = None
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None


@dataclass(frozen=True, slots=True)
class Dependency:
    condition: str = "service_started"
    required: bool = True
    restart: bool = False


@dataclass(frozen=True, slots=True)
class ServiceNetwork:
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    interface_name: str | None = None
    mac_address: str | None = None
    priority: int = 0
    gw_priority: int = 0


@dataclass(frozen=True, slots=True)
class Healthcheck:
    test: tuple[str, ...] | None = None  # ("CMD", ...), ("CMD-SHELL", "..."), ("NONE",)
    interval: float | None = None
    timeout: float | None = None
    retries: int | None = None
    start_period: float | None = None
    start_interval: float | None = None
    disable: bool = False


@dataclass(frozen=True, slots=True)
class Build:
    context: str
    dockerfile: str = "Dockerfile"
    dockerfile_inline: str | None = None
    args: Mapping[str, str | None] = field(default_factory=dict)
    target: str | None = None
    tags: tuple[str, ...] = ()
    labels: Mapping[str, str | None] = field(default_factory=dict)
    network: str | None = None
    no_cache: bool = False
    pull: bool = False
    additional_contexts: Mapping[str, str | None] = field(default_factory=dict)
    platforms: tuple[str, ...] = ()
    secrets: tuple["FileGrant", ...] = ()  # top-level secrets RUN --mount=type=secret reads
    ssh: Mapping[str, str | None] = field(default_factory=dict)  # id -> agent socket (None:
    # $SSH_AUTH_SOCK)
    extra_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    shm_size: int | None = None
    ulimits: Mapping[str, "Ulimit"] = field(default_factory=dict)
    privileged: bool = False
    entitlements: tuple[str, ...] = ()
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Ulimit:
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class Resources:
    memory: int | None = None
    memory_reservation: int | None = None
    memswap: int | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    pids: int | None = None
    shm_size: int | None = None
    cpuset: str | None = None
    swappiness: int | None = None
    blkio: "Blkio | None" = None
    oom_kill_disable: bool = False


@dataclass(frozen=True, slots=True)
class Blkio:
    """blkio_config: a weight, per-device weights, and per-device limits (device path,
    value: bytes or operations per second)."""
    weight: int | None = None
    weight_device: tuple[tuple[str, int], ...] = ()
    device_read_bps: tuple[tuple[str, int], ...] = ()
    device_write_bps: tuple[tuple[str, int], ...] = ()
    device_read_iops: tuple[tuple[str, int], ...] = ()
    device_write_iops: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Logging:
    """berth keeps every container's output as JSON lines (docker's json-file); these
    bound it: rotate at `max_size` bytes, keep `max_files` files (0: unbounded)."""
    driver: str = "json-file"
    max_size: int = 0
    max_files: int = 1


@dataclass(frozen=True, slots=True)
class Hook:
    """A lifecycle hook. post_start and pre_stop run `command` in the service's
    container; a pre_start hook runs in a container of its own, of `image` (the
    service's by default), before the service's containers start."""
    command: tuple[str, ...]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: Mapping[str, str | None] = field(default_factory=dict)
    image: str | None = None  # pre_start only


@dataclass(frozen=True, slots=True)
class WatchRule:
    path: str
    action: str  # sync, rebuild, restart, sync+restart, sync+exec
    target: str | None = None
    ignore: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    initial_sync: bool = False
    exec: Hook | None = None


@dataclass(frozen=True, slots=True)
class FileGrant:
    """A service's use of a top-level secret or config."""

    source: str
    target: str
    uid: str | None = None
    gid: str | None = None
    mode: int | None = None


@dataclass(frozen=True, slots=True)
class Device:
    source: str
    target: str
    permissions: str = "rwm"


@dataclass(frozen=True, slots=True)
class DeviceRequest:
    """`gpus:` or `deploy.resources.reservations.devices`: devices of a kind the host
    must have (count -1: all of them)."""
    capabilities: tuple[str, ...] = ("gpu",)
    driver: str | None = None
    count: int | None = None  # None with no device_ids: all
    device_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    image: str | None = None
    build: Build | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str | None] = field(default_factory=dict)
    ports: tuple[Port, ...] = ()
    expose: tuple[str, ...] = ()
    volumes: tuple[Mount, ...] = ()
    tmpfs: tuple[str, ...] = ()
    volumes_from: tuple[str, ...] = ()
    networks: Mapping[str, ServiceNetwork] = field(default_factory=dict)
    network_mode: str | None = None
    depends_on: Mapping[str, Dependency] = field(default_factory=dict)
    links: tuple[str, ...] = ()
    external_links: tuple[str, ...] = ()  # CONTAINER[:ALIAS], containers outside the project
    healthcheck: Healthcheck | None = None
    restart: str = "no"  # docker's policy: no, always, unless-stopped, on-failure[:N]
    restart_delay: float | None = None  # deploy.restart_policy.delay
    restart_window: float | None = None  # deploy.restart_policy.window
    scale: int = 1
    resources: Resources = field(default_factory=Resources)
    user: str | None = None
    working_dir: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    labels: Mapping[str, str | None] = field(default_factory=dict)
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    init: bool = False
    stop_signal: str | None = None
    stop_grace_period: float | None = None
    ulimits: Mapping[str, Ulimit] = field(default_factory=dict)
    extra_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    container_name: str | None = None
    profiles: tuple[str, ...] = ()
    ipc: str | None = None
    pid: str | None = None
    uts: str | None = None
    oom_score_adj: int | None = None
    cgroup: str | None = None  # host or private: the cgroup namespace
    device_cgroup_rules: tuple[str, ...] = ()  # "c 1:3 mr": device access allowed too
    sysctls: Mapping[str, str | None] = field(default_factory=dict)
    stdin_open: bool = False
    tty: bool = False
    platform: str | None = None
    pull_policy: str | None = None  # as written (compose.pullpolicy reads it)
    pull_refresh_after: str | None = None
    secrets: tuple[FileGrant, ...] = ()
    configs: tuple[FileGrant, ...] = ()
    security_opt: tuple[str, ...] = ()
    logging: Logging = field(default_factory=Logging)
    devices: tuple[Device, ...] = ()
    device_requests: tuple[DeviceRequest, ...] = ()
    group_add: tuple[str, ...] = ()
    attach: bool = True
    pre_start: tuple[Hook, ...] = ()
    post_start: tuple[Hook, ...] = ()
    pre_stop: tuple[Hook, ...] = ()
    watch: tuple[WatchRule, ...] = ()


@dataclass(frozen=True, slots=True)
class IpamConfig:
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None


@dataclass(frozen=True, slots=True)
class Network:
    name: str  # the real name: "<project>_<key>" unless set or external
    driver: str = "bridge"
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    ipam: tuple[IpamConfig, ...] = ()
    external: bool = False
    internal: bool = False
    enable_ipv6: bool = False
    attachable: bool = False
    labels: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Volume:
    name: str
    driver: str = "local"
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    external: bool = False
    labels: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FileObject:
    """A top-level secret or config: where its content comes from."""

    name: str
    file: str | None = None
    environment: str | None = None
    content: str | None = None
    external: bool = False


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    working_dir: str
    compose_files: tuple[str, ...]
    services: Mapping[str, Service]
    networks: Mapping[str, Network] = field(default_factory=dict)
    volumes: Mapping[str, Volume] = field(default_factory=dict)
    secrets: Mapping[str, FileObject] = field(default_factory=dict)
    configs: Mapping[str, FileObject] = field(default_factory=dict)
    disabled: Mapping[str, Service] = field(default_factory=dict)  # off by profile
    profiles: tuple[str, ...] = ()  # every profile named in the files
    environment: Mapping[str, str] = field(default_factory=dict)  # used for interpolation
    tree: Mapping[str, Any] = field(default_factory=dict)  # the canonical tree, for `config`
    levels: tuple[tuple[str, ...], ...] = ()  # all services in start order (compose.graph)
    separator: str = "-"  # in container names; "_" in docker-compose v1's (--compatibility)
