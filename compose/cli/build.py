"""`berth build`: the images of a project's services."""
from __future__ import annotations

import json
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
          quiet: bool = typer.Option(False, "-q", "--quiet"),
          with_dependencies: bool = typer.Option(False, "--with-dependencies",
                                                 help="Also build what the services depend on."),
          push: bool = typer.Option(False, "--push", help="Push the images built."),
          print_: bool = typer.Option(False, "--print", help="Print the equivalent bake file."),
          check: bool = typer.Option(False, "--check", help="Check the Dockerfiles; build nothing.")) -> None:
    """Build the images of a project's services that have a build section."""
    from ..graph import with_dependencies as dependencies
    from ..labels import image_ref
    from ..service_images import bake_file, build_service

    project = load(ctx, tuple(services or ()))
    named = list(services or project.services)
    if with_dependencies:
        named = [n for n in project.services if n in dependencies(project, named)]
    for name in services or ():
        if project.services[name].build is None and not with_dependencies:
            raise ComposeError(f"service {name!r} has no build section")
    names = [n for n in named if project.services[n].build is not None]
    if print_:
        typer.echo(json.dumps(bake_file(project, names), indent=2))
        return
    be = backend()
    if check:
        found = [f"service {name!r}: {line}" for name in names
                 for line in be.check_build(project, project.services[name])]
        for line in found:
            typer.echo(line)
        if found:
            raise typer.Exit(1)
        typer.echo("Check complete, no warnings found.", err=True)
        return
    request = BuildRequest(no_cache, pull, parse_build_args(build_arg))
    shown = progress("Building", builds=not quiet)
    try:
        for name in names:
            image_id = build_service(project, be, name, request, shown)
            if quiet:
                typer.echo(image_id)
    finally:
        shown.close()
    if push:
        from .registry import push_images

        push_images([image_ref(project, project.services[n]) for n in names
                     if project.services[n].image], quiet)
