"""Lifecycle hooks. post_start and pre_stop: commands run in a service's container right
after it starts and right before it stops, like `exec` with their own user, working
directory, environment and privileges; a container carries them in its labels
(compose.labels.hook_labels). pre_start: containers of their own, run to completion in
order before a service's containers start, sharing the volumes of the service's first
container and its networks, as docker compose runs them; a failed one stops `up` and
its container is kept (for `logs`) until the next `up` or `down`."""
from __future__ import annotations

from common.errors import BerthError

from .backend import Backend, ContainerRequest, ExecRequest
from .errors import ComposeError
from .events import Output, Reporter
from .labels import HOOK, ContainerInfo, compose_labels, hooks_of, image_ref
from .model import Healthcheck, Hook, Project, Service

PRE_START = "pre_start"


def run_hooks(backend: Backend, info: ContainerInfo, kind: str) -> None:
    """Run the container's `kind` hooks to their end, in order; the first that fails
    stops the rest."""
    for index, hook in enumerate(hooks_of(info, kind)):
        env = [f"{k}={v}" for k, v in hook.environment.items() if v is not None]
        code, _ = backend.exec(info.id, ExecRequest(
            list(hook.command), hook.user, hook.working_dir, env, hook.privileged)).wait()
        if code != 0:
            raise ComposeError(f"{kind}[{index}] hook exited with status {code}")


def stop_after_hooks(backend: Backend, info: ContainerInfo,
                     timeout: float | None) -> tuple[str | None, str | None]:
    """Stop a container, running its pre_stop hooks first if it runs. What went wrong in
    them (the container is stopped all the same, as asked), and what the stop said
    ("container proj-web-1: killed at once: ..."), for the caller to report."""
    failure = None
    if info.running:
        try:
            run_hooks(backend, info, "pre_stop")
        except BerthError as err:  # ComposeError too
            failure = f"service {info.service!r}: {err}"
    note = backend.stop(info.id, timeout)
    return failure, f"container {info.name}: {note}" if note else None


# --- pre_start -----------------------------------------------------------------------------

def hook_container_name(project: Project, service: str, index: int) -> str:
    sep = project.separator
    return f"{project.name}{sep}{service}{sep}{PRE_START}{sep}{index}"


def hook_service(project: Project, svc: Service, hook: Hook, volumes_of: str) -> Service:
    """What a pre_start hook's container runs: its image (the service's by default) with
    the hook's command (the image's own without one), user and working directory, the
    service's environment under the hook's, the volumes of container `volumes_of`, and
    the service's networks; no ports, no restarts, no healthcheck, no hooks."""
    return Service(
        name=svc.name, image=hook.image or image_ref(project, svc),
        command=hook.command or None, environment={**svc.environment, **hook.environment},
        user=hook.user, working_dir=hook.working_dir, privileged=hook.privileged,
        volumes_from=(f"container:{volumes_of}",), networks=svc.networks,
        network_mode=svc.network_mode, extra_hosts=svc.extra_hosts, dns=svc.dns,
        dns_search=svc.dns_search, dns_opt=svc.dns_opt, platform=svc.platform,
        healthcheck=Healthcheck(disable=True))


def run_pre_start(backend: Backend, project: Project, service: str, volumes_of: ContainerInfo,
                  report: Reporter) -> None:
    """Run the service's pre_start hooks in order, each in a new container, to its end;
    its output is reported as the hook's. The first that fails stops the rest and `up`:
    its container stays."""
    svc = project.services[service]
    for index, hook in enumerate(svc.pre_start):
        name = hook_container_name(project, service, index)
        run = hook_service(project, svc, hook, volumes_of.id)
        image_id = backend.image_id(run.image or "") or ""
        labels = {**compose_labels(project, run, 1, image_id, oneoff=True), HOOK: PRE_START}
        info = backend.create(project, ContainerRequest(run, name, 1, labels, oneoff=True))
        backend.start(info.id)
        code = backend.wait_exit(info.id)
        lines = [line.text.rstrip("\n") for line in backend.logs(info.id)]
        for line in lines:
            report(Output(f"{service} {PRE_START}[{index}]", line))
        if code != 0:
            tail = "".join(f"\n    | {line}" for line in lines[-5:])
            raise ComposeError(f"{PRE_START}[{index}] exited with code {code}; its container "
                               f"{name} is kept for `berth logs {service}` until `berth down`"
                               f"{tail}")
        backend.remove(info.id, force=True, volumes=True)
