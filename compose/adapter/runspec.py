"""From a compose container request to the runtime's run options (part of the adapter:
the one place where compose's model meets the runtime's types)."""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Callable

from runtime.create import RunOptions
from runtime.securityopts import security_options
from runtime.spec import Endpoint, Healthcheck, Mount, NetworkConfig, PortMapping, Resources

from ..backend import ContainerRequest
from ..devices import HostGpus, gpu_devices
from ..errors import ComposeError
from ..model import Port, Project, Service
from .files import file_mounts


@dataclass
class Lookups:
    """What the conversion asks of the runtime: volumes, images' files, and the
    containers a service shares namespaces or volumes with."""

    volume_path: Callable[[str], str]  # a named volume's data directory (made if missing)
    anonymous_volume: Callable[[], str]  # a new anonymous volume's name
    container_of: Callable[[str], str]  # a running container of a service of the project
    mounts_of: Callable[[str], list[Mount]]  # a container's mounts (volumes_from)
    runtime_dir: str  # where a project's secrets and configs are written
    image_root: Callable[[str], str]  # an image's files, read-only (type: image mounts)
    host_gpus: Callable[[], HostGpus]  # the host's GPUs' device nodes


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


def restart_policy(svc: Service) -> str:
    """The runtime's policy string: docker's `NAME[:MAX]`, with deploy.restart_policy's
    `;delay=S` and `;window=S` (runtime.monitor.restart)."""
    timings = [f";{key}={value:g}" for key, value in (("delay", svc.restart_delay),
                                                       ("window", svc.restart_window))
               if value is not None]
    return svc.restart + "".join(timings)


