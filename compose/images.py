"""The images a project's services run: present, built, or pulled."""
from __future__ import annotations

from .backend import Backend
from .convert import image_ref
from .errors import ComposeError
from .model import Project


def ensure_images(project: Project, backend: Backend, services: list[str], *, build: bool,
                  no_build: bool, pull: str | None, progress) -> dict[str, str]:
    """service -> image id, for every service given."""
    ids = {}
    for name in services:
        svc = project.services[name]
        ref = image_ref(project, svc)
        image_id = backend.image_id(ref)
        if image_id is None:
            raise ComposeError(f"service {name!r}: image {ref} is not present "
                               "(import it with 'berth image import' or 'berth image load')")
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
