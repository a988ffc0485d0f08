"""The images a project's services run: present, built, or pulled.

Pull policy (compose's `pull_policy`, or `up --pull`): always, missing (the default),
never, build. A service with `build:` is built when its image is missing, or always
with `--build`. Builds and pulls of different services run in parallel, bounded.
"""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from .backend import Backend
from .convert import image_ref
from .errors import ComposeError
from .model import Project, Service

MAX_PARALLEL = 3


def build_options(project: Project, svc: Service, no_cache: bool = False, pull: bool = False,
                  args: dict[str, str | None] | None = None):
    from runtime.images.build import BuildOptions

    build = svc.build
    assert build is not None
    build_args = {k: v for k, v in build.args.items()}
    build_args.update(args or {})
    return BuildOptions(
        context=build.context, dockerfile=build.dockerfile or "Dockerfile",
        dockerfile_inline=build.dockerfile_inline,
        tags=[image_ref(project, svc)] + list(build.tags), args=build_args,
        target=build.target, no_cache=no_cache or build.no_cache, pull=pull or build.pull,
        labels={k: v or "" for k, v in build.labels.items()},
        network=build.network or "default",
        contexts={k: v for k, v in build.additional_contexts.items() if v and os.path.isdir(v)},
        environ={**project.environment, **dict(os.environ)})


def _printer(service: str, quiet: bool = False):
    lock = threading.Lock()

    def out(line: str) -> None:
        if quiet:
            return
        with lock:
            print(f"{service}  {line}", file=sys.stderr, flush=True)

    return out


def build_service(project: Project, backend: Backend, name: str, no_cache: bool = False,
                  pull: bool = False, args: dict | None = None, quiet: bool = False) -> str:
    svc = project.services[name]
    if svc.build is None:
        raise ComposeError(f"service {name!r} has no build section")
    try:
        return backend.build(build_options(project, svc, no_cache, pull, args),
                             _printer(name, quiet))
    except ComposeError:
        raise
    except Exception as err:  # noqa: BLE001 - a build error names the service
        raise ComposeError(f"service {name!r}: build failed: {err}") from None


def ensure_images(project: Project, backend: Backend, services: list[str], *, build: bool,
                  no_build: bool, pull: str | None, progress, quiet: bool = False) -> dict[str, str]:
    """service -> image id, for every service given (building or pulling as needed)."""
    ids: dict[str, str] = {}
    todo: list[tuple[str, str]] = []  # (service, "build" | "pull")
    for name in services:
        svc = project.services[name]
        ref = image_ref(project, svc)
        image_id = backend.image_id(ref)
        policy = pull or svc.pull_policy or "missing"
        if policy == "if_not_present":
            policy = "missing"
        if svc.build and not no_build and (build or policy == "build" or image_id is None):
            todo.append((name, "build"))
        elif policy == "always" or (image_id is None and policy == "missing"):
            if not svc.image:
                raise ComposeError(f"service {name!r} has no image to pull")
            todo.append((name, "pull"))
        elif image_id is None:
            raise ComposeError(f"service {name!r}: image {ref} is not present "
                               f"(pull policy {policy!r})")
        else:
            ids[name] = image_id

    def do(item: tuple[str, str]) -> tuple[str, str]:
        name, action = item
        svc = project.services[name]
        ref = image_ref(project, svc)
        if action == "build":
            progress.update("Image", ref, "Building")
            image_id = build_service(project, backend, name, quiet=quiet)
            progress.update("Image", ref, "Built", done=True)
            return name, image_id
        progress.update("Image", ref, "Pulling")
        try:
            image_id = backend.pull(ref, svc.platform, None)
        except Exception as err:  # noqa: BLE001 - names the service
            progress.update("Image", ref, "Error", failed=True)
            raise ComposeError(f"service {name!r}: image {ref} is not present and could not be "
                               f"pulled: {err}") from None
        progress.update("Image", ref, "Pulled", done=True)
        return name, image_id

    if todo:
        with ThreadPoolExecutor(max_workers=MAX_PARALLEL) as pool:
            for name, image_id in pool.map(do, todo):
                ids[name] = image_id
    return ids


def remove_images(project: Project, backend: Backend, which: str, progress) -> None:
    """down --rmi local (images built for the project) or all (every service image)."""
    for svc in project.services.values():
        if which == "local" and svc.image:
            continue
        ref = image_ref(project, svc)
        if backend.image_id(ref) is None:
            continue
        progress.update("Image", ref, "Removing")
        try:
            backend.remove_image(ref)
            progress.update("Image", ref, "Removed", done=True)
        except Exception as err:  # noqa: BLE001 - e.g. still used by another project
            progress.update("Image", ref, str(err), failed=True)
