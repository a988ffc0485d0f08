"""Plans: every change a command makes, decided before anything is done (compose.reconcile
makes them, compose.execute carries them out). Each renders as text, as tests check it."""
from __future__ import annotations

from dataclasses import dataclass, field

from .labels import ContainerInfo


@dataclass
class Action:
    """What `up` does with one container of a service."""

    kind: str  # create, recreate, start, keep, restart, remove
    service: str
    number: int
    name: str
    existing: ContainerInfo | None = None
    labels: dict[str, str] = field(default_factory=dict)  # create, recreate: the new ones
    inherited: dict[str, str] = field(default_factory=dict)  # recreate: target -> volume

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
    # service -> its pre_start hooks' containers kept from an earlier failure, removed
    # before its hooks run again (a service is here when its hooks run)
    pre_start: dict[str, list[ContainerInfo]] = field(default_factory=dict)
    hook_counts: dict[str, int] = field(default_factory=dict)  # service -> its hooks

    def render(self) -> str:
        lines = [f"create network {n}" for n in self.networks]
        lines += [f"create volume {v}" for v in self.volumes]
        for level in self.levels:
            for service in level:
                actions = [a for a in self.actions.get(service, []) if a.kind != "keep"]
                if service in self.pre_start:
                    lines += [a.render() for a in actions if a.kind == "remove"]
                    lines += [f"remove container {c.name}" for c in self.pre_start[service]]
                    lines += [a.render() for a in actions if a.kind != "remove"]
                    lines += [f"run pre_start[{i}] of {service}"
                              for i in range(self.hook_counts[service])]
                    continue
                lines += [a.render() for a in actions]
        if self.remove_orphans:
            lines += [f"remove orphan {c.name}" for c in self.orphans]
        return _text(lines)


@dataclass(frozen=True)
class Change:
    """One container and what to do with it: start, stop, restart, kill, pause, unpause,
    remove (after stopping it, when it runs), or keep (nothing: it already is as asked)."""

    verb: str
    container: ContainerInfo


@dataclass
class ContainersPlan:
    """Changes to containers, level by level: a level's containers in parallel, the next
    level once it is done (dependents stop before their dependencies, start after)."""

    levels: list[list[Change]] = field(default_factory=list)
    timeout: float | None = None  # stop, restart, remove: the grace period
    signal: str = "SIGKILL"  # kill
    volumes: bool = False  # remove: the containers' anonymous volumes too

    def changes(self) -> list[Change]:
        return [change for level in self.levels for change in level]

    def render(self) -> str:
        return _text(f"{c.verb} container {c.container.name}" for c in self.changes()
                     if c.verb != "keep")


@dataclass
class DownPlan:
    containers: ContainersPlan = field(default_factory=ContainersPlan)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    orphans: list[ContainerInfo] = field(default_factory=list)  # left alone, reported

    def render(self) -> str:
        return self.containers.render() + _text(
            [f"remove network {n}" for n in self.networks] +
            [f"remove volume {v}" for v in self.volumes] +
            [f"remove image {i}" for i in self.images])


def _text(lines) -> str:
    lines = list(lines)
    return "\n".join(lines) + ("\n" if lines else "")
