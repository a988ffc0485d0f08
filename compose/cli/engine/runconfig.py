"""From `docker run`'s flags (runflags) to the runtime's RunOptions, as docker reads each
value: volumes, --mount, devices, ports, limits, health checks, environment files."""
from __future__ import annotations

import argparse
import os
import re
import stat

from common import cgrouprules
from common.units import parse_bytes

from .runflags import FlagError

def parse_volume(text: str, api) -> "object":
    """-v SRC:DST[:OPTS] (a host path or a named volume), or DST alone (anonymous)."""
    from runtime.api import Mount

    parts = text.split(":")
    if len(parts) == 1:
        volume = api.volumes.create(labels={"berth.anonymous": "true"})
        return Mount(type="bind", source=str(volume.path), target=parts[0], volume=volume.name)
    if len(parts) > 3 or not parts[1].startswith("/"):
        raise FlagError(f"-v {text}: expected SOURCE:/TARGET[:OPTIONS]")
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 else []
    read_only = "ro" in options
    propagation = next((o for o in options if o in ("private", "rprivate", "shared", "rshared",
                                                    "slave", "rslave")), None)
    if source.startswith(("/", ".", "~")):
        path = os.path.abspath(os.path.expanduser(source))
        return Mount(type="bind", source=path, target=target, read_only=read_only,
                     propagation=propagation, create_source=True)
    volume = api.volumes.create(source, exist_ok=True)
    return Mount(type="bind", source=str(volume.path), target=target, read_only=read_only,
                 volume=volume.name)


def parse_mount(text: str, api) -> "object":
    """--mount type=bind|volume|tmpfs,source=...,target=...[,readonly][,...]."""
    from runtime.api import Mount

    fields: dict[str, str] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        fields[key.strip().lower()] = value if sep else "true"
    kind = fields.pop("type", "volume")
    target = fields.pop("target", None) or fields.pop("destination", None) or \
        fields.pop("dst", None)
    source = fields.pop("source", None) or fields.pop("src", None)
    read_only = fields.pop("readonly", fields.pop("ro", "false")) in ("true", "1", "")
    if not target or not target.startswith("/"):
        raise FlagError(f"--mount {text}: an absolute target is needed")
    if kind == "tmpfs":
        size = fields.pop("tmpfs-size", None)
        mode = fields.pop("tmpfs-mode", None)
        _no_more(fields, text)
        return Mount(type="tmpfs", target=target, tmpfs_size=int(size) if size else None,
                     tmpfs_mode=int(mode, 8) if mode else None)
    if kind == "bind":
        if not source:
            raise FlagError(f"--mount {text}: a bind mount needs a source")
        propagation = fields.pop("bind-propagation", None)
        fields.pop("consistency", None)
        _no_more(fields, text)
        path = os.path.abspath(os.path.expanduser(source))
        if not os.path.exists(path):
            raise FlagError(f"--mount {text}: bind source path does not exist: {path}")
        return Mount(type="bind", source=path, target=target, read_only=read_only,
                     propagation=propagation)
    if kind == "volume":
        subpath = fields.pop("volume-subpath", None)
        fields.pop("volume-nocopy", None)
        for key in [k for k in fields if k.startswith("volume-label")]:
            fields.pop(key)
        _no_more(fields, text)
        volume = api.volumes.create(source, exist_ok=True) if source else \
            api.volumes.create(labels={"berth.anonymous": "true"})
        return Mount(type="bind", source=str(volume.path), target=target, read_only=read_only,
                     volume=volume.name, subpath=subpath)
    raise FlagError(f"--mount {text}: type {kind!r} is not supported (bind, volume or tmpfs)")


def _no_more(fields: dict[str, str], text: str) -> None:
    if fields:
        raise FlagError(f"--mount {text}: unexpected key {sorted(fields)[0]!r}")


def parse_tmpfs(text: str) -> "object":
    from runtime.api import Mount

    target, _, options = text.partition(":")
    size = mode = None
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        try:
            if key == "size":
                size = parse_bytes(value)
            elif key == "mode":
                mode = int(value, 8)
        except ValueError:
            raise FlagError(f"--tmpfs {text}: invalid {key} {value!r}") from None
    return Mount(type="tmpfs", target=target, tmpfs_size=size, tmpfs_mode=mode)


