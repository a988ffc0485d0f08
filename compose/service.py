"""The compose operations, for any caller: the CLI today, later a Kubernetes target or
an API socket. Each takes a loaded project (or a project's name, for what only acts on
what exists), a Backend and a reporter that receives typed events; nothing here prints,
exits or reads the environment. Every change goes observe -> plan -> execute.
"""
from __future__ import annotations

import dataclasses
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Iterator

from common.timings import phase

from .backend import Backend, ContainerRequest, DependencyFailed, ExecRequest, Process
from .errors import ComposeError
from .events import Note, Reporter, quiet
from .execute import Executor
from .graph import start_levels, with_dependencies
from .labels import ContainerInfo, compose_labels, image_ref
from .model import Project
from .observe import Observed, container, containers, observe
from .preflight import Target, preflight
from .reconcile import (DownOptions, UpOptions, down_images, outdated, plan_down, plan_restart,
                        plan_rm, plan_signal, plan_start, plan_stop, plan_up)
from .service_images import MAX_PARALLEL, ensure_images
from .validate import ignored


def _observed(name: str, backend: Backend) -> Observed:
    return Observed(tuple(backend.containers(name)))


def _hooks_failed(failed: list[str]) -> None:
    if failed:
        raise ComposeError("\n".join(failed))


# --- up, create, scale ---------------------------------------------------------------------

@dataclass
class UpRequest:
    services: tuple[str, ...] = ()  # with their dependencies, unless no_deps
    no_deps: bool = False
    build: bool = False
    no_build: bool = False
    pull: str | None = None  # always, missing, never, build
    start: bool = True  # False: create only
    wait_timeout: float | None = None  # for each dependency's condition
    force_recreate: bool = False
    no_recreate: bool = False
    remove_orphans: bool = False
    scale: dict[str, int] = field(default_factory=dict)
    renew_anon_volumes: bool = False
    always_recreate_deps: bool = False  # dependencies of the services named: recreated
    all_resources: bool = False  # every network and volume of the project, used or not
    parallel: int = MAX_PARALLEL  # builds and pulls at once


def selected_services(project: Project, services=(), no_deps: bool = False) -> list[str]:
    if not services:
        return list(project.services)
    return list(services) if no_deps else sorted(with_dependencies(project, services))


def up(project: Project, backend: Backend, request: UpRequest = UpRequest(),
       report: Reporter = quiet) -> list[str]:
    """Bring the project (its selected services) to the state its files describe; the
    services it brought up."""
    selected = selected_services(project, request.services, request.no_deps)
    for line in ignored(project, selected):
        report(Note(f"WARN {line}"))
    # one up of a project at a time: a second one waits, then finds the work done
    with backend.project_lock(project.name):
        with phase("observe what exists"):
            observed = observe(backend, project.name, project)
        with phase("preflight checks"):
            preflight(Target(project, selected, observed, backend, request.scale))
        with phase("images"):
            image_ids = ensure_images(project, backend, selected, build=request.build,
                                      no_build=request.no_build, pull=request.pull,
                                      report=report, parallel=request.parallel)
        with phase("plan"):
            plan = plan_up(project, observed, image_ids, start_levels(project, selected),
                           UpOptions(tuple(selected), request.force_recreate,
                                     request.no_recreate, request.scale,
                                     request.remove_orphans, request.renew_anon_volumes,
                                     named=request.services,
                                     recreate_deps=request.always_recreate_deps,
                                     all_resources=request.all_resources))
        if plan.orphans and not request.remove_orphans:
            names = ", ".join(sorted({c.service for c in plan.orphans}))
            report(Note(f"Found orphan containers ({names}) for this project. If you removed "
                        "or renamed this service in your compose file, you can run this "
                        "command with the --remove-orphans flag to clean it up."))
        with phase("carry out the plan"):
            Executor(backend, report, project, request.wait_timeout).up(plan,
                                                                        start=request.start)
    return selected


