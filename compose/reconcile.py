"""Pure decisions: the project as written + what exists -> a plan. No side effects.

`up`: a container is kept when its config hash matches, recreated when it differs (or when
asked), created when a replica number is missing, removed when scaled away. A service
that shares another's namespaces or volumes is recreated with it, because it is tied to
that container; `depends_on: {restart: true}` dependents are restarted. A recreated
container mounts its predecessor's anonymous volumes again, as compose does.

The other commands: which containers, in which order (dependents stop first and start
last), and what becomes of the project's networks, volumes and images.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .graph import levels_of
from .labels import (ContainerInfo, compose_labels, config_hash, container_name, dependencies_of,
                     image_ref)
from .model import Project
from .observe import Observed
from .plan import Action, Change, ContainersPlan, DownPlan, UpPlan


@dataclass
class UpOptions:
    services: tuple[str, ...] = ()  # the services to bring up (with their dependencies)
    force_recreate: bool = False
    no_recreate: bool = False
    scale: dict[str, int] = field(default_factory=dict)
    remove_orphans: bool = False
    renew_anon_volumes: bool = False  # recreated containers get new anonymous volumes
    named: tuple[str, ...] = ()  # the services named (the others are their dependencies)
    recreate_deps: bool = False  # recreate the dependencies of the services named
    all_resources: bool = False  # create every network and volume, used or not

    def forced(self, service: str) -> bool:
        """Whether `service`'s containers are recreated whatever their config hash."""
        if self.named and service not in self.named:
            return self.recreate_deps
        return self.force_recreate


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


def plan_up(project: Project, observed: Observed, image_ids: dict[str, str],
            levels: list[list[str]], options: UpOptions) -> UpPlan:
    """What `up` must do. `levels` are the selected services in start order."""
    plan = UpPlan(levels=levels, remove_orphans=options.remove_orphans)
    selected = {s for level in levels for s in level}
    used_networks = {key for name in selected for key in project.services[name].networks}
    plan.networks = [key for key, net in project.networks.items()
                     if not net.external and (key in used_networks or options.all_resources)
                     and net.name not in observed.networks]
    used_volumes = {m.source for name in selected for m in project.services[name].volumes
                    if m.type == "volume" and m.source}
    plan.volumes = [key for key, vol in project.volumes.items()
                    if not vol.external and (key in used_volumes or options.all_resources)
                    and vol.name not in observed.volumes]
    by_service: dict[str, list[ContainerInfo]] = {}
    for info in observed.containers:
        if not info.oneoff:
            by_service.setdefault(info.service, []).append(info)
    plan.orphans = [c for name, cs in by_service.items()
                    if name not in project.services and name not in project.disabled for c in cs]
    recreated: set[str] = set()
    for level in levels:
        for name in level:
            plan.actions[name] = _service_actions(project, name, by_service.get(name, []),
                                                  image_ids.get(name, ""), recreated, options)
            if _runs_pre_start(project.services[name].pre_start, plan.actions[name]):
                plan.pre_start[name] = [c for c in observed.containers
                                        if c.hook == "pre_start" and c.service == name]
                plan.hook_counts[name] = len(project.services[name].pre_start)
    return plan


def _runs_pre_start(hooks: tuple, actions: list[Action]) -> bool:
    """pre_start hooks run once for a service, before its containers start, when none
    of them runs already (first `up`, a recreate, a start after a stop), as in docker
    compose: a scale-up next to running replicas does not run them again."""
    if not hooks:
        return False
    kept = any(a.kind in ("keep", "restart") for a in actions)
    return not kept and any(a.kind in ("create", "recreate", "start") for a in actions)


def _service_actions(project: Project, name: str, current: list[ContainerInfo], image_id: str,
                     recreated: set[str], options: UpOptions) -> list[Action]:
    svc = project.services[name]
    wanted = options.scale.get(name, svc.scale)
    labels = lambda number: compose_labels(project, svc, number, image_id)  # noqa: E731
    expected = config_hash(project, name, image_id)
    current = sorted(current, key=lambda c: c.number)
    tied = any(name in _tied_to(project, other) for other in recreated)
    actions = [Action("remove", name, info.number, info.name, info)
               for info in current[wanted:]]
    for info in current[:wanted]:
        stale = (info.config_hash != expected or tied) and not options.no_recreate
        if options.forced(name) or stale:
            inherited = {} if options.renew_anon_volumes else dict(info.anonymous_volumes)
            actions.append(Action("recreate", name, info.number, info.name, info,
                                  labels(info.number), inherited))
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
            actions.append(Action("create", name, number, container_name(project, svc, number),
                                  labels=labels(number)))
        number += 1
    if any(dep in recreated and d.restart for dep, d in svc.depends_on.items()):
        actions = [Action("restart", a.service, a.number, a.name, a.existing)
                   if a.kind == "keep" else a for a in actions]
    return actions


