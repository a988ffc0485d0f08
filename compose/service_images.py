"""The images a project's services run: present, built, or pulled.

Pull policy (compose's `pull_policy`, or `up --pull`): always, missing (the default),
never, build. A service with `build:` is built when its image is missing, or always
with `--build`. Builds and pulls of different services run in parallel, bounded.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .backend import Backend, BuildRequest
from .errors import ComposeError
from .events import DONE, FAILED, Output, Reporter, Step, quiet
from .labels import image_ref
from .model import Project

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


def ensure_images(project: Project, backend: Backend, services: list[str], *, build: bool,
                  no_build: bool, pull: str | None, report: Reporter = quiet) -> dict[str, str]:
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
            report(Step("Image", ref, "Building"))
            image_id = build_service(project, backend, name, report=report)
            report(Step("Image", ref, "Built", DONE))
            return name, image_id
        report(Step("Image", ref, "Pulling"))
        try:
            image_id = backend.pull(ref, svc.platform)
        except Exception as err:  # noqa: BLE001 - names the service
            report(Step("Image", ref, "Error", FAILED))
            raise ComposeError(f"service {name!r}: image {ref} is not present and could not be "
                               f"pulled: {err}") from None
        report(Step("Image", ref, "Pulled", DONE))
        return name, image_id

    if todo:
        with ThreadPoolExecutor(max_workers=MAX_PARALLEL) as pool:
            for name, image_id in pool.map(do, todo):
                ids[name] = image_id
    return ids