def parse_ulimit(text: str) -> tuple[str, list[int]]:
    name, _, value = text.partition("=")
    soft, _, hard = value.partition(":")
    try:
        return name, [int(soft), int(hard or soft)]
    except ValueError:
        raise FlagError(f"invalid ulimit {text!r}: expected NAME=SOFT[:HARD]") from None


def parse_publish(text: str) -> list:
    """-p in docker's syntax ([IP:][HOST:]CONTAINER[/PROTO], ranges) -> PortMappings."""
    from ...adapter.runspec import port_mapping
    from ...canonical import parse_port
    from ...errors import ComposeError
    from ...typed import port

    try:
        entries = parse_port(text, ())
    except ComposeError as err:
        raise FlagError(f"-p {text}: {err.message}") from None
    return [port_mapping(port(e)) for e in entries]


def _entries(path: str, flag: str) -> list[str]:
    """The lines of an --env-file or --label-file, without blank lines and # comments,
    leading blanks removed."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except OSError as err:
        raise FlagError(f"{flag} {path}: {err.strerror}") from None
    return [line.lstrip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def read_env_files(paths: list[str], environ: dict[str, str]) -> list[str]:
    """--env-file: KEY=VALUE lines as they are (quotes included), KEY alone from this
    environment, as docker reads them."""
    out = []
    for path in paths:
        for line in _entries(path, "--env-file"):
            key, sep, _ = line.partition("=")
            if not sep:
                if key in environ:
                    out.append(f"{key}={environ[key]}")
            elif " " in key or "\t" in key or not key:
                raise FlagError(f"--env-file {path}: variable {key!r} contains whitespaces")
            else:
                out.append(line)
    return out


def environment(args: argparse.Namespace, environ: dict[str, str]) -> list[str]:
    out = read_env_files(args.env_file, environ)
    for item in args.env:
        if "=" in item:
            out.append(item)
        elif item in environ:
            out.append(f"{item}={environ[item]}")
    return out


def labels(args: argparse.Namespace) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in args.label_file:
        for line in _entries(path, "--label-file"):
            key, _, value = line.strip().partition("=")
            out[key] = value
    out.update(dict(item.partition("=")[::2] for item in args.label))
    return out


def device(text: str) -> list[str]:
    """--device HOST[:CONTAINER[:PERMISSIONS]] -> [host, container, permissions]."""
    parts = text.split(":")
    host = parts[0]
    inner = parts[1] if len(parts) > 1 and parts[1].startswith("/") else host
    perms = parts[-1] if len(parts) > 1 and not parts[-1].startswith("/") else "rwm"
    try:
        mode = os.stat(host).st_mode
    except OSError as err:
        raise FlagError(f"--device {text}: {host}: {err.strerror}") from None
    if not (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
        raise FlagError(f"--device {text}: {host} is not a device")
    if not set(perms) <= set("rwm"):
        raise FlagError(f"--device {text}: permissions are r, w and m")
    return [host, inner, perms]


def _block(text: str, flag: str, rate: bool) -> tuple[str, int]:
    """DEVICE:VALUE (a rate like 1mb for bps flags) -> ("MAJOR:MINOR", value)."""
    path, _, value = text.rpartition(":")
    try:
        st = os.stat(path)
    except OSError as err:
        raise FlagError(f"{flag} {text}: {path}: {err.strerror}") from None
    if not stat.S_ISBLK(st.st_mode):
        raise FlagError(f"{flag} {text}: {path} is not a block device")
    try:
        number = parse_bytes(value) if rate else int(value)
    except ValueError:
        raise FlagError(f"{flag} {text}: invalid value {value!r}") from None
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}", number


def resources(args: argparse.Namespace):
    from runtime.api import Resources

    if args.cpus is not None and args.cpus <= 0:
        raise FlagError(f"--cpus {args.cpus}: must be above 0")
    if args.cpus and args.cpu_quota:
        raise FlagError("--cpus and --cpu-quota cannot both be given")
    swap = None
    if args.memory_swap:
        swap = -1 if args.memory_swap == "-1" else _bytes(args.memory_swap, "--memory-swap")
        if swap != -1 and args.memory and swap < args.memory:
            raise FlagError("--memory-swap must be at least --memory")
        if not args.memory:
            raise FlagError("--memory-swap needs --memory")
    if args.blkio_weight is not None and not 10 <= args.blkio_weight <= 1000:
        raise FlagError(f"--blkio-weight {args.blkio_weight}: from 10 to 1000")
    for rule in args.device_cgroup_rule:
        if not cgrouprules.valid(rule):
            raise FlagError(f"--device-cgroup-rule {rule!r}: {cgrouprules.EXPECTED}")
    return Resources(
        memory=args.memory, memory_swap=None if swap == -1 else swap, cpus=args.cpus,
        cpu_shares=args.cpu_shares, pids=args.pids_limit,
        memory_reservation=args.memory_reservation, cpuset=args.cpuset_cpus,
        swappiness=args.memory_swappiness, cpu_quota=args.cpu_quota, cpu_period=args.cpu_period,
        cpuset_mems=args.cpuset_mems, oom_kill_disable=args.oom_kill_disable,
        blkio_weight=args.blkio_weight,
        blkio_weight_device=[_block(t, "--blkio-weight-device", False)
                             for t in args.blkio_weight_device],
        device_read_bps=[_block(t, "--device-read-bps", True) for t in args.device_read_bps],
        device_write_bps=[_block(t, "--device-write-bps", True) for t in args.device_write_bps],
        device_read_iops=[_block(t, "--device-read-iops", False) for t in args.device_read_iops],
        device_write_iops=[_block(t, "--device-write-iops", False)
                           for t in args.device_write_iops])


def _bytes(text: str, flag: str) -> int:
    try:
        return parse_bytes(text)
    except ValueError:
        raise FlagError(f"{flag} {text}: invalid size") from None


def healthcheck(args: argparse.Namespace, image_config: dict):
    """--health-* (a test of its own, or the image's with other timings), or None."""
    from runtime.api import Healthcheck, image_healthcheck

    if args.no_healthcheck:
        if args.health_cmd:
            raise FlagError("--no-healthcheck and --health-cmd cannot both be given")
        return None
    timings = {"interval": args.health_interval, "timeout": args.health_timeout,
               "retries": args.health_retries, "start_period": args.health_start_period,
               "start_interval": args.health_start_interval}
    base = Healthcheck(test=["CMD-SHELL", args.health_cmd]) if args.health_cmd else \
        image_healthcheck(image_config)
    if base is None:
        return None
    for key, value in timings.items():
        if value is not None:
            setattr(base, key, value)
    return base


def log_options(opts: list[str]) -> dict[str, int]:
    """--log-opt max-size=10m --log-opt max-file=3, as docker's json-file takes them."""
    out = {}
    for opt in opts:
        key, _, value = opt.partition("=")
        try:
            if key == "max-size":
                out["log_max_size"] = parse_bytes(value)
            elif key == "max-file" and int(value) >= 1:
                out["log_max_files"] = int(value)
            else:
                raise ValueError
        except ValueError:
            raise FlagError(f"--log-opt {opt!r}: expected max-size=SIZE or max-file=N") from None
    return out


def network(args: argparse.Namespace, image_config: dict):
    """--network (docker's default: the default bridge network, "bridge"), its
    aliases, address and MAC, ports (-p, and -P for every exposed one), DNS, hosts."""
    from runtime.api import Endpoint, NetworkConfig

    mode = args.network or "bridge"
    bridged = not (mode in ("none", "host") or mode.startswith("container:"))
    if not bridged and (args.ip or args.network_alias or args.mac_address):
        raise FlagError(f"--ip, --network-alias and --mac-address need a network, not {mode}")
    if args.mac_address and not re.fullmatch(r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}",
                                             args.mac_address):
        raise FlagError(f"--mac-address {args.mac_address}: expected six hex pairs")
    ports = [p for item in args.publish for p in parse_publish(item)]
    if args.publish_all:
        from runtime.api import PortMapping

        exposed = list((image_config.get("config") or {}).get("ExposedPorts") or {})
        exposed += [e if "/" in e else f"{e}/tcp" for e in args.expose]
        taken = {(p.container_port, p.protocol) for p in ports}
        for item in dict.fromkeys(exposed):
            number, _, proto = item.partition("/")
            if (int(number), proto) not in taken:
                ports.append(PortMapping(container_port=int(number), protocol=proto or "tcp"))
    links = []
    for link in args.link:
        target, _, alias = link.partition(":")
        links.append([target, alias or target])
    from ..buildflags import parse_add_host

    return NetworkConfig(
        mode="bridge" if bridged else mode,
        endpoints=[Endpoint(network=mode, aliases=list(args.network_alias), static_ip=args.ip,
                            mac_address=args.mac_address)] if bridged else [],
        ports=ports if mode != "host" else [], dns=list(args.dns),
        dns_search=list(args.dns_search), dns_options=list(args.dns_option),
        extra_hosts=[list(parse_add_host(h)) for h in args.add_host], links=links)


