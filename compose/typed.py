"""Build the typed model (compose.model) from a normalized canonical tree.

Durations and sizes are parsed here; a bad one is a ComposeError naming its path.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from common import cgrouprules

from .errors import ComposeError
from .model import (Blkio, Build, Dependency, Device, DeviceRequest, FileGrant, FileObject,
                    Healthcheck, Hook,
                    IpamConfig, Logging, Mount, Network, Port, Project, Resources, Service,
                    ServiceNetwork, Ulimit, Volume, WatchRule)
from common.units import parse_bytes, parse_duration


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "yes", "y", "on", "1")
    return bool(value)


def _convert(fn: Callable[[Any], Any], value: Any, path: tuple) -> Any:
    if value is None:
        return None
    try:
        return fn(value)
    except (ValueError, TypeError) as err:
        raise ComposeError(str(err), path=path) from None


def _duration(value: Any, path: tuple) -> float | None:
    return _convert(parse_duration, value, path)


def _bytes(value: Any, path: tuple) -> int | None:
    return _convert(parse_bytes, value, path)


def _int(value: Any, path: tuple) -> int | None:
    return _convert(lambda v: int(float(v)), value, path)


def _float(value: Any, path: tuple) -> float | None:
    return _convert(float, value, path)


def _mode(value: Any, path: tuple) -> int | None:
    """File modes are octal when written as strings ("0440"), numbers otherwise."""
    if isinstance(value, str):
        return _convert(lambda v: int(v, 8), value, path)
    return _int(value, path)


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


def _cgroup_rules(value: Any, path: tuple) -> tuple[str, ...]:
    rules = _strs(value)
    for index, rule in enumerate(rules):
        if not cgrouprules.valid(rule):
            raise ComposeError(f"{rule!r}: {cgrouprules.EXPECTED}", path=path + (index,))
    return rules


def port(entry: dict, path: tuple = ()) -> Port:
    return Port(target=int(entry["target"]), published=entry.get("published"),
                host_ip=entry.get("host_ip"), protocol=entry.get("protocol", "tcp"),
                mode=entry.get("mode", "ingress"), name=entry.get("name"),
                app_protocol=entry.get("app_protocol"))


def mount(entry: dict, path: tuple = ()) -> Mount:
    bind = entry.get("bind") or {}
    volume = entry.get("volume") or {}
    tmpfs = entry.get("tmpfs") or {}
    kind = entry["type"]
    if not entry.get("target"):
        raise ComposeError("a mount needs a target path", path=path)
    if kind in ("bind", "image") and not entry.get("source"):
        raise ComposeError(f"a{'n' if kind == 'image' else ''} {kind} mount needs a source "
                           f"{'image' if kind == 'image' else 'path'}", path=path)
    section = "image" if kind == "image" else "volume"
    subpath = (entry.get(section) or {}).get("subpath")
    if subpath is not None and (str(subpath).startswith("/") or ".." in str(subpath).split("/")):
        raise ComposeError(f"subpath {subpath!r} must be a relative path inside the {section} "
                           "(no leading '/', no '..')", path=path + (section, "subpath"))
    if kind == "image" and entry.get("read_only") is not None and \
            not _bool(entry["read_only"]):
        raise ComposeError("an image mount is always read-only", path=path + ("read_only",))
    return Mount(type=kind, target=entry["target"], source=entry.get("source"),
                 read_only=kind == "image" or _bool(entry.get("read_only", False)),
                 create_host_path=_bool(bind.get("create_host_path", True)),
                 propagation=bind.get("propagation"), selinux=bind.get("selinux"),
                 nocopy=_bool(volume.get("nocopy", False)), subpath=subpath,
                 tmpfs_size=_bytes(tmpfs.get("size"), path + ("tmpfs", "size")),
                 tmpfs_mode=_mode(tmpfs.get("mode"), path + ("tmpfs", "mode")))


def _healthcheck(entry: dict | None, path: tuple) -> Healthcheck | None:
    if entry is None:
        return None
    test = entry.get("test")
    return Healthcheck(
        test=tuple(test) if test is not None else None,
        interval=_duration(entry.get("interval"), path + ("interval",)),
        timeout=_duration(entry.get("timeout"), path + ("timeout",)),
        retries=_int(entry.get("retries"), path + ("retries",)),
        start_period=_duration(entry.get("start_period"), path + ("start_period",)),
        start_interval=_duration(entry.get("start_interval"), path + ("start_interval",)),
        disable=_bool(entry.get("disable", False)))


def _build(entry: dict | None, path: tuple) -> Build | None:
    if entry is None:
        return None
    return Build(context=entry.get("context", "."), dockerfile=entry.get("dockerfile", "Dockerfile"),
                 dockerfile_inline=entry.get("dockerfile_inline"),
                 args=dict(entry.get("args", {})), target=entry.get("target"),
                 tags=_strs(entry.get("tags")), labels=dict(entry.get("labels", {})),
                 network=entry.get("network"), no_cache=_bool(entry.get("no_cache", False)),
                 pull=_bool(entry.get("pull", False)),
                 additional_contexts=dict(entry.get("additional_contexts", {})),
                 platforms=_strs(entry.get("platforms")),
                 secrets=_grants(entry.get("secrets"), "/run/secrets", path + ("secrets",)),
                 ssh={k: (None if v in (None, "") else str(v))
                      for k, v in (entry.get("ssh") or {}).items()},
                 extra_hosts={h: tuple(ips) for h, ips in (entry.get("extra_hosts") or {}).items()},
                 shm_size=_bytes(entry.get("shm_size"), path + ("shm_size",)),
                 ulimits={k: Ulimit(soft=int(v["soft"]), hard=int(v["hard"]))
                          for k, v in (entry.get("ulimits") or {}).items()},
                 privileged=_bool(entry.get("privileged", False)),
                 entitlements=_strs(entry.get("entitlements")),
                 cache_from=_strs(entry.get("cache_from")), cache_to=_strs(entry.get("cache_to")))


def _logging(entry: dict, path: tuple) -> Logging:
    """json-file and local (docker's defaults for local: 20m, 5 files) rotate as docker
    does; other drivers keep berth's JSON log, unbounded."""
    driver = entry.get("driver") or "json-file"
    options = entry.get("options") or {}
    default_size, default_files = ("20m", "5") if driver == "local" else (None, "1")
    size = _bytes(options.get("max-size", default_size), path + ("options", "max-size"))
    files = options.get("max-file", default_files)
    if not str(files).isdigit() or int(files) < 1:
        raise ComposeError(f"invalid max-file {files!r}: expected a number from 1",
                           path=path + ("options", "max-file"))
    return Logging(driver=driver, max_size=size or 0, max_files=int(files))


def _hook(entry: dict, path: tuple) -> Hook:
    return Hook(command=tuple(entry.get("command") or ()), user=entry.get("user"),
                privileged=_bool(entry.get("privileged", False)),
                working_dir=entry.get("working_dir"),
                environment=dict(entry.get("environment", {})), image=entry.get("image"))


def _pre_start(entry: dict, path: tuple) -> Hook:
    """A pre_start hook runs its command in a container of its own: with neither a
    command nor an image of its own it would run the service's own command."""
    if not entry.get("command") and not entry.get("image"):
        raise ComposeError("a pre_start hook needs a 'command' (or an 'image' whose own "
                           "command it runs)", path=path)
    if _bool(entry.get("per_replica", False)):
        raise ComposeError("per_replica is not supported: pre_start hooks run once, before "
                           "the service's first container starts", path=path + ("per_replica",))
    return _hook(entry, path)


_CONDITIONS = {"none": "no", "no": "no", "on-failure": "on-failure", "any": "always",
               "always": "always", "unless-stopped": "unless-stopped"}


def _restart(svc: dict, path: tuple) -> tuple[str, float | None, float | None]:
    """(policy, delay, window): `restart`, or deploy.restart_policy, which wins as in
    docker compose; its condition defaults to `any`, as the compose spec says."""
    policy = (svc.get("deploy") or {}).get("restart_policy")
    if policy is None:
        return svc.get("restart") or "no", None, None
    ppath = path + ("deploy", "restart_policy")
    condition = policy.get("condition") or "any"
    if condition not in _CONDITIONS:
        raise ComposeError(f"invalid condition {condition!r}: use none, on-failure or any",
                           path=ppath + ("condition",))
    name = _CONDITIONS[condition]
    attempts = _int(policy.get("max_attempts"), ppath + ("max_attempts",))
    if attempts is not None and attempts < 0:
        raise ComposeError("max_attempts cannot be negative", path=ppath + ("max_attempts",))
    if attempts and name != "no":
        name = f"{name}:{attempts}"
    return (name, _duration(policy.get("delay"), ppath + ("delay",)),
            _duration(policy.get("window"), ppath + ("window",)))


def _device_requests(svc: dict, path: tuple) -> tuple[DeviceRequest, ...]:
    """`gpus:` (all, or a list) and deploy.resources.reservations.devices."""
    reservations = (((svc.get("deploy") or {}).get("resources") or {})
                    .get("reservations") or {})
    entries = [(entry, path + ("deploy", "resources", "reservations", "devices", i), ())
               for i, entry in enumerate(reservations.get("devices") or ())]
    gpus = svc.get("gpus")
    if gpus == "all":
        entries.append(({"count": "all"}, path + ("gpus",), ("gpu",)))
    else:
        entries += [(entry, path + ("gpus", i), ("gpu",)) for i, entry in enumerate(gpus or ())]
    out = []
    for entry, where, implied in entries:
        capabilities = tuple(str(c) for c in entry.get("capabilities") or implied)
        if not capabilities:
            raise ComposeError("a device reservation needs 'capabilities' (e.g. [gpu])",
                               path=where)
        count = entry.get("count")
        ids = _strs(entry.get("device_ids"))
        if count is not None and ids:
            raise ComposeError("'count' and 'device_ids' cannot be used together",
                               path=where)
        out.append(DeviceRequest(
            capabilities=capabilities, driver=entry.get("driver"), device_ids=ids,
            count=None if count in (None, "all", -1) else _int(count, where + ("count",))))
    return tuple(out)


def _resources(svc: dict, path: tuple) -> Resources:
    limits = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    reservations = ((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
    lpath = path + ("deploy", "resources", "limits")
    memory = _bytes(limits.get("memory"), lpath + ("memory",))
    cpus = _float(limits.get("cpus"), lpath + ("cpus",))
    if cpus is None:
        cpus = _float(svc.get("cpus"), path + ("cpus",))
    quota = _int(svc.get("cpu_quota"), path + ("cpu_quota",))
    if cpus is None and quota and quota > 0:  # docker's older form of cpus
        cpus = quota / (_int(svc.get("cpu_period"), path + ("cpu_period",)) or 100000)
    pids = _int(limits.get("pids"), lpath + ("pids",))
    return Resources(
        memory=memory if memory is not None else _bytes(svc.get("mem_limit"), path + ("mem_limit",)),
        memory_reservation=_bytes(svc.get("mem_reservation", reservations.get("memory")),
                                  path + ("mem_reservation",)),
        memswap=_bytes(svc.get("memswap_limit"), path + ("memswap_limit",)),
        cpus=cpus,
        cpu_shares=_int(svc.get("cpu_shares"), path + ("cpu_shares",)),
        pids=pids if pids is not None else _int(svc.get("pids_limit"), path + ("pids_limit",)),
        shm_size=_bytes(svc.get("shm_size"), path + ("shm_size",)),
        cpuset=str(svc["cpuset"]) if svc.get("cpuset") is not None else None,
        swappiness=_int(svc.get("mem_swappiness"), path + ("mem_swappiness",)),
        blkio=_blkio(svc.get("blkio_config"), path + ("blkio_config",)),
        oom_kill_disable=_bool(svc.get("oom_kill_disable", False)))


def _blkio(entry: dict | None, path: tuple) -> Blkio | None:
    if not entry:
        return None

    def devices(key: str, field: str, size: bool) -> tuple[tuple[str, int], ...]:
        out = []
        for index, item in enumerate(entry.get(key) or ()):
            where = path + (key, index)
            if not item.get("path"):
                raise ComposeError("'path' is required", path=where)
            value = (_bytes if size else _int)(item.get(field), where + (field,))
            if value is None:
                raise ComposeError(f"'{field}' is required", path=where)
            out.append((str(item["path"]), value))
        return tuple(out)

    weight = _int(entry.get("weight"), path + ("weight",))
    if weight is not None and not 10 <= weight <= 1000:
        raise ComposeError(f"weight {weight}: from 10 to 1000", path=path + ("weight",))
    return Blkio(weight=weight, weight_device=devices("weight_device", "weight", False),
                 device_read_bps=devices("device_read_bps", "rate", True),
                 device_write_bps=devices("device_write_bps", "rate", True),
                 device_read_iops=devices("device_read_iops", "rate", False),
                 device_write_iops=devices("device_write_iops", "rate", False))


def _grants(entries: list, default_dir: str | None, path: tuple) -> tuple[FileGrant, ...]:
    out = []
    for index, entry in enumerate(entries or ()):
        source = entry.get("source")
        if not source:
            raise ComposeError("'source' is required", path=path + (index,))
        target = entry.get("target") or source
        if default_dir and not target.startswith("/"):
            target = f"{default_dir}/{target}"
        elif not target.startswith("/"):
            target = "/" + target
        out.append(FileGrant(source=source, target=target, uid=entry.get("uid"),
                             gid=entry.get("gid"),
                             mode=_mode(entry.get("mode"), path + (index, "mode"))))
    return tuple(out)


def _scale(svc: dict, path: tuple) -> int:
    replicas = (svc.get("deploy") or {}).get("replicas")
    scale = svc.get("scale")
    if replicas is not None and scale is not None and int(replicas) != int(scale):
        raise ComposeError(f"'scale' ({scale}) and 'deploy.replicas' ({replicas}) disagree",
                           path=path)
    value = scale if scale is not None else replicas
    return 1 if value is None else _int(value, path + ("scale",))  # type: ignore[return-value]


def service(name: str, svc: dict) -> Service:
    path = ("services", name)
    networks = {
        net: ServiceNetwork(aliases=_strs((opts or {}).get("aliases")),
                            ipv4_address=(opts or {}).get("ipv4_address"),
                            ipv6_address=(opts or {}).get("ipv6_address"),
                            interface_name=(opts or {}).get("interface_name"),
                            mac_address=(opts or {}).get("mac_address"),
                            priority=int((opts or {}).get("priority", 0)),
                            gw_priority=int((opts or {}).get("gw_priority", 0)))
        for net, opts in (svc.get("networks") or {}).items()}
    watch = tuple(
        WatchRule(path=rule["path"], action=rule["action"], target=rule.get("target"),
                  ignore=_strs(rule.get("ignore")), include=_strs(rule.get("include")),
                  initial_sync=_bool(rule.get("initial_sync", False)),
                  exec=_hook(rule["exec"], path) if rule.get("exec") else None)
        for rule in ((svc.get("develop") or {}).get("watch") or ()))
    command = svc.get("command")
    entrypoint = svc.get("entrypoint")
    restart, restart_delay, restart_window = _restart(svc, path)
    return Service(
        name=name, image=svc.get("image"), build=_build(svc.get("build"), path + ("build",)),
        command=tuple(command) if command is not None else None,
        entrypoint=tuple(entrypoint) if entrypoint is not None else None,
        environment=dict(svc.get("environment", {})),
        ports=tuple(port(p, path + ("ports", i)) for i, p in enumerate(svc.get("ports", ()))),
        expose=_strs(svc.get("expose")),
        volumes=tuple(mount(v, path + ("volumes", i)) for i, v in enumerate(svc.get("volumes", ()))),
        tmpfs=_strs(svc.get("tmpfs")), volumes_from=_strs(svc.get("volumes_from")),
        networks=networks, network_mode=svc.get("network_mode"),
        depends_on={dep: Dependency(condition=opts.get("condition", "service_started"),
                                    required=_bool(opts.get("required", True)),
                                    restart=_bool(opts.get("restart", False)))
                    for dep, opts in (svc.get("depends_on") or {}).items()},
        links=_strs(svc.get("links")), external_links=_strs(svc.get("external_links")),
        healthcheck=_healthcheck(svc.get("healthcheck"), path + ("healthcheck",)),
        restart=restart, restart_delay=restart_delay, restart_window=restart_window,
        scale=_scale(svc, path),
        resources=_resources(svc, path), user=_str_or_none(svc.get("user")),
        working_dir=svc.get("working_dir"), hostname=svc.get("hostname"),
        domainname=svc.get("domainname"), labels=dict(svc.get("labels", {})),
        cap_add=_strs(svc.get("cap_add")), cap_drop=_strs(svc.get("cap_drop")),
        privileged=_bool(svc.get("privileged", False)), read_only=_bool(svc.get("read_only", False)),
        init=_bool(svc.get("init", False)), stop_signal=svc.get("stop_signal"),
        stop_grace_period=_duration(svc.get("stop_grace_period"), path + ("stop_grace_period",)),
        ulimits={key: Ulimit(soft=int(v["soft"]), hard=int(v["hard"]))
                 for key, v in (svc.get("ulimits") or {}).items()},
        extra_hosts={host: tuple(ips) for host, ips in (svc.get("extra_hosts") or {}).items()},
        dns=_strs(svc.get("dns")), dns_search=_strs(svc.get("dns_search")),
        dns_opt=_strs(svc.get("dns_opt")), container_name=svc.get("container_name"),
        profiles=_strs(svc.get("profiles")), ipc=svc.get("ipc"), pid=svc.get("pid"),
        uts=svc.get("uts"), oom_score_adj=_int(svc.get("oom_score_adj"), path + ("oom_score_adj",)),
        cgroup=svc.get("cgroup"),
        device_cgroup_rules=_cgroup_rules(svc.get("device_cgroup_rules"),
                                          path + ("device_cgroup_rules",)),
        sysctls=dict(svc.get("sysctls", {})), stdin_open=_bool(svc.get("stdin_open", False)),
        tty=_bool(svc.get("tty", False)), platform=svc.get("platform"),
        pull_policy=svc.get("pull_policy"), pull_refresh_after=svc.get("pull_refresh_after"),
        secrets=_grants(svc.get("secrets"), "/run/secrets", path + ("secrets",)),
        configs=_grants(svc.get("configs"), None, path + ("configs",)),
        security_opt=_strs(svc.get("security_opt")),
        logging=_logging(svc.get("logging") or {}, path + ("logging",)),
        devices=tuple(Device(source=d["source"], target=d.get("target", d["source"]),
                             permissions=d.get("permissions", "rwm"))
                      for d in svc.get("devices", ())),
        device_requests=_device_requests(svc, path),
        group_add=_strs(svc.get("group_add")), attach=_bool(svc.get("attach", True)),
        pre_start=tuple(_pre_start(h, path + ("pre_start", i))
                        for i, h in enumerate(svc.get("pre_start", ()))),
        post_start=tuple(_hook(h, path) for h in svc.get("post_start", ())),
        pre_stop=tuple(_hook(h, path) for h in svc.get("pre_stop", ())),
        watch=watch)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _network(key: str, entry: dict) -> Network:
    ipam = (entry.get("ipam") or {}).get("config") or ()
    return Network(name=entry["name"], driver=entry.get("driver") or "bridge",
                   driver_opts={k: str(v) for k, v in (entry.get("driver_opts") or {}).items()},
                   ipam=tuple(IpamConfig(subnet=c.get("subnet"), ip_range=c.get("ip_range"),
                                         gateway=c.get("gateway")) for c in ipam),
                   external=_bool(entry.get("external", False)),
                   internal=_bool(entry.get("internal", False)),
                   enable_ipv6=_bool(entry.get("enable_ipv6", False)),
                   attachable=_bool(entry.get("attachable", False)),
                   labels=dict(entry.get("labels", {})))


def _volume(key: str, entry: dict) -> Volume:
    return Volume(name=entry["name"], driver=entry.get("driver") or "local",
                  driver_opts={k: str(v) for k, v in (entry.get("driver_opts") or {}).items()},
                  external=_bool(entry.get("external", False)), labels=dict(entry.get("labels", {})))


def _file_object(key: str, entry: dict) -> FileObject:
    return FileObject(name=entry["name"], file=entry.get("file"),
                      environment=entry.get("environment"), content=entry.get("content"),
                      external=_bool(entry.get("external", False)))


def project(tree: dict, *, working_dir: str, compose_files: tuple[str, ...],
            environment: Mapping[str, str], disabled: Mapping[str, dict],
            profiles: tuple[str, ...]) -> Project:
    return Project(
        name=tree["name"], working_dir=working_dir, compose_files=compose_files,
        services={name: service(name, svc) for name, svc in tree.get("services", {}).items()},
        networks={k: _network(k, v) for k, v in (tree.get("networks") or {}).items()},
        volumes={k: _volume(k, v) for k, v in (tree.get("volumes") or {}).items()},
        secrets={k: _file_object(k, v) for k, v in (tree.get("secrets") or {}).items()},
        configs={k: _file_object(k, v) for k, v in (tree.get("configs") or {}).items()},
        disabled={name: service(name, svc) for name, svc in disabled.items()},
        profiles=profiles, environment=dict(environment), tree=tree)
