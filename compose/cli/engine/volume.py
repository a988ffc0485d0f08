"""`berth volume ...`: named and anonymous volumes."""
from __future__ import annotations

import json
from typing import List, Optional

import typer

from ..app import app
from ..formatting import print_table
from . import engine
from .network import parse_labels

volume_app = typer.Typer(no_args_is_help=True, help="Manage volumes.")
app.add_typer(volume_app, name="volume")


@volume_app.command("create")
def volume_create(name: Optional[str] = typer.Argument(None),
                  label: Optional[List[str]] = typer.Option(None, "-l", "--label")) -> None:
    """Create a named volume."""
    typer.echo(engine().volumes.create(name, parse_labels(label)).name)


@volume_app.command("ls")
def volume_ls(quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """List volumes."""
    vols = engine().volumes.list()
    if quiet:
        for vol in vols:
            typer.echo(vol.name)
        return
    print_table([["local", v.name] for v in vols], ["DRIVER", "VOLUME NAME"])


@volume_app.command("inspect")
def volume_inspect(names: List[str] = typer.Argument(..., metavar="VOLUME...")) -> None:
    """Show volumes as JSON."""
    store = engine().volumes
    typer.echo(json.dumps([store.get(n).to_dict() for n in names], indent=2))


def volumes_in_use(api) -> set[str]:
    return {m.volume for c in api.list() for m in c.spec.mounts if m.volume}


@volume_app.command("rm")
def volume_rm(names: List[str] = typer.Argument(..., metavar="VOLUME..."),
              force: bool = typer.Option(False, "-f", "--force")) -> None:
    """Remove volumes no container uses."""
    api = engine()
    used = volumes_in_use(api)
    for name in names:
        api.volumes.remove(name, used)
        typer.echo(name)


@volume_app.command("prune")
def volume_prune(all_: bool = typer.Option(False, "-a", "--all", help="Named volumes too."),
                 force: bool = typer.Option(False, "-f", "--force")) -> None:
    """Remove unused anonymous volumes (all unused volumes with -a)."""
    api = engine()
    used = volumes_in_use(api)
    for vol in api.volumes.list():
        if vol.name not in used and (all_ or vol.anonymous):
            api.volumes.remove(vol.name)
            typer.echo(f"Deleted: {vol.name}")
