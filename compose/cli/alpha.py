"""`berth alpha ...`: docker compose's experimental commands (`viz`)."""
from __future__ import annotations

import typer

from .app import app, load

alpha = typer.Typer(no_args_is_help=True, help="Experimental commands.")
app.add_typer(alpha, name="alpha")


@alpha.command("viz")
def viz(ctx: typer.Context,
        output: str = typer.Option("text", "--output", help="text or dot (Graphviz)."),
        networks: bool = typer.Option(False, "--networks", help="Show each service's networks."),
        ports: bool = typer.Option(False, "--ports", help="Show each service's ports."),
        image: bool = typer.Option(False, "--image", help="Show each service's image."),
        indentation_size: int = typer.Option(1, "--indentation-size", help="Indent dot output by this many."),
        spaces: bool = typer.Option(False, "--spaces", help="Indent dot output with spaces, not tabs.")) -> None:
    """Print the project's dependency graph (text, or Graphviz dot)."""
    from ..viz import VizOptions, dot, text

    if output not in ("text", "dot"):
        raise typer.BadParameter("must be text or dot", param_hint="--output")
    if indentation_size < 0:
        raise typer.BadParameter("must be 0 or more", param_hint="--indentation-size")
    options = VizOptions(networks=networks, ports=ports, image=image,
                         indentation=(" " if spaces else "\t") * indentation_size)
    project = load(ctx)
    typer.echo((dot if output == "dot" else text)(project, options), nl=False)