def run_options(api, args: argparse.Namespace, image, environ: dict[str, str]):
    """Everything `docker run`'s flags ask of the runtime."""
    from runtime.api import RunOptions, security_options

    from .runflags import unsupported

    unsupported(args)
    if args.restart and not re.fullmatch(r"no|always|unless-stopped|on-failure(:\d+)?",
                                         args.restart):
        raise FlagError(f"--restart {args.restart}: no, always, unless-stopped or "
                        "on-failure[:N]")
    if args.cgroupns not in (None, "host", "private"):
        raise FlagError(f"--cgroupns {args.cgroupns}: host or private")
    if args.cgroup_parent:
        raise FlagError("--cgroup-parent: berth's container cgroups are berth-<id> under "
                        "each hierarchy's root")
    if args.annotation:
        raise FlagError("--annotation: berth's containers carry labels, not OCI annotations")
    sysctls = {}
    for item in args.sysctl:
        key, sep, value = item.partition("=")
        if not sep:
            raise FlagError(f"--sysctl {item}: expected NAME=VALUE")
        sysctls[key] = value
    try:
        security = security_options(args.security_opt)
    except ValueError as err:
        raise FlagError(f"--security-opt: {err}") from None
    mounts = [parse_volume(v, api) for v in args.volume]
    mounts += [parse_mount(m, api) for m in args.mount]
    mounts += [parse_tmpfs(t) for t in args.tmpfs]
    for source in args.volumes_from:
        name, _, mode = source.partition(":")
        try:
            inherited = api.get(name).spec.mounts
        except Exception as err:  # noqa: BLE001 - the runtime says what is wrong
            raise FlagError(f"--volumes-from {source}: {err}") from None
        import dataclasses

        mounts += [dataclasses.replace(m, read_only=m.read_only or mode == "ro")
                   for m in inherited if m.type == "bind" and m.volume]
    config = image.config
    health = healthcheck(args, config)
    command = list(args.command) or None
    entrypoint = None if args.entrypoint is None else ([args.entrypoint] if args.entrypoint
                                                       else [])
    return RunOptions(
        name=args.name or "", command=command, entrypoint=entrypoint,
        env=environment(args, environ), working_dir=args.workdir, user=args.user,
        hostname=args.hostname, domainname=args.domainname or "", labels=labels(args),
        mounts=mounts, read_only=args.read_only, privileged=args.privileged,
        cap_add=list(args.cap_add), cap_drop=list(args.cap_drop), group_add=list(args.group_add),
        ulimits=dict(parse_ulimit(u) for u in args.ulimit), resources=resources(args),
        restart=args.restart or "no", stop_signal=args.stop_signal,
        stop_timeout=args.stop_timeout, init=args.init, tty=args.tty,
        open_stdin=args.interactive, auto_remove=getattr(args, "rm", False),
        healthcheck=health, no_healthcheck=args.no_healthcheck, network=network(args, config),
        sysctls=sysctls, shm_size=args.shm_size, ipc=args.ipc or "private",
        pid_mode=args.pid or "", devices=[device(d) for d in args.device],
        uts=args.uts or "", oom_score_adj=args.oom_score_adj, cgroupns=args.cgroupns or "host",
        device_cgroup_rules=list(args.device_cgroup_rule),
        **security, **log_options(args.log_opt))
