"""What exists for a project, read through the backend (labels and names): the one
snapshot the planner decides on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .backend import Backend
from .errors import ComposeError
from .labels import ContainerInfo
from .model import Project


@dataclass(frozen=True)
class Observed:
    containers: tuple[ContainerInfo, ...] = ()  # the project's, one-offs included
    networks: frozenset[str] = frozenset()  # names of the networks that exist (any owner)
    volumes: frozenset[str] = frozenset()  # names of the volumes that exist (any owner)
    owned_networks: frozenset[str] = frozenset()  # those the project made (its labels)
    owned_volumes: frozenset[str] = frozenset()
    images: dict[str, str | None] = field(default_factory=dict)  # ref -> id, when asked

    def of(self, services: Iterable[str] | None = None, oneoff: bool = False,
           running: bool = False) -> list[ContainerInfo]:
        """The containers of `services` (all without), by service and number."""
        wanted = set(services) if services else None
        return sorted((c for c in self.containers
                       if (oneoff or not c.oneoff) and (not running or c.running)
                       and (wanted is None or c.service in wanted)),
                      key=lambda c: (c.service, c.number))


def observe(backend: Backend, name: str, project: Project | None = None,
            images: Iterable[str] = ()) -> Observed:
    """The project's containers, networks and volumes (those it labelled, and those its
    file names, which may be external), and the ids of `images`."""
    owned_networks = frozenset(n.name for n in backend.networks(name))
    owned_volumes = frozenset(v.name for v in backend.volumes(name))
    networks, volumes = set(owned_networks), set(owned_volumes)
    if project is not None:
        networks |= {n.name for n in project.networks.values() if backend.network_exists(n.name)}
        volumes |= {v.name for v in project.volumes.values() if backend.volume_exists(v.name)}
    return Observed(tuple(backend.containers(name)), frozenset(networks), frozenset(volumes),
                    owned_networks, owned_volumes, {ref: backend.image_id(ref) for ref in images})


def containers(name: str, backend: Backend, services=(), all: bool = True,
               oneoff: bool = False) -> list[ContainerInfo]:
    """The project's containers (of `services`), by service and number; naming services
    that have none is an error."""
    listed = Observed(tuple(backend.containers(name, all=all))).of(oneoff=oneoff)
    if services:
        unknown = set(services) - {c.service for c in listed}
        listed = [c for c in listed if c.service in services]
        if not listed and unknown:
            raise ComposeError(f"no container found for service(s): {', '.join(sorted(unknown))}")
    return listed


def container(name: str, backend: Backend, service: str, index: int = 1,
              running: bool = False) -> ContainerInfo:
    """Container number `index` of `service` (which must run, with `running`)."""
    for info in containers(name, backend, [service]):
        if info.number == index:
            if running and not info.running:
                raise ComposeError(f"service {service!r} is not running")
            return info
    raise ComposeError(f"service {service!r} has no container number {index}")
