"""`berth pull` and `push`: a project's service images, or images named outright."""
from __future__ import annotations

import sys
from typing import List, Optional

import typer

from ..errors import ComposeError
from ..labels import image_ref
from .app import app, backend, load


class LayerProgress:
    """Per-layer progress of a pull or push: bars on a terminal, a line per step
    otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
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

    be = backend()
    for ref in refs:
        progress = None if quiet else LayerProgress()
        try:
            be.pull(ref, platform, progress)
        finally:
            if progress:
                progress.close()
        parsed = parse(ref)
        typer.echo(parsed.familiar() if not parsed.digest else str(parsed))


def push_images(refs: list[str], quiet: bool, ignore_failures: bool = False) -> None:
    be = backend()
    for ref in refs:
        progress = None if quiet else LayerProgress()
        try:
            digest = be.push(ref, progress)
        except Exception as err:  # noqa: BLE001 - reported per image
            if not ignore_failures:
                raise
            print(f"berth: {ref}: {err}", file=sys.stderr)
            continue
        finally:
            if progress:
                progress.close()
        typer.echo(f"{ref}: digest: {digest}")


def _project_or_none(ctx: typer.Context, names: list[str]):
    try:
        project = load(ctx)
    except ComposeError:
        return None
    if all(name in project.services for name in names):
        return project
    return None


def _services(project, names: list[str], include_deps: bool) -> list[str]:
    from ..graph import with_dependencies

    named = names or list(project.services)
    if include_deps:
        wanted = with_dependencies(project, named)
        return [name for name in project.services if name in wanted]
    return named


@app.command("pull")
def pull(ctx: typer.Context, names: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...|IMAGE...]"),
         platform: Optional[str] = typer.Option(None, "--platform"),
         quiet: bool = typer.Option(False, "-q", "--quiet"),
         ignore_buildable: bool = typer.Option(False, "--ignore-buildable"),
         ignore_pull_failures: bool = typer.Option(False, "--ignore-pull-failures"),
         include_deps: bool = typer.Option(False, "--include-deps", help="Also pull what the services depend on."),
         policy: Optional[str] = typer.Option(None, "--policy", help="missing or always")) -> None:
    """Pull the images of a project's services, or the images named."""
    from ..pullpolicy import pull_command_wanted

    if policy not in (None, "missing", "always"):
        raise typer.BadParameter("must be missing or always", param_hint="--policy")
    project = _project_or_none(ctx, list(names or []))
    if project is None:
        if not names:
            raise ComposeError("nothing to pull: no compose project here and no image named")
        pull_images(list(names), platform, quiet)
        return
    be = backend()
    for name in _services(project, list(names or []), include_deps):
        svc = project.services[name]
        if not svc.image or (ignore_buildable and svc.build):
            continue
        ref = image_ref(project, svc)
        if not pull_command_wanted(svc.pull_policy, svc.pull_refresh_after, policy,
                                   be.image_id(ref) is not None):
            continue
        try:
            pull_images([ref], platform or svc.platform, quiet)
        except Exception as err:  # noqa: BLE001 - reported per service
            if not ignore_pull_failures:
                raise ComposeError(f"service {name!r}: {err}") from None
            print(f"berth: service {name!r}: {err}", file=sys.stderr)


@app.command("push")
def push(ctx: typer.Context, names: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...|IMAGE...]"),
         quiet: bool = typer.Option(False, "-q", "--quiet"),
         include_deps: bool = typer.Option(False, "--include-deps", help="Also push what the services depend on."),
         ignore_push_failures: bool = typer.Option(False, "--ignore-push-failures",
                                                   help="Push what can be; report the rest.")) -> None:
    """Push the images of a project's services, or the images named."""
    project = _project_or_none(ctx, list(names or []))
    if project is None:
        if not names:
            raise ComposeError("nothing to push: no compose project here and no image named")
        push_images(list(names), quiet, ignore_push_failures)
        return
    refs = [image_ref(project, project.services[name])
            for name in _services(project, list(names or []), include_deps)
            if project.services[name].image or project.services[name].build]
    push_images(list(dict.fromkeys(refs)), quiet, ignore_push_failures)
