"""`berth build`: the images of a project's services."""
from __future__ import annotations

from typing import List, Optional

import typer

from ..backend import BuildRequest
from ..errors import ComposeError
from .app import app, backend, load, progress


def parse_build_args(items: list[str] | None) -> dict[str, str | None]:
    """--build-arg KEY=VALUE, or KEY alone (its value from the environment at build)."""
    out: dict[str, str | None] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        out[key] = value if sep else None
    return out


@app.command("build")
def build(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
          no_cache: bool = typer.Option(False, "--no-cache"), pull: bool = typer.Option(False, "--pull"),
          build_arg: Optional[List[str]] = typer.Option(None, "--build-arg"),
          quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Build the images of a project's services that have a build section."""
    from ..service_images import build_service

    project = load(ctx, tuple(services or ()))
    be = backend()
    names = list(services or [n for n, s in project.services.items() if s.build])
    request = BuildRequest(no_cache, pull, parse_build_args(build_arg))
    shown = progress("Building", builds=not quiet)
    try:
        for name in names:
            if project.services[name].build is None:
                if services:
                    raise ComposeError(f"service {name!r} has no build section")
                continue
            image_id = build_service(project, be, name, request, shown)
            if quiet:
                typer.echo(image_id)
    finally:
        shown.close()
