"""The images a project's services run: present, built, or pulled.

Pull policy (compose's `pull_policy`, or `up --pull`; see compose.pullpolicy): always,
missing (the default), never, build, and the refreshing ones (daily, weekly,
every_<duration>, refresh), which compare the backend's record of an image's last pull
with the time now. A service with `build:` is built when its image is missing, or always
with `--build`. The other images a service needs (its pre_start hooks' and its
`type: image` mounts') are pulled when missing. Builds and pulls of different services
run in parallel, bounded.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from . import pullpolicy
from .backend import Backend, BuildRequest
from .errors import ComposeError
from .events import DONE, FAILED, Output, Reporter, Step, quiet
from .labels import image_ref
from .model import Project, Service

MAX_PARALLEL = 3


def build_service(project: Project, backend: Backend, name: str,
                  request: BuildRequest = BuildRequest(), report: Reporter = quiet) -> str:
    """Build service `name`'s image (its lines reported as Output); its id."""
    svc = project.services[name]
    if svc.build is None:
        raise ComposeError(f"service {name!r} has no build section")
    try:
        return backend.build(project, svc, request, lambda line: report(Output(name, line)))
    except ComposeError:
        raise
    except Exception as err:  # noqa: BLE001 - a build error names the service
        raise ComposeError(f"service {name!r}: build failed: {err}") from None


def extra_images(project: Project, svc: Service) -> list[str]:
    """The images a service needs besides its own: its pre_start hooks' and its image
    mounts' sources."""
    own = image_ref(project, svc)
    refs = [hook.image for hook in svc.pre_start if hook.image] + \
        [m.source for m in svc.volumes if m.type == "image" and m.source]
    return [ref for ref in dict.fromkeys(refs) if ref != own]


def service_policy(svc: Service, pull: str | None) -> pullpolicy.PullPolicy:
    """The policy for a service: `--pull` when given, else its own."""
    if pull:
        return pullpolicy.parse(pull)
    return pullpolicy.parse(svc.pull_policy, svc.pull_refresh_after)


def ensure_images(project: Project, backend: Backend, services: list[str], *, build: bool,
                  no_build: bool, pull: str | None, report: Reporter = quiet,
                  parallel: int = MAX_PARALLEL) -> dict[str, str]:
    """service -> image id, for every service given (building or pulling as needed, the
    images of its hooks and image mounts too)."""
    ids: dict[str, str] = {}
    todo: list[tuple[str, str, str]] = []  # (service, "build" | "pull", image ref)
    now = time.time()
    for name in services:
        svc = project.services[name]
        ref = image_ref(project, svc)
        image_id = backend.image_id(ref)
        policy = service_policy(svc, pull)
        if svc.build and not no_build and (build or policy.kind == "build" or image_id is None):
            todo.append((name, "build", ref))
        elif policy.pull_wanted(image_id is not None, backend.last_pulled(ref), now):
            if not svc.image:
                raise ComposeError(f"service {name!r} has no image to pull")
            todo.append((name, "pull", ref))
        elif image_id is None:
            raise ComposeError(f"service {name!r}: image {ref} is not present "
                               f"(pull policy {policy.kind!r})")
        else:
            ids[name] = image_id
        for extra in extra_images(project, svc):
            if backend.image_id(extra) is None and all(extra != t[2] for t in todo):
                if policy.kind == "never":
                    raise ComposeError(f"service {name!r}: image {extra} is not present "
                                       "(pull policy 'never')")
                todo.append((name, "pull", extra))

    def do(item: tuple[str, str, str]) -> tuple[str, str, str]:
        name, action, ref = item
        svc = project.services[name]
        if action == "build":
            report(Step("Image", ref, "Building"))
            image_id = build_service(project, backend, name, report=report)
            report(Step("Image", ref, "Built", DONE))
            return name, ref, image_id
        report(Step("Image", ref, "Pulling"))
        try:
            image_id = backend.pull(ref, svc.platform)
        except Exception as err:  # noqa: BLE001 - names the service
            report(Step("Image", ref, "Error", FAILED))
            state = "could" if backend.image_id(ref) else "is not present and could"
            raise ComposeError(f"service {name!r}: image {ref} {state} not be pulled: "
                               f"{err}") from None
        report(Step("Image", ref, "Pulled", DONE))
        return name, ref, image_id

    if todo:
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            for name, ref, image_id in pool.map(do, todo):
                if ref == image_ref(project, project.services[name]):
                    ids[name] = image_id
    return ids


def bake_file(project: Project, names: list[str]) -> dict:
    """`build --print`: the services' builds as a `docker buildx bake` file."""
    targets: dict[str, dict] = {}
    for name in names:
        build = project.services[name].build
        if build is None:
            continue
        target: dict = {"context": build.context}
        if build.dockerfile_inline is not None:
            target["dockerfile-inline"] = build.dockerfile_inline
        else:
            target["dockerfile"] = build.dockerfile
        for key, value in (("args", {k: v for k, v in build.args.items() if v is not None}),
                           ("labels", {k: v for k, v in build.labels.items() if v is not None}),
                           ("contexts", {k: v for k, v in build.additional_contexts.items()
                                         if v is not None}),
                           ("tags", [image_ref(project, project.services[name]),
                                     *build.tags]),
                           ("target", build.target), ("platforms", list(build.platforms)),
                           ("network", build.network), ("cache-from", list(build.cache_from)),
                           ("cache-to", list(build.cache_to))):
            if value:
                target[key] = value
        if build.no_cache:
            target["no-cache"] = True
        if build.pull:
            target["pull"] = True
        targets[name] = target
    return {"group": {"default": {"targets": list(targets)}}, "target": targets}
