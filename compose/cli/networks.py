"""`berth network ...` and `berth volume ...`."""
from __future__ import annotations

import json
import os
from typing import List, Optional

import typer

from .app import app, engine, print_table

network_app = typer.Typer(no_args_is_help=True, help="Manage networks.")
volume_app = typer.Typer(no_args_is_help=True, help="Manage volumes.")
app.add_typer(network_app, name="network")
app.add_typer(volume_app, name="volume")


def networks():
    from runtime.network.api import Networks
    from runtime.paths import Paths

    return Networks(Paths.from_env(os.environ))


def _labels(items: list[str] | None) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in items or [])


@network_app.command("create")
def create(name: str, subnet: Optional[str] = typer.Option(None, "--subnet"),
           gateway: Optional[str] = typer.Option(None, "--gateway"),
           ip_range: Optional[str] = typer.Option(None, "--ip-range"),
           internal: bool = typer.Option(False, "--internal"),
           label: Optional[List[str]] = typer.Option(None, "-l", "--label"),
           driver: str = typer.Option("bridge", "-d", "--driver")) -> None:
    """Create a network (a bridge with its own subnet and DNS)."""
    if driver != "bridge":
        raise typer.BadParameter("berth only has the bridge driver", param_hint="--driver")
    net = networks().create(name, subnet=subnet, gateway=gateway, ip_range=ip_range,
                            internal=internal, labels=_labels(label))
    typer.echo(net.id)


@network_app.command("ls")
def ls(quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """List networks."""
    nets = networks().list()
    if quiet:
        for net in nets:
            typer.echo(net.id[:12])
        return
    print_table([[n.id[:12], n.name, n.driver, n.subnet, "internal" if n.internal else ""]
                 for n in nets], ["NETWORK ID", "NAME", "DRIVER", "SUBNET", ""])


@network_app.command("inspect")
def inspect(names: List[str] = typer.Argument(..., metavar="NETWORK...")) -> None:
    """Show networks and the containers attached to them, as JSON."""
    api = networks()
    out = []
    endpoints = api.records.all_endpoints()
    for name in names:
        net = api.get(name)
        attached = {}
        for ep in endpoints:
            for att in ep.attachments:
                if att.network == net.name:
                    attached[ep.container] = {"Name": ep.name, "IPv4Address": f"{att.ip}/{att.prefix}",
                                              "Aliases": att.aliases}
        data = net.to_dict()
        data["Containers"] = attached
        out.append(data)
    typer.echo(json.dumps(out, indent=2))


@network_app.command("rm")
def rm(names: List[str] = typer.Argument(..., metavar="NETWORK...")) -> None:
    """Remove networks that no running container uses."""
    api = networks()
    for name in names:
        api.remove(name)
        typer.echo(name)


@network_app.command("prune")
def prune(force: bool = typer.Option(False, "-f", "--force")) -> None:
    """Remove every network no running container uses."""
    for name in networks().prune():
        typer.echo(f"Deleted Network: {name}")


@network_app.command("connect")
def connect(network: str, container: str, alias: Optional[List[str]] = typer.Option(None, "--alias"),
            ip: Optional[str] = typer.Option(None, "--ip")) -> None:
    """Attach a running container to a network."""
    c = engine().get(container)
    networks().connect(c.id, c.name, network, list(alias or []), ip)


@network_app.command("disconnect")
def disconnect(network: str, container: str) -> None:
    """Detach a running container from a network."""
    c = engine().get(container)
    networks().disconnect(c.id, c.name, network)


@volume_app.command("create")
def volume_create(name: Optional[str] = typer.Argument(None),
                  label: Optional[List[str]] = typer.Option(None, "-l", "--label")) -> None:
    """Create a named volume."""
    typer.echo(engine().volumes.create(name, _labels(label)).name)


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
