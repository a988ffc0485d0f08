"""Pure decisions: the project as written + what exists -> a plan. No side effects.

A container is kept when its config hash matches, recreated when it differs (or when
asked), created when a replica number is missing, removed when scaled away. A service
that shares another's namespaces or volumes is recreated with it, because it is tied
to that container; `depends_on: {restart: true}` dependents are restarted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .backend import ContainerInfo
from .convert import config_hash, container_name
from .model import Project


@dataclass
class Action:
    kind: str  # create, recreate, start, keep, restart, remove
    service: str
    number: int
    name: str
    existing: ContainerInfo | None = None

    def render(self) -> str:
        return f"{self.kind} container {self.name}"


@dataclass
class UpPlan:
    networks: list[str] = field(default_factory=list)  # keys of project networks to create
    volumes: list[str] = field(default_factory=list)  # keys of project volumes to create
    levels: list[list[str]] = field(default_factory=list)  # services, in start order
    actions: dict[str, list[Action]] = field(default_factory=dict)
    orphans: list[ContainerInfo] = field(default_factory=list)
    remove_orphans: bool = False

    def render(self) -> str:
        lines = [f"create network {n}" for n in self.networks]
        lines += [f"create volume {v}" for v in self.volumes]
        for level in self.levels:
            for service in level:
                lines += [a.render() for a in self.actions.get(service, []) if a.kind != "keep"]
        if self.remove_orphans:
            lines += [f"remove orphan {c.name}" for c in self.orphans]
        return "\n".join(lines) + ("\n" if lines else "")


@dataclass
class UpOptions:
    services: tuple[str, ...] = ()  # the services to bring up (with their dependencies)
    force_recreate: bool = False
    no_recreate: bool = False
    scale: dict[str, int] = field(default_factory=dict)
    remove_orphans: bool = False


_TIED = ("network_mode", "ipc", "pid")


def _tied_to(project: Project, service: str) -> set[str]:
    """Services whose containers hold a reference to `service`'s containers."""
    out = set()
    for svc in project.services.values():
        refs = {getattr(svc, key)[len("service:"):] for key in _TIED
                if (getattr(svc, key) or "").startswith("service:")}
        refs |= {v.split(":")[0] for v in svc.volumes_from if not v.startswith("container:")}
        if service in refs:
            out.add(svc.name)
    return out


def plan_up(project: Project, observed: list[ContainerInfo], existing_networks: set[str],
            existing_volumes: set[str], image_ids: dict[str, str], levels: list[list[str]],
            options: UpOptions) -> UpPlan:
    """What `up` must do. `levels` are the selected services in start order."""
    plan = UpPlan(levels=levels, remove_orphans=options.remove_orphans)
    selected = {s for level in levels for s in level}
    used_networks = {key for name in selected for key in project.services[name].networks}
    plan.networks = [key for key, net in project.networks.items()
                     if not net.external and key in used_networks and net.name not in existing_networks]
    used_volumes = {m.source for name in selected for m in project.services[name].volumes
                    if m.type == "volume" and m.source}
    plan.volumes = [key for key, vol in project.volumes.items()
                    if not vol.external and key in used_volumes and vol.name not in existing_volumes]
    by_service: dict[str, list[ContainerInfo]] = {}
    for info in observed:
        if not info.oneoff:
            by_service.setdefault(info.service, []).append(info)
    plan.orphans = [c for name, cs in by_service.items()
                    if name not in project.services and name not in project.disabled for c in cs]
    recreated: set[str] = set()
    for level in levels:
        for name in level:
            svc = project.services[name]
            wanted = options.scale.get(name, svc.scale)
            expected = config_hash(project, name, image_ids.get(name, ""))
            current = sorted(by_service.get(name, []), key=lambda c: c.number)
            tied = any(name in _tied_to(project, other) for other in recreated)
            actions = []
            for info in current[wanted:] if wanted < len(current) else []:
                actions.append(Action("remove", name, info.number, info.name, info))
            for info in current[:wanted]:
                stale = info.config_hash != expected or tied
                if options.no_recreate:
                    stale = False
                if options.force_recreate or stale:
                    actions.append(Action("recreate", name, info.number, info.name, info))
                    recreated.add(name)
                elif info.status in ("running", "restarting", "paused"):
                    actions.append(Action("keep", name, info.number, info.name, info))
                else:
                    actions.append(Action("start", name, info.number, info.name, info))
            taken = {c.number for c in current[:wanted]}
            number = 1
            while len(taken) < wanted:
                if number not in taken:
                    taken.add(number)
                    actions.append(Action("create", name, number,
                                          container_name(project, svc, number)))
                number += 1
            if any(dep in recreated and d.restart for dep, d in svc.depends_on.items()):
                actions = [Action("restart", a.service, a.number, a.name, a.existing)
                           if a.kind == "keep" else a for a in actions]
            plan.actions[name] = actions
    return plan
