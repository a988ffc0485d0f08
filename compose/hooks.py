"""Lifecycle hooks (post_start, pre_stop): commands run in a service's container right
after it starts and right before it stops, like `exec` with their own user, working
directory, environment and privileges.

A container carries its hooks in labels, so `start`, `stop` and `down` run them without
reading the compose file again (and as they were when the container was made).
"""
from __future__ import annotations

import json

from common.errors import BerthError

from .backend import Backend, ContainerInfo
from .errors import ComposeError
from .model import Hook, Service

KINDS = ("post_start", "pre_stop")


def hook_labels(svc: Service) -> dict[str, str]:
    """The labels that record a service's hooks on each of its containers."""
    labels = {}
    for kind in KINDS:
        hooks = getattr(svc, kind)
        if hooks:
            labels[f"berth.{kind}"] = json.dumps([
                {"command": list(h.command), "user": h.user, "privileged": h.privileged,
                 "working_dir": h.working_dir, "environment": dict(h.environment)}
                for h in hooks])
    return labels


def hooks_of(info: ContainerInfo, kind: str) -> tuple[Hook, ...]:
    raw = info.labels.get(f"berth.{kind}")
    if not raw:
        return ()
    return tuple(Hook(command=tuple(h["command"]), user=h["user"], privileged=h["privileged"],
                      working_dir=h["working_dir"], environment=h["environment"])
                 for h in json.loads(raw))


def run_hooks(backend: Backend, info: ContainerInfo, kind: str) -> None:
    """Run the container's `kind` hooks to their end, in order; the first that fails
    stops the rest."""
    for index, hook in enumerate(hooks_of(info, kind)):
        env = [f"{k}={v}" for k, v in hook.environment.items() if v is not None]
        code = backend.exec_wait(info.id, list(hook.command), hook.user, hook.working_dir, env,
                                 privileged=hook.privileged)
        if code != 0:
            raise ComposeError(f"{kind}[{index}] hook exited with status {code}")


def stop_after_hooks(backend: Backend, info: ContainerInfo, timeout: float | None) -> str | None:
    """Stop a container, running its pre_stop hooks first if it runs; what went wrong in
    them, for the caller to report (the container is stopped all the same, as asked)."""
    failure = None
    if info.running:
        try:
            run_hooks(backend, info, "pre_stop")
        except BerthError as err:  # ComposeError too
            failure = f"service {info.service!r}: {err}"
    backend.stop(info.id, timeout)
    return failure
