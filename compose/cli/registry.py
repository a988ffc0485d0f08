"""`berth pull`, `push`, `login`, `logout`, and `berth image pull|push`."""
from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from ..errors import ComposeError
from .app import app, engine
from .images import image_app


def registry():
    from runtime import settings
    from runtime.images.registry import Registry

    api = engine()
    conf = settings.load(api.paths)
    return Registry(api.images, dict(os.environ), conf.insecure_registries,
                    conf.max_concurrent_downloads)


class LayerProgress:
    """Per-layer progress: bars on a terminal, a line per step otherwise."""

    def __init__(self, title: str) -> None:
        self.tty = sys.stderr.isatty()
        self.title = title
        self.tasks: dict[str, int] = {}
        self.shown: dict[str, str] = {}
        self.bars = None
        if self.tty:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self.bars = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 transient=False)
            self.bars.start()

    def __call__(self, digest: str, status: str, done: int, total: int) -> None:
        short = digest.split(":")[-1][:12]
        if self.bars is not None:
            if digest not in self.tasks:
                self.tasks[digest] = self.bars.add_task(short, total=total or None)
            self.bars.update(self.tasks[digest], completed=done, total=total or None,
                             description=f"{short} {status}")
        elif digest not in self.shown or (status != self.shown[digest] and status != "Downloading"):
            self.shown[digest] = status
            print(f"{short}: {status}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bars is not None:
            self.bars.stop()


def pull_images(refs: list[str], platform: str | None, quiet: bool) -> None:
    from common.reference import parse

    reg = registry()
    for ref in refs:
        progress = None if quiet else LayerProgress(f"Pulling {ref}")
        try:
            image = reg.pull(ref, platform, progress)
        finally:
            if progress:
                progress.close()
        if not quiet:
            print(f"Digest: {image.manifest_digest}", file=sys.stderr)
        typer.echo(parse(ref).familiar() if not parse(ref).digest else str(parse(ref)))


def push_images(refs: list[str], quiet: bool) -> None:
    reg = registry()
    for ref in refs:
        progress = None if quiet else LayerProgress(f"Pushing {ref}")
        try:
            digest = reg.push(ref, progress)
        finally:
            if progress:
                progress.close()
        typer.echo(f"{ref}: digest: {digest}")


@image_app.command("pull")
def image_pull(refs: List[str] = typer.Argument(..., metavar="IMAGE..."),
               platform: Optional[str] = typer.Option(None, "--platform"),
               quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Pull images from their registries."""
    pull_images(refs, platform, quiet)


@image_app.command("push")
def image_push(refs: List[str] = typer.Argument(..., metavar="IMAGE..."),
               quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Push images to their registries."""
    push_images(refs, quiet)


def _project_or_none(ctx: typer.Context, names: list[str]):
    from .app import load

    try:
        project = load(ctx)
    except ComposeError:
        return None
    if all(name in project.services for name in names):
        return project
    return None


@app.command("pull")
def pull(ctx: typer.Context, names: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...|IMAGE...]"),
         platform: Optional[str] = typer.Option(None, "--platform"),
         quiet: bool = typer.Option(False, "-q", "--quiet"),
         ignore_buildable: bool = typer.Option(False, "--ignore-buildable"),
         ignore_pull_failures: bool = typer.Option(False, "--ignore-pull-failures")) -> None:
    """Pull the images of a project's services, or the images named."""
    project = _project_or_none(ctx, list(names or []))
    if project is None:
        if not names:
            raise ComposeError("nothing to pull: no compose project here and no image named")
        pull_images(list(names), platform, quiet)
        return
    from ..convert import image_ref

    for name in names or list(project.services):
        svc = project.services[name]
        if not svc.image or (ignore_buildable and svc.build):
            continue
        try:
            pull_images([image_ref(project, svc)], platform or svc.platform, quiet)
        except Exception as err:  # noqa: BLE001 - reported per service
            if not ignore_pull_failures:
                raise ComposeError(f"service {name!r}: {err}") from None
            print(f"berth: service {name!r}: {err}", file=sys.stderr)


@app.command("push")
def push(ctx: typer.Context, names: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...|IMAGE...]"),
         quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Push the images of a project's services, or the images named."""
    project = _project_or_none(ctx, list(names or []))
    if project is None:
        if not names:
            raise ComposeError("nothing to push: no compose project here and no image named")
        push_images(list(names), quiet)
        return
    from ..convert import image_ref

    for name in names or list(project.services):
        svc = project.services[name]
        if svc.image or svc.build:
            push_images([image_ref(project, svc)], quiet)


@app.command("login")
def login(server: Optional[str] = typer.Argument(None),
          username: Optional[str] = typer.Option(None, "-u", "--username"),
          password: Optional[str] = typer.Option(None, "-p", "--password"),
          password_stdin: bool = typer.Option(False, "--password-stdin")) -> None:
    """Store credentials for a registry (checked against it first)."""
    from runtime.images.registry import save_credentials

    server = server or "docker.io"
    if password_stdin:
        password = sys.stdin.read().rstrip("\n")
    if not username:
        username = typer.prompt("Username")
    if password is None:
        password = typer.prompt("Password", hide_input=True)
    registry().login(server, username, password)
    path = save_credentials(server, username, password, dict(os.environ))
    typer.echo(f"Login Succeeded (credentials stored in {path})")


@app.command("logout")
def logout(server: Optional[str] = typer.Argument(None)) -> None:
    """Forget the credentials of a registry."""
    from runtime.images.registry import remove_credentials

    server = server or "docker.io"
    if remove_credentials(server, dict(os.environ)):
        typer.echo(f"Removing login credentials for {server}")
    else:
        typer.echo(f"Not logged in to {server}")