def wait_ready(name: str, project: Project | None, backend: Backend, services: list[str],
               timeout: float | None = None) -> None:
    """up --wait, start --wait: running (healthy where there is a healthcheck); one-shot
    containers that exited 0 are fine (docker/compose#10596)."""
    deadline = None if timeout is None else time.monotonic() + timeout

    def done(info: ContainerInfo) -> bool:  # a one-shot that succeeded, for good
        svc = project.services.get(info.service) if project else None
        return info.status == "exited" and info.exit_code == 0 and \
            (svc is None or not svc.restart.startswith(("always", "unless-stopped")))

    for info in containers(name, backend, services):
        condition = "service_healthy" if info.health is not None else "service_started"
        if done(info):
            continue
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            backend.wait_until(info.id, condition, left)
        except DependencyFailed as err:
            if not done(backend.container(info.id)):  # (it may have finished meanwhile)
                raise ComposeError(f"service {info.service!r}: {err}") from None


# --- down and the lifecycle of existing containers ----------------------------------------

def down(name: str, project: Project | None, backend: Backend,
         options: DownOptions = DownOptions(), report: Reporter = quiet) -> None:
    """Stop and remove the project's containers, then (for the whole project) its
    networks, and its volumes and images when asked."""
    with backend.project_lock(name):  # not while an `up` of the project is under way
        with phase("observe what exists"):
            observed = observe(backend, name, images=down_images(project, options.rmi))
        plan = plan_down(observed, project, options)
        if plan.orphans:
            report(Note(f"Found orphan containers ({', '.join(sorted(c.name for c in plan.orphans))}) "
                        "for this project; --remove-orphans removes them."))
        with phase("carry out the plan"):
            failed = Executor(backend, report, project).down(plan)
    _hooks_failed(failed)


def stop(name: str, project: Project | None, backend: Backend, services=(),
         timeout: float | None = None, report: Reporter = quiet) -> None:
    """Stop running containers, dependents first, each after its pre_stop hooks."""
    plan = plan_stop(_observed(name, backend), project, services, timeout)
    _hooks_failed(Executor(backend, report, project).containers(plan))


def start(name: str, project: Project | None, backend: Backend, services=(),
          report: Reporter = quiet) -> None:
    """Start existing containers, dependencies first, each followed by its post_start
    hooks."""
    containers(name, backend, services)  # naming a service without containers is an error
    Executor(backend, report, project).containers(
        plan_start(_observed(name, backend), project, services))


def restart(name: str, project: Project | None, backend: Backend, services=(),
            timeout: float | None = None, report: Reporter = quiet) -> None:
    """Restart containers in place (same addresses and ports), dependencies first. A
    container whose service changed since it was made restarts as it was: the caller
    is told so, and how to apply the change (docker/compose#10033)."""
    observed = _observed(name, backend)
    if project is not None:
        listed = observed.of(services)
        image_ids = {ref: backend.image_id(ref) or "" for ref in
                     {image_ref(project, project.services[c.service]) for c in listed
                      if c.service in project.services}}
        for info in outdated(project, listed, image_ids):
            report(Note(f"WARN container {info.name} keeps the configuration it was created "
                        f"with: service {info.service!r} changed since. `restart` does not "
                        f"apply the change; `berth up -d {info.service}` does"))
    Executor(backend, report, project).containers(
        plan_restart(observed, project, services, timeout))


def signal(name: str, backend: Backend, verb: str, services=(), sig: str = "SIGKILL") -> None:
    """kill (with `sig`), pause or unpause the running containers."""
    containers(name, backend, services)
    Executor(backend, quiet).containers(plan_signal(_observed(name, backend), verb, services, sig))


def rm(name: str, project: Project | None, backend: Backend, services=(), stop: bool = False,
       volumes: bool = False, report: Reporter = quiet) -> list[ContainerInfo]:
    """Remove stopped containers (running ones too with `stop`); the ones removed."""
    plan = plan_rm(_observed(name, backend), project, services, stop, volumes)
    _hooks_failed(Executor(backend, report, project).containers(plan))
    return [change.container for change in plan.changes()]


