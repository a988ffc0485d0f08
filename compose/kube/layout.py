"""The project-wide decisions a conversion makes before it builds any object: each
service's name, workload kind and listening ports, which services others wait on, and
which volumes several pods share."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ComposeError
from ..model import Project, Service
from . import names

DEPLOYMENT, STATEFULSET, DAEMONSET, JOB = "Deployment", "StatefulSet", "DaemonSet", "Job"
MAX_PORTS = 100  # ports a range (expose: 1000-9000) may open on one Service
MANY = 2  # the pods of a DaemonSet, for counting who shares a volume

Port = tuple[int, str]  # (port, protocol: TCP, UDP or SCTP)


@dataclass(frozen=True)
class Layout:
    names: Mapping[str, str]  # service -> its workload's and Service's name
    kinds: Mapping[str, str]  # service -> Deployment, StatefulSet, DaemonSet or Job
    listens: Mapping[str, tuple[Port, ...]]  # service -> the ports its Service opens
    completed: frozenset[str]  # services a dependent waits to complete successfully
    headless: frozenset[str]  # services whose Service is headless (answers pod addresses)
    shared: frozenset[str]  # named volumes mounted by more than one pod (ReadWriteMany)
    clipped: Mapping[str, int]  # service -> ports left out of a too large range


def restart_policy(written: Mapping[str, Any]) -> str | None:
    """The restart policy the files wrote (`restart`, else deploy.restart_policy as a
    compose restart value), or None when they wrote none."""
    if written.get("restart"):
        return str(written["restart"])
    condition = ((written.get("deploy") or {}).get("restart_policy") or {}).get("condition")
    return {"none": "no", "on-failure": "on-failure", "any": "always"}.get(condition)


def is_one_shot(written: Mapping[str, Any]) -> bool:
    policy = restart_policy(written)
    return policy is not None and (policy == "no" or policy.startswith("on-failure"))


def named_volumes(project: Project, svc: Service) -> list[str]:
    """The top-level volumes `svc` mounts, in mount order."""
    return [m.source for m in svc.volumes
            if m.type == "volume" and m.source and m.source in project.volumes]


def parse_ports(entry: str) -> list[Port]:
    """"80", "80/udp", "8000-8010/tcp" -> [(80, "TCP")], ..."""
    spec, _, proto = entry.partition("/")
    low, _, high = spec.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise ComposeError(f"invalid port {entry!r}: expected PORT[-PORT][/PROTOCOL]") from None
    return [(port, (proto or "tcp").upper()) for port in range(first, last + 1)]


def _listens(svc: Service, exposed: tuple[str, ...]) -> tuple[list[Port], int]:
    ports: list[Port] = [(p.target, p.protocol.upper()) for p in svc.ports]
    for entry in tuple(svc.expose) + tuple(exposed):
        ports.extend(parse_ports(entry))
    unique = sorted(set(ports))
    return unique[:MAX_PORTS], max(0, len(unique) - MAX_PORTS)


def _kind(project: Project, svc: Service, written: Mapping[str, Any], completed: set[str]) -> str:
    if ((written.get("deploy") or {}).get("mode")) == "global":
        return DAEMONSET
    if is_one_shot(written) or svc.name in completed:
        return JOB
    if svc.scale > 1 and named_volumes(project, svc):
        return STATEFULSET
    return DEPLOYMENT


def _unique_names(project: Project) -> dict[str, str]:
    out: dict[str, str] = {}
    taken: dict[str, str] = {}
    for service in sorted(project.services):
        name = names.service_name(service)
        if name in taken:
            raise ComposeError(f"services {taken[name]!r} and {service!r} both become "
                               f"{name!r} in Kubernetes; rename one")
        taken[name] = service
        out[service] = name
    return out


def layout(project: Project, written: Mapping[str, Mapping[str, Any]],
           exposed: Mapping[str, tuple[str, ...]]) -> Layout:
    services = project.services
    completed = {dep for svc in services.values() for dep, how in svc.depends_on.items()
                 if how.condition == "service_completed_successfully" and dep in services}
    kinds = {name: _kind(project, svc, written[name], completed) for name, svc in services.items()}
    listens, clipped = {}, {}
    for name, svc in services.items():
        ports, left_out = _listens(svc, exposed.get(name, ()))
        listens[name] = tuple(ports)
        if left_out:
            clipped[name] = left_out
    waited_healthy = {dep for svc in services.values() for dep, how in svc.depends_on.items()
                      if how.condition == "service_healthy" and dep in services}
    # a Service without ports must be headless; so is one waited on as healthy without a
    # TCP port to try (its DNS name answers once a pod is ready), and deploy's dnsrr
    headless = {name for name in services if not listens[name] or (
        name in waited_healthy and not any(proto == "TCP" for _, proto in listens[name]))
        or (written[name].get("deploy") or {}).get("endpoint_mode") == "dnsrr"}
    pods: dict[str, int] = {}
    for name, svc in services.items():
        if kinds[name] == STATEFULSET:
            continue  # each replica has its own claim
        count = MANY if kinds[name] == DAEMONSET else svc.scale
        for volume in set(named_volumes(project, svc)):
            pods[volume] = pods.get(volume, 0) + count
    return Layout(names=_unique_names(project), kinds=kinds, listens=listens,
                  completed=frozenset(completed), headless=frozenset(headless),
                  shared=frozenset(v for v, count in pods.items() if count > 1),
                  clipped=clipped)
