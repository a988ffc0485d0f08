"""`export`, `commit` and `publish`: a service container's files as a tar, a service
container as an image, the project as an OCI artifact."""
from __future__ import annotations

from typing import List, Optional

import typer

from .. import service
from .app import app, backend, load, progress, project_name


@app.command("export")
def export(ctx: typer.Context, service_: str = typer.Argument(..., metavar="SERVICE"),
           index: int = typer.Option(1, "--index"),
           output: Optional[str] = typer.Option(None, "-o", "--output", help="Write to a file, not stdout.")) -> None:
    """Write a service container's filesystem (not its volumes) as a tar archive."""
    import sys

    _, name = project_name(ctx)
    be = backend()
    info = service.container(name, be, service_, index)
    if output is None and sys.stdout.isatty():
        raise typer.BadParameter("refusing to write a tar archive to a terminal: use -o FILE "
                                 "or a redirection", param_hint="-o")
    sys.stdout.flush()
    be.export(info.id, output or "/dev/stdout")


@app.command("commit")
def commit(ctx: typer.Context, service_: str = typer.Argument(..., metavar="SERVICE"),
           reference: Optional[str] = typer.Argument(None, metavar="[REPOSITORY[:TAG]]"),
           index: int = typer.Option(1, "--index"),
           author: str = typer.Option("", "-a", "--author"),
           message: str = typer.Option("", "-m", "--message"),
           change: Optional[List[str]] = typer.Option(None, "-c", "--change",
                                                     help="A Dockerfile instruction for the image (CMD, ENV...)."),
           pause: bool = typer.Option(True, "-p", "--pause/--no-pause",
                                      help="Freeze the container meanwhile.")) -> None:
    """Make an image of a service container: its image and what changed in it."""
    _, name = project_name(ctx)
    be = backend()
    info = service.container(name, be, service_, index)
    typer.echo(be.commit(info.id, reference, author, message, list(change or []), pause))


@app.command("publish")
def publish(ctx: typer.Context, repository: str = typer.Argument(..., metavar="REPOSITORY[:TAG]"),
            with_env: bool = typer.Option(False, "--with-env", help="Publish the environment values too."),
            resolve_image_digests: bool = typer.Option(False, "--resolve-image-digests",
                                                       help="Pin the images to their digests."),
            oci_version: Optional[str] = typer.Option(None, "--oci-version", help="1.1 (berth's only)."),
            yes: bool = typer.Option(False, "-y", "--yes", help="Accepted: berth never asks.")) -> None:
    """Publish the project (its resolved compose file) as an OCI artifact."""
    import time

    from ..errors import ComposeError
    from ..events import DONE, Step
    from ..publish import artifact, check_publishable
    from ..render import config_tree, to_yaml
    from .config import _pinned

    if oci_version not in (None, "1.1"):
        raise typer.BadParameter("berth publishes OCI 1.1 artifacts", param_hint="--oci-version")
    if repository.startswith("oci://"):
        repository = repository[len("oci://"):]
    project = load(ctx)
    check_publishable(project, with_env)
    tree = config_tree(project)
    tree.pop("name", None)
    if resolve_image_digests:
        tree = _pinned(tree, lock=False)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    made = artifact(to_yaml(tree), created)
    be = backend()
    shown = progress("Publishing")
    try:
        shown(Step("Artifact", repository, "Publishing"))
        try:
            digest = be.push_blobs(repository, made.blobs, made.manifest, made.media_type)
        except ComposeError:
            raise
        except Exception as err:  # noqa: BLE001 - a registry's answer, named
            raise ComposeError(f"cannot publish {repository}: {err}") from None
        shown(Step("Artifact", repository, "Published", DONE))
    finally:
        shown.close()
    typer.echo(f"{repository}@{digest}")
