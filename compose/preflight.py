"""Checks `up` makes before it creates, builds or pulls anything: a project that can't
come up fails with one clear line and leaves nothing behind."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .backend import Backend
from .devices import gpu_devices
from .errors import ComposeError
from .model import Project
from .observe import Observed


@dataclass(frozen=True)
class Target:
    """What an `up` is about to bring up."""

    project: Project
    selected: list[str]  # the services, with their dependencies
    observed: Observed
    backend: Backend
    scale: dict[str, int] = field(default_factory=dict)  # --scale


Check = Callable[[Target], None]


def check_external_resources(target: Target) -> None:
    """Networks and volumes declared external must exist."""
    project, selected, observed = target.project, target.selected, target.observed
    for key, net in project.networks.items():
        used = any(key in project.services[s].networks for s in selected)
        if net.external and used and net.name not in observed.networks:
            raise ComposeError(f"network {net.name} declared as external, but could not be found")
    for key, vol in project.volumes.items():
        used = any(m.source == key for s in selected for m in project.services[s].volumes)
        if vol.external and used and vol.name not in observed.volumes:
            raise ComposeError(f"external volume {vol.name!r} not found")


def check_services_runnable(target: Target) -> None:
    """What the backend can't honour (e.g. a seccomp profile file) fails here; `config`
    shows it as written, as docker compose does."""
    for name in target.selected:
        try:
            target.backend.check_service(target.project, target.project.services[name])
        except ComposeError as err:
            raise ComposeError(f"service {name!r}: {err}") from None


def check_devices(target: Target) -> None:
    """GPUs asked for (gpus, deploy.resources.reservations.devices) must be on the host."""
    wanting = [name for name in target.selected if target.project.services[name].device_requests]
    if wanting:
        host = target.backend.host_gpus()
        for name in wanting:
            gpu_devices(target.project.services[name], host)


def check_providers(target: Target) -> None:
    """A service run by a `provider` (docker compose plugins: models, cloud services) is
    not a container: berth can not bring it up."""
    for name in target.selected:
        provider = (target.project.tree.get("services", {}).get(name) or {}).get("provider")
        if provider:
            raise ComposeError(f"service {name!r}: provider services (type "
                               f"{provider.get('type')!r}) are run by docker compose "
                               "plugins; berth runs containers only: remove the service, or "
                               "run it with an image")


def check_ports_free(target: Target) -> None:
    """Fixed host ports must be free, or held by the service's own containers (which keep
    them, or give them up when they are replaced), and published once."""
    held = {port: c.service for c in target.observed.containers if not c.oneoff
            for port in c.ports}
    wanted: dict[tuple, str] = {}
    for name in target.selected:
        svc = target.project.services[name]
        replicas = target.scale.get(name, svc.scale)
        for port in svc.ports:
            if not port.published or "-" in port.published:
                continue
            key = (port.host_ip or "0.0.0.0", int(port.published), port.protocol)
            for number in range(1, replicas + 1):
                who = f"{name} #{number}" if replicas > 1 else name
                if key in wanted:
                    raise ComposeError(f"service {name!r}: host port {key[1]}/{key[2]} is "
                                       f"published twice ({wanted[key]} and {who})")
                wanted[key] = who
            if held.get(f"{key[0]}:{key[1]}->{port.target}/{key[2]}") == name:
                continue
            reason = target.backend.port_taken(*key)
            if reason:
                raise ComposeError(f"service {name!r}: {reason}")


CHECKS: tuple[Check, ...] = (check_providers, check_external_resources,
                             check_services_runnable, check_devices, check_ports_free)


def preflight(target: Target) -> None:
    for check in CHECKS:
        check(target)
