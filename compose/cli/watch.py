"""`berth watch` and `berth up --watch`: compose's develop.watch."""
from __future__ import annotations

import sys
import threading
import time
from typing import List, Optional

import typer

from .. import service
from .app import app, backend, load


def make_watcher(ctx, project, be, services, quiet: bool):
    from ..watch import Watcher
    from .up import converge

    def say(line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} watch: {line}", file=sys.stderr, flush=True)

    def rebuild(name: str) -> None:
        converge(ctx, service.UpRequest(services=(name,), no_deps=True, build=True), quiet)

    return Watcher(project, be, services, say, rebuild)


@app.command("watch")
def watch(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
          no_up: bool = typer.Option(False, "--no-up", help="Don't build and start first."),
          prune: bool = typer.Option(False, "--prune", help="Remove dangling images after rebuilds."),
          quiet: bool = typer.Option(False, "--quiet", help="Hide build output.")) -> None:
    """Watch the build contexts of services and sync, restart or rebuild on changes."""
    from .up import converge

    if no_up:
        project = load(ctx, tuple(services or ()))
        be = backend()
    else:
        project, be, _ = converge(ctx, service.UpRequest(services=tuple(services or ())), quiet)
    names = list(services or project.services)
    watcher = make_watcher(ctx, project, be, names, quiet)
    stop = threading.Event()
    try:
        watcher.run(stop)
    except KeyboardInterrupt:
        stop.set()
    if prune:
        be.prune_images()
