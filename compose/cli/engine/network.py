"""`berth network ...`: berth's bridge networks."""
from __future__ import annotations

import json
from typing import List, Optional

import typer

from ..app import app
from ..formatting import print_table
from . import engine, networks

network_app = typer.Typer(no_args_is_help=True, help="Manage networks.")
app.add_typer(network_app, name="network")


def parse_labels(items: list[str] | None) -> dict[str, str]:
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
                            internal=internal, labels=parse_labels(label))
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
