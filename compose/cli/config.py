"""`berth config`: print the resolved project, like `docker compose config`."""
from __future__ import annotations

from typing import List, Optional

import typer

from .app import app, load


@app.command("config")
def config(
    ctx: typer.Context,
    services_arg: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
    fmt: str = typer.Option("yaml", "--format", help="yaml or json."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only validate."),
    services: bool = typer.Option(False, "--services", help="Print the service names."),
    volumes: bool = typer.Option(False, "--volumes", help="Print the volume names."),
    networks: bool = typer.Option(False, "--networks", help="Print the network names."),
    profiles: bool = typer.Option(False, "--profiles", help="Print the profile names."),
    images: bool = typer.Option(False, "--images", help="Print the image names."),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Write to a file."),
) -> None:
    """Validate the compose files and print the resolved, normalized project."""
    from ..render import config_tree, image_name, to_json, to_yaml

    if fmt not in ("yaml", "json"):
        raise typer.BadParameter("must be yaml or json", param_hint="--format")
    project = load(ctx, tuple(services_arg or ()))
    if quiet:
        return
    names = list(services_arg or project.services)
    if services:
        text = "\n".join(names)
    elif volumes:
        text = "\n".join(project.volumes)
    elif networks:
        text = "\n".join(project.networks)
    elif profiles:
        text = "\n".join(project.profiles)
    elif images:
        text = "\n".join(image_name(project, name) for name in names)
    else:
        tree = config_tree(project)
        if services_arg:
            tree["services"] = {k: v for k, v in tree["services"].items() if k in names}
        text = to_json(tree) if fmt == "json" else to_yaml(tree).rstrip("\n")
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    elif text:
        typer.echo(text)