def _blkio(svc: Service) -> dict:
    """blkio_config as the runtime's Resources fields, devices as MAJOR:MINOR."""
    blkio = svc.resources.blkio
    if blkio is None:
        return {}

    def numbers(pairs) -> list[tuple[str, int]]:
        out = []
        for path, value in pairs:
            try:
                st = os.stat(path)
            except OSError as err:
                raise ComposeError(f"service {svc.name!r}: blkio_config device {path}: "
                                   f"{err.strerror}") from None
            if not stat.S_ISBLK(st.st_mode):
                raise ComposeError(f"service {svc.name!r}: blkio_config: {path} is not a "
                                   "block device")
            out.append((f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}", value))
        return out

    return {"blkio_weight": blkio.weight, "blkio_weight_device": numbers(blkio.weight_device),
            "device_read_bps": numbers(blkio.device_read_bps),
            "device_write_bps": numbers(blkio.device_write_bps),
            "device_read_iops": numbers(blkio.device_read_iops),
            "device_write_iops": numbers(blkio.device_write_iops)}


def run_options(project: Project, request: ContainerRequest, lookups: Lookups) -> RunOptions:
    """Everything the runtime needs to create the container `request` describes.

    `request.inherited_volumes` maps target paths to the anonymous volumes of the
    container this one replaces: like compose, the new container mounts them again, so
    data in an image's VOLUME or an unnamed `volumes:` entry survives a recreate."""
    svc = request.service
    inherited = {target.rstrip("/") or "/": volume
                 for target, volume in request.inherited_volumes.items()}
    mounts = _mounts(project, svc, inherited, lookups) + \
        file_mounts(project, svc, request.name, lookups.runtime_dir)
    taken = {m.target.rstrip("/") or "/" for m in mounts}
    for target, volume in inherited.items():  # the image's VOLUMEs
        if target not in taken:
            mounts.append(Mount(type="bind", source=lookups.volume_path(volume), target=target,
                                volume=volume))
    network = _network(project, svc, lookups.container_of)
    for endpoint in network.endpoints if request.oneoff else ():
        endpoint.static_ip = None  # the service's own container holds that address
        if not request.use_aliases:  # a one-off answers to its own name only
            endpoint.aliases = []
    healthcheck, no_healthcheck = _healthcheck(svc)
    security = security_options(list(svc.security_opt))  # checked before anything is made
    res = svc.resources
    return RunOptions(
        name=request.name, command=list(svc.command) if svc.command is not None else None,
        entrypoint=list(svc.entrypoint) if svc.entrypoint is not None else None,
        env=[f"{k}={v}" for k, v in svc.environment.items() if v is not None],
        working_dir=svc.working_dir, user=svc.user, hostname=svc.hostname,
        domainname=svc.domainname or "", labels={**{k: v or "" for k, v in svc.labels.items()},
                                                  **request.labels},
        mounts=mounts, read_only=svc.read_only, privileged=svc.privileged,
        cap_add=list(svc.cap_add), cap_drop=list(svc.cap_drop), group_add=list(svc.group_add),
        ulimits={k: [u.soft, u.hard] for k, u in svc.ulimits.items()},
        resources=Resources(memory=res.memory, memory_swap=res.memswap, cpus=res.cpus,
                            cpu_shares=res.cpu_shares, pids=res.pids,
                            memory_reservation=res.memory_reservation, cpuset=res.cpuset,
                            swappiness=res.swappiness, oom_kill_disable=res.oom_kill_disable,
                            **_blkio(svc)),
        restart=restart_policy(svc), stop_signal=svc.stop_signal, stop_timeout=svc.stop_grace_period,
        init=svc.init, tty=svc.tty if request.tty is None else request.tty,
        open_stdin=svc.stdin_open if request.stdin_open is None else request.stdin_open,
        auto_remove=request.auto_remove, healthcheck=healthcheck,
        no_healthcheck=no_healthcheck, network=network,
        sysctls={k: v or "" for k, v in svc.sysctls.items()}, shm_size=res.shm_size,
        ipc=_namespace_mode(svc.ipc, lookups.container_of) or "private",
        pid_mode=_namespace_mode(svc.pid, lookups.container_of) or "",
        devices=[[d.source, d.target, d.permissions]
                 for d in svc.devices + gpu_devices(svc, lookups.host_gpus())],
        log_max_size=svc.logging.max_size, log_max_files=svc.logging.max_files,
        uts=svc.uts or "", oom_score_adj=svc.oom_score_adj, cgroupns=svc.cgroup or "host",
        device_cgroup_rules=list(svc.device_cgroup_rules), **security)


def _mounts(project: Project, svc: Service, inherited: dict[str, str],
            lookups: Lookups) -> list[Mount]:
    """The service's volumes, tmpfs, volumes_from, secrets and configs (`inherited`
    anonymous volumes used here are taken out of it)."""
    mounts: list[Mount] = []
    for mount in svc.volumes:
        if mount.type == "bind":
            mounts.append(Mount(type="bind", source=mount.source, target=mount.target,
                                read_only=mount.read_only, propagation=mount.propagation,
                                create_source=mount.create_host_path))
        elif mount.type == "volume":
            if mount.source:  # a project's volume, or (run -v) any named volume
                volume = project.volumes.get(mount.source)
                volume_name = volume.name if volume else mount.source
            else:
                volume_name = (inherited.pop(mount.target.rstrip("/") or "/", None)
                               or lookups.anonymous_volume())
            mounts.append(Mount(type="bind", source=lookups.volume_path(volume_name),
                                target=mount.target, read_only=mount.read_only,
                                subpath=mount.subpath,
                                volume=None if mount.nocopy else volume_name))
        elif mount.type == "tmpfs":
            mounts.append(Mount(type="tmpfs", target=mount.target, tmpfs_size=mount.tmpfs_size,
                                tmpfs_mode=mount.tmpfs_mode, read_only=mount.read_only))
        elif mount.type == "image":  # the image's files, read-only
            mounts.append(Mount(type="bind", source=lookups.image_root(mount.source or ""),
                                target=mount.target, read_only=True, subpath=mount.subpath))
        else:
            raise ComposeError(f"service {svc.name!r}: volume type {mount.type!r} is not supported")
    for target in svc.tmpfs:
        path, _, options = target.partition(":")
        size = next((int(o[5:]) for o in options.split(",") if o.startswith("size=") and
                     o[5:].isdigit()), None)
        mounts.append(Mount(type="tmpfs", target=path, tmpfs_size=size))
    for source in svc.volumes_from:
        if source.startswith("container:"):  # container:NAME[:MODE]
            cid, _, mode = source[len("container:"):].partition(":")
        else:  # SERVICE[:MODE]
            ref, _, mode = source.partition(":")
            cid = lookups.container_of(ref)
        for shared in lookups.mounts_of(cid):
            mounts.append(Mount(**{**shared.__dict__, "read_only": True}) if mode == "ro"
                          else shared)
    return mounts


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