def wait(name: str, backend: Backend, services=()) -> Iterator[tuple[ContainerInfo, int]]:
    """Each container's exit code, as it exits."""
    for info in containers(name, backend, services):
        yield info, backend.wait_exit(info.id)


# --- one-off commands ----------------------------------------------------------------------

@dataclass
class RunRequest:
    """`run SERVICE [COMMAND]` and its options (the environment already resolved)."""

    service: str
    command: list[str] | None = None
    entrypoint: list[str] | None = None  # [] resets the image's
    env: list[str] = field(default_factory=list)  # KEY=VALUE
    volumes: list[str] = field(default_factory=list)  # compose's short syntax
    publish: list[str] = field(default_factory=list)  # compose's short syntax
    service_ports: bool = False
    name: str | None = None
    user: str | None = None
    workdir: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    use_aliases: bool = False
    no_deps: bool = False
    build: bool = False
    pull: str | None = None
    remove_orphans: bool = False
    detach: bool = False
    tty: bool = False
    rm: bool = False


def run(project: Project, backend: Backend, request: RunRequest,
        report: Reporter = quiet) -> ContainerInfo:
    """Create and start a one-off container of a service (its dependencies up first);
    without `detach` it waits for an attachment before its command runs."""
    deps = [] if request.no_deps else list(project.services[request.service].depends_on)
    if deps:
        up(project, backend, UpRequest(services=tuple(sorted(with_dependencies(project, deps))),
                                       build=request.build, pull=request.pull,
                                       remove_orphans=request.remove_orphans), report)
    image_ids = ensure_images(project, backend, [request.service], build=request.build,
                              no_build=False, pull=request.pull, report=report)
    svc = oneoff_service(project, request)
    sep = project.separator
    name = request.name or f"{project.name}{sep}{request.service}{sep}run{sep}" \
        f"{secrets.token_hex(6)}"
    labels = compose_labels(project, project.services[request.service], 1,
                            image_ids[request.service], oneoff=True)
    info = backend.create(project, ContainerRequest(
        svc, name, 1, labels, oneoff=True, use_aliases=request.use_aliases, tty=request.tty,
        stdin_open=not request.detach, auto_remove=request.rm))
    backend.start(info.id, attach=not request.detach)
    return info


def oneoff_service(project: Project, request: RunRequest):
    """The service as `run` runs it: the command line's changes on top of the file's."""
    from .canonical import parse_port, parse_volume  # YAML's parsers: only for `run`
    from .typed import mount, port

    svc = project.services[request.service]
    mounts = []
    for text in request.volumes:
        entry = parse_volume(text, ())
        if entry["type"] == "bind" and not os.path.isabs(entry["source"]):
            entry["source"] = os.path.normpath(os.path.join(
                project.working_dir, os.path.expanduser(entry["source"])))
        mounts.append(mount(entry))
    ports = tuple(port(e) for text in request.publish for e in parse_port(text, ()))
    env = dict(svc.environment)
    env.update(item.partition("=")[::2] for item in request.env)
    changes = dict(
        ports=(svc.ports if request.service_ports else ()) + ports, environment=env,
        volumes=svc.volumes + tuple(mounts), restart="no",
        labels={**svc.labels, **request.labels}, cap_add=svc.cap_add + tuple(request.cap_add),
        cap_drop=svc.cap_drop + tuple(request.cap_drop))
    if request.command:
        changes["command"] = tuple(request.command)
    if request.entrypoint is not None:
        changes["entrypoint"] = tuple(request.entrypoint)
        if not request.command:
            changes["command"] = ()
    if request.user is not None:
        changes["user"] = request.user
    if request.workdir:
        changes["working_dir"] = request.workdir
    return dataclasses.replace(svc, **changes)


def exec_(name: str, backend: Backend, service: str, index: int,
          request: ExecRequest) -> Process:
    """Start a process in container `index` of a running service."""
    return backend.exec(container(name, backend, service, index, running=True).id, request)