# --- the other commands ------------------------------------------------------------------

def stop_levels(containers: list[ContainerInfo],
                project: Project | None = None) -> list[list[ContainerInfo]]:
    """Containers grouped so that dependents stop before their dependencies: from the
    project when it knows every service, else from the containers' labels (the compose
    file may be gone)."""
    services = {c.service or c.name for c in containers}
    if project is not None and services <= set(project.services):
        order = [list(level) for level in reversed(project.levels)]
    else:
        needs: dict[str, set[str]] = {}
        for info in containers:
            needs.setdefault(info.service or info.name, set()).update(dependencies_of(info))
        order = list(reversed(levels_of(needs)))
    levels = [[c for c in containers if (c.service or c.name) in level] for level in order]
    return [level for level in levels if level]


def _plan(levels: list[list[ContainerInfo]], verb, **options) -> ContainersPlan:
    """`verb(container)` says what to do with each container."""
    return ContainersPlan([[Change(verb(c), c) for c in level] for level in levels], **options)


def plan_stop(observed: Observed, project: Project | None, services=(),
              timeout: float | None = None) -> ContainersPlan:
    running = observed.of(services, running=True)
    return _plan(stop_levels(running, project), lambda c: "stop", timeout=timeout)


def plan_start(observed: Observed, project: Project | None, services=()) -> ContainersPlan:
    levels = list(reversed(stop_levels(observed.of(services), project)))
    return _plan(levels, lambda c: "keep" if c.running else "start")


def outdated(project: Project, containers: list[ContainerInfo],
             image_ids: dict[str, str]) -> list[ContainerInfo]:
    """The containers whose service (or image: `image_ids`, by image reference) changed
    since they were made: `up` would recreate them."""
    out = []
    for info in containers:
        svc = project.services.get(info.service)
        if svc is None or info.oneoff:
            continue
        expected = config_hash(project, svc.name, image_ids.get(image_ref(project, svc), ""))
        if info.config_hash != expected:
            out.append(info)
    return out


def plan_restart(observed: Observed, project: Project | None, services=(),
                 timeout: float | None = None) -> ContainersPlan:
    levels = list(reversed(stop_levels(observed.of(services), project)))
    return _plan(levels, lambda c: "restart", timeout=timeout)


def plan_signal(observed: Observed, verb: str, services=(), signal: str = "SIGKILL"
                ) -> ContainersPlan:
    """kill, pause or unpause: the running containers, all at once."""
    return _plan([observed.of(services, running=True)], lambda c: verb, signal=signal)


def plan_rm(observed: Observed, project: Project | None, services=(), stop: bool = False,
            volumes: bool = False) -> ContainersPlan:
    """rm: the stopped containers; with `stop`, the running ones too (stopped first)."""
    listed = [c for c in observed.of(services) if stop or not c.running]
    return _plan(stop_levels(listed, project), lambda c: "remove", volumes=volumes)


@dataclass
class DownOptions:
    services: tuple[str, ...] = ()
    volumes: bool = False
    rmi: str | None = None  # local or all
    remove_orphans: bool = False
    timeout: float | None = None


def down_images(project: Project | None, rmi: str | None) -> list[str]:
    """down --rmi local (images built for the project) or all (every service image)."""
    if not project or not rmi:
        return []
    return list(dict.fromkeys(image_ref(project, svc) for svc in project.services.values()
                              if rmi == "all" or not svc.image))


def plan_down(observed: Observed, project: Project | None, options: DownOptions) -> DownPlan:
    containers = observed.of(options.services, oneoff=True)
    plan = DownPlan()
    if project and not options.remove_orphans and not options.services:
        known = set(project.services) | set(project.disabled)
        plan.orphans = [c for c in containers if c.service not in known]
        containers = [c for c in containers if c.service in known]
    plan.containers = _plan(stop_levels(containers, project), lambda c: "remove",
                            timeout=options.timeout, volumes=options.volumes)
    if not options.services:  # the whole project: its networks and volumes too
        plan.networks = sorted(observed.owned_networks)
        with_containers = {v for c in containers for v in c.anonymous_volumes.values()}
        plan.volumes = sorted(observed.owned_volumes - with_containers) if options.volumes else []
        plan.images = [ref for ref in down_images(project, options.rmi) if observed.images.get(ref)]
    return plan
