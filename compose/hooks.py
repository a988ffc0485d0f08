"""Lifecycle hooks (post_start, pre_stop): commands run in a service's container right
after it starts and right before it stops, like `exec` with their own user, working
directory, environment and privileges. A container carries its hooks in its labels
(compose.labels.hook_labels)."""
from __future__ import annotations

from common.errors import BerthError

from .backend import Backend, ExecRequest
from .errors import ComposeError
from .labels import ContainerInfo, hooks_of


def run_hooks(backend: Backend, info: ContainerInfo, kind: str) -> None:
    """Run the container's `kind` hooks to their end, in order; the first that fails
    stops the rest."""
    for index, hook in enumerate(hooks_of(info, kind)):
        env = [f"{k}={v}" for k, v in hook.environment.items() if v is not None]
        code, _ = backend.exec(info.id, ExecRequest(
            list(hook.command), hook.user, hook.working_dir, env, hook.privileged)).wait()
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
