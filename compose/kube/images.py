"""The images a cluster runs: a service's `image`, or for a `build:` service the image
berth builds, pushes to the registry given and names by digest. Also what berth can
read of an image present here (its EXPOSE), through the Backend."""
from __future__ import annotations

import dataclasses

from common.reference import ReferenceError, parse

from ..backend import Backend
from ..errors import ComposeError
from ..events import DONE, FAILED, Reporter, Step, quiet
from ..labels import image_ref
from ..model import Project
from ..service_images import build_service
from . import names


def check_registry(project: Project, registry: str | None) -> None:
    """A service built from source needs a registry the cluster can pull it from; say
    so before anything is built or written."""
    built = sorted(name for name, svc in project.services.items() if svc.build)
    if built and not registry:
        raise ComposeError(f"service {built[0]!r} is built from source: give --registry REG "
                           "to push its image where the cluster can pull it")


def push_target(project: Project, service: str, registry: str) -> str:
    target = f"{registry.rstrip('/')}/{project.name}-{names.service_name(service)}:latest"
    try:
        return str(parse(target))
    except ReferenceError as err:
        raise ComposeError(f"--registry {registry!r}: {err}") from None


def _build_and_push(project: Project, backend: Backend, service: str, registry: str,
                    report: Reporter) -> str:
    svc = project.services[service]
    target = push_target(project, service, registry)
    tagged = dataclasses.replace(svc, build=dataclasses.replace(
        svc.build, tags=tuple(svc.build.tags) + (target,)))  # type: ignore[arg-type]
    build_service(dataclasses.replace(project, services={**project.services, service: tagged}),
                  backend, service, report=report)
    report(Step("Image", target, "Pushing"))
    try:
        digest = backend.push(target)
    except Exception as err:  # noqa: BLE001 - names the service
        report(Step("Image", target, "Error", FAILED))
        raise ComposeError(f"service {service!r}: pushing {target} failed: {err}") from None
    report(Step("Image", target, "Pushed", DONE))
    return f"{target.rpartition(':')[0]}@{digest}"


def images(project: Project, backend: Backend, registry: str | None,
           report: Reporter = quiet) -> dict[str, str]:
    """service -> the image reference its pods run (building and pushing as needed)."""
    check_registry(project, registry)
    out = {}
    for name in sorted(project.services):
        svc = project.services[name]
        if svc.build is None:
            out[name] = svc.image or ""
        else:
            out[name] = _build_and_push(project, backend, name, registry or "", report)
    return out


def exposed(project: Project, backend: Backend) -> dict[str, tuple[str, ...]]:
    """service -> the ports its image EXPOSEs, for images present here (a built image
    under its local name)."""
    out = {}
    for name, svc in project.services.items():
        config = backend.image_config(image_ref(project, svc))
        if config is not None and config.exposed_ports:
            out[name] = config.exposed_ports
    return out
