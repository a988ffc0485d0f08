"""From a compose service to the runtime's run options for one of its containers."""
from __future__ import annotations

import hashlib
import json
import os
from typing import Callable

from runtime.create import RunOptions
from runtime.fsutil import atomic_write, make_dir
from runtime.securityopts import security_options
from runtime.spec import Endpoint, Healthcheck, Mount, NetworkConfig, PortMapping, Resources

from . import backend as labels_
from .errors import ComposeError
from .hooks import hook_labels
from .model import Port, Project, Service

# what changes the container itself; scale, build, dependencies and the like do not
_NOT_HASHED = ("build", "scale", "depends_on", "profiles", "develop", "pull_policy", "attach")


def config_hash(project: Project, service: str, image_id: str) -> str:
    """docker compose's rule: a container is recreated when this changes."""
    tree = dict(project.tree.get("services", {}).get(service, {}))
    for key in _NOT_HASHED:
        tree.pop(key, None)
    if isinstance(tree.get("deploy"), dict):
        tree["deploy"] = {k: v for k, v in tree["deploy"].items() if k != "replicas"}
        if not tree["deploy"]:
            del tree["deploy"]
    raw = json.dumps({"service": tree, "image": image_id}, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def container_name(project: Project, svc: Service, number: int) -> str:
    return svc.container_name or f"{project.name}-{svc.name}-{number}"


def image_ref(project: Project, svc: Service) -> str:
    return svc.image or f"{project.name}-{svc.name}"


def compose_labels(project: Project, svc: Service, number: int, hash_: str, image_id: str,
                   oneoff: bool = False) -> dict[str, str]:
    deps = ",".join(f"{name}:{dep.condition}:{str(dep.restart).lower()}"
                    for name, dep in svc.depends_on.items())
    return {
        labels_.PROJECT: project.name, labels_.SERVICE: svc.name, labels_.NUMBER: str(number),
        labels_.ONEOFF: "True" if oneoff else "False", labels_.CONFIG_HASH: hash_,
        labels_.CONFIG_FILES: ",".join(project.compose_files),
        labels_.WORKING_DIR: project.working_dir, labels_.DEPENDS_ON: deps,
        labels_.IMAGE: image_id, labels_.VERSION: labels_.BERTH_VERSION,
        **hook_labels(svc),
    }


def port_mapping(port: Port) -> PortMapping:
    published = port.published or "0"
    low, _, high = published.partition("-")
    return PortMapping(container_port=port.target, protocol=port.protocol,
                       host_ip=port.host_ip or "", host_port=int(low),
                       host_port_end=int(high) if high else 0)


def _healthcheck(svc: Service) -> tuple[Healthcheck | None, bool]:
    """(healthcheck, disable): None means 'the image's', disable means 'none at all'."""
    hc = svc.healthcheck
    if hc is None:
        return None, False
    if hc.disable or (hc.test and hc.test[0] == "NONE"):
        return None, True
    if not hc.test:
        return None, False  # timings without a test: the image's test (berth uses its timings)
    test = list(hc.test)
    return Healthcheck(test=test, interval=hc.interval or 30.0, timeout=hc.timeout or 30.0,
                       retries=hc.retries if hc.retries is not None else 3,
                       start_period=hc.start_period or 0.0,
                       start_interval=hc.start_interval or 5.0), False


def _files(project: Project, svc: Service, runtime_dir: str) -> list[Mount]:
    """secrets and configs as read-only files."""
    mounts = []
    for kind, grants, known in (("secrets", svc.secrets, project.secrets),
                                ("configs", svc.configs, project.configs)):
        for grant in grants:
            obj = known[grant.source]
            if obj.file:
                source = obj.file
            else:  # under berth's run directory, root's alone; bound read-only
                make_dir(os.path.join(runtime_dir, kind), 0o700)
                source = os.path.join(runtime_dir, kind, grant.source)
                content = obj.content if obj.content is not None else \
                    project.environment.get(obj.environment or "", "")
                atomic_write(source, content, 0o444)
            if not os.path.exists(source):
                raise ComposeError(f"service {svc.name!r}: {kind[:-1]} {grant.source!r} file "
                                   f"{source} does not exist")
            mounts.append(Mount(type="bind", source=source, target=grant.target, read_only=True))
    return mounts


def run_options(project: Project, svc: Service, number: int, name: str, labels: dict[str, str],
                *, volume_path: Callable[[str], str | None],
                anonymous_volume: Callable[[], str],
                container_of: Callable[[str], str], mounts_of: Callable[[str], list[Mount]],
                runtime_dir: str, inherited: dict[str, str] | None = None) -> RunOptions:
    """Everything the runtime needs to create container `name` of service `svc`.

    `inherited` maps target paths to the anonymous volumes of the container this one
    replaces: like compose, the new container mounts them again, so data in an image's
    VOLUME or an unnamed `volumes:` entry survives a recreate."""
    inherited = {target.rstrip("/") or "/": volume for target, volume in (inherited or {}).items()}
    mounts: list[Mount] = []
    for mount in svc.volumes:
        if mount.type == "bind":
            mounts.append(Mount(type="bind", source=mount.source, target=mount.target,
                                read_only=mount.read_only, propagation=mount.propagation,
                                create_source=mount.create_host_path))
        elif mount.type == "volume":
            if mount.source:
                volume = project.volumes[mount.source]
                path = volume_path(volume.name)
                if path is None:
                    raise ComposeError(f"service {svc.name!r}: volume {volume.name} is missing")
                volume_name = volume.name
            else:
                volume_name = inherited.pop(mount.target.rstrip("/") or "/", None) or anonymous_volume()
                path = volume_path(volume_name)
            mounts.append(Mount(type="bind", source=path, target=mount.target,
                                read_only=mount.read_only, subpath=mount.subpath,
                                volume=None if mount.nocopy else volume_name))
        elif mount.type == "tmpfs":
            mounts.append(Mount(type="tmpfs", target=mount.target, tmpfs_size=mount.tmpfs_size,
                                tmpfs_mode=mount.tmpfs_mode, read_only=mount.read_only))
        else:
            raise ComposeError(f"service {svc.name!r}: volume type {mount.type!r} is not supported")
    for target in svc.tmpfs:
        path, _, options = target.partition(":")
        size = next((int(o[5:]) for o in options.split(",") if o.startswith("size=") and
                     o[5:].isdigit()), None)
        mounts.append(Mount(type="tmpfs", target=path, tmpfs_size=size))
    for source in svc.volumes_from:
        ref, _, mode = source.partition(":")
        if ref.startswith("container:"):
            inherited = mounts_of(ref[len("container:"):])
        else:
            inherited = mounts_of(container_of(ref))
        for mount in inherited:
            if mode == "ro":
                mount = Mount(**{**mount.__dict__, "read_only": True})
            mounts.append(mount)
    mounts += _files(project, svc, runtime_dir)
    taken = {m.target.rstrip("/") or "/" for m in mounts}
    for target, volume in inherited.items():  # the image's VOLUMEs
        path = volume_path(volume)
        if target not in taken and path:
            mounts.append(Mount(type="bind", source=path, target=target, volume=volume))

    network = _network(project, svc, container_of)
    healthcheck, no_healthcheck = _healthcheck(svc)
    security = security_options(list(svc.security_opt))  # checked before anything is made
    res = svc.resources
    return RunOptions(
        name=name, command=list(svc.command) if svc.command is not None else None,
        entrypoint=list(svc.entrypoint) if svc.entrypoint is not None else None,
        env=[f"{k}={v}" for k, v in svc.environment.items() if v is not None],
        working_dir=svc.working_dir, user=svc.user, hostname=svc.hostname,
        domainname=svc.domainname or "", labels={**{k: v or "" for k, v in svc.labels.items()},
                                                  **labels},
        mounts=mounts, read_only=svc.read_only, privileged=svc.privileged,
        cap_add=list(svc.cap_add), cap_drop=list(svc.cap_drop), group_add=list(svc.group_add),
        ulimits={k: [u.soft, u.hard] for k, u in svc.ulimits.items()},
        resources=Resources(memory=res.memory, memory_swap=res.memswap, cpus=res.cpus,
                            cpu_shares=res.cpu_shares, pids=res.pids,
                            memory_reservation=res.memory_reservation, cpuset=res.cpuset,
                            swappiness=res.swappiness),
        restart=svc.restart, stop_signal=svc.stop_signal, stop_timeout=svc.stop_grace_period,
        init=svc.init, tty=svc.tty, open_stdin=svc.stdin_open, healthcheck=healthcheck,
        no_healthcheck=no_healthcheck, network=network,
        sysctls={k: v or "" for k, v in svc.sysctls.items()}, shm_size=res.shm_size,
        ipc=_namespace_mode(svc.ipc, container_of) or "private",
        pid_mode=_namespace_mode(svc.pid, container_of) or "",
        devices=[[d.source, d.target, d.permissions] for d in svc.devices],
        log_max_size=svc.logging.max_size, log_max_files=svc.logging.max_files,
        uts=svc.uts or "", oom_score_adj=svc.oom_score_adj, **security)


def _namespace_mode(value: str | None, container_of: Callable[[str], str]) -> str | None:
    if value and value.startswith("service:"):
        return "container:" + container_of(value[len("service:"):])
    return value


def _network(project: Project, svc: Service, container_of: Callable[[str], str]) -> NetworkConfig:
    extra_hosts = [[host, ip] for host, ips in svc.extra_hosts.items() for ip in ips]
    common = dict(dns=list(svc.dns), dns_search=list(svc.dns_search), dns_options=list(svc.dns_opt),
                  extra_hosts=extra_hosts)
    mode = svc.network_mode
    if mode in ("host", "none"):
        return NetworkConfig(mode=mode, **common)
    if mode and mode.startswith("service:"):
        return NetworkConfig(mode="container:" + container_of(mode[len("service:"):]), **common)
    if mode and mode.startswith("container:"):
        return NetworkConfig(mode=mode, **common)
    if mode and mode != "bridge":
        raise ComposeError(f"service {svc.name!r}: network_mode {mode!r} is not supported")
    ordered = sorted(svc.networks.items(), key=lambda item: -(item[1].gw_priority or item[1].priority))
    endpoints = [Endpoint(network=project.networks[key].name,
                          aliases=[svc.name] + [a for a in opts.aliases if a != svc.name],
                          static_ip=opts.ipv4_address) for key, opts in ordered]
    links = []
    for link in svc.links + svc.external_links:  # an alias, on networks shared with the target
        target, _, alias = link.partition(":")
        links.append([target, alias or target])
    return NetworkConfig(mode="bridge", endpoints=endpoints, ports=[port_mapping(p) for p in svc.ports],
                         links=links, **common)
