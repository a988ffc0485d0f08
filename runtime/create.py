"""Combine an image's config with run options into a ContainerSpec, as docker does.

Entrypoint and command: `--entrypoint` replaces the image's entrypoint and drops its
CMD; a command replaces CMD. Environment: the image's, then the options' by key.
Working dir, user, stop signal and healthcheck fall back to the image's.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import BerthError
from .images.store import Image
from .spec import ContainerSpec, Healthcheck, Mount, NetworkConfig, Resources

_NS = 1e9
DEFAULT_PIDS_LIMIT = 2048


class SpecError(BerthError, ValueError):
    """Run options that cannot make a container (no command, bad value...)."""


@dataclass
class RunOptions:
    name: str = ""
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[str] = field(default_factory=list)
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    domainname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    read_only: bool = False
    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    group_add: list[str] = field(default_factory=list)
    groups_as: str = "docker"
    cgroupns: str = "host"
    device_cgroup_rules: list[str] = field(default_factory=list)
    ulimits: dict[str, list[int]] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    restart: str = "no"
    stop_signal: str | None = None
    stop_timeout: float | None = None
    init: bool = False
    tty: bool = False
    open_stdin: bool = False
    auto_remove: bool = False
    healthcheck: Healthcheck | None = None
    no_healthcheck: bool = False
    network: NetworkConfig = field(default_factory=NetworkConfig)
    sysctls: dict[str, str] = field(default_factory=dict)
    shm_size: int | None = None
    ipc: str = "private"
    pid_mode: str = ""
    devices: list[list[str]] = field(default_factory=list)
    seccomp: bool = True
    no_new_privileges: bool = False
    log_max_size: int = 0
    log_max_files: int = 1
    uts: str = ""
    oom_score_adj: int | None = None


def image_healthcheck(config: dict) -> Healthcheck | None:
    raw = config.get("config", {}).get("Healthcheck")
    if not raw or not raw.get("Test") or raw["Test"][0] == "NONE":
        return None
    return Healthcheck(test=list(raw["Test"]),
                       interval=raw.get("Interval", 0) / _NS or 30.0,
                       timeout=raw.get("Timeout", 0) / _NS or 30.0,
                       retries=raw.get("Retries", 0) or 3,
                       start_period=raw.get("StartPeriod", 0) / _NS,
                       start_interval=raw.get("StartInterval", 0) / _NS or 5.0)


def merge_env(base: list[str], overrides: list[str]) -> list[str]:
    """The container's environment as docker orders it: its own variables first, then
    the image's it does not set (KEY alone keeps the image's value)."""
    image: dict[str, str] = {}
    for item in base:
        key, _, value = item.partition("=")
        image[key] = value
    env: dict[str, str] = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        env[key] = value if sep else image.get(key, env.get(key, ""))
    for key, value in image.items():
        env.setdefault(key, value)
    return [f"{k}={v}" for k, v in env.items()]


def build_spec(image: Image, opts: RunOptions, name: str, cid: str) -> ContainerSpec:
    cfg = image.config.get("config") or {}
    entrypoint = opts.entrypoint if opts.entrypoint is not None else list(cfg.get("Entrypoint") or [])
    if opts.command is not None:
        command = opts.command
    elif opts.entrypoint is not None:
        command = []
    else:
        command = list(cfg.get("Cmd") or [])
    args = entrypoint + command
    if not args:
        raise SpecError("no command specified: the image has none and none was given")
    healthcheck = None if opts.no_healthcheck else (opts.healthcheck or image_healthcheck(image.config))
    spec = ContainerSpec(
        name=name, image=image.refs[0] if image.refs else image.id, image_id=image.id,
        args=args, env=merge_env(cfg.get("Env") or [], opts.env),
        working_dir=opts.working_dir or cfg.get("WorkingDir") or "/",
        user=opts.user if opts.user is not None else (cfg.get("User") or ""),
        hostname="" if opts.uts == "host" else (opts.hostname or cid[:12]),
        domainname=opts.domainname,
        labels={**(cfg.get("Labels") or {}), **opts.labels},
        stop_signal=opts.stop_signal or cfg.get("StopSignal") or "SIGTERM",
        stop_timeout=10.0 if opts.stop_timeout is None else opts.stop_timeout,
        healthcheck=healthcheck, entrypoint=list(entrypoint), cmd=list(command))
    for key in ("mounts", "read_only", "privileged", "cap_add", "cap_drop", "group_add", "groups_as", "cgroupns",
                "device_cgroup_rules",
                "ulimits",
                "resources", "restart", "init", "tty", "open_stdin", "auto_remove", "network",
                "sysctls", "ipc", "pid_mode", "devices", "seccomp", "no_new_privileges",
                "log_max_size", "log_max_files", "uts", "oom_score_adj"):
        setattr(spec, key, getattr(opts, key))
    if opts.shm_size:
        spec.shm_size = opts.shm_size
    spec.resources = dataclasses.replace(spec.resources, pids=pids_limit(opts.resources.pids))
    return dataclasses.replace(spec)


def pids_limit(asked: int | None) -> int | None:
    """The pids limit a container gets: DEFAULT_PIDS_LIMIT unless asked otherwise (as
    podman does: one container must not be able to take every pid of the host); 0 or
    less (compose's and docker's -1) is none at all."""
    if asked is None:
        return DEFAULT_PIDS_LIMIT
    return asked if asked > 0 else None


def anonymous_volume_targets(image: Image, mounts: list[Mount]) -> list[str]:
    """The image's VOLUME paths that no explicit mount covers: each gets a new volume."""
    taken = {m.target.rstrip("/") or "/" for m in mounts}
    volumes = (image.config.get("config") or {}).get("Volumes") or {}
    return [path for path in volumes if (path.rstrip("/") or "/") not in taken]
