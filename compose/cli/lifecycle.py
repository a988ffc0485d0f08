"""`start`, `stop`, `restart`, `kill`, `rm`, `pause`, `unpause` and `wait`: existing
containers of a project."""
from __future__ import annotations

from typing import List, Optional

import typer

from .. import service
from .app import app, backend, progress, project_name


def _shown(title: str, work) -> None:
    """Run `work(reporter)` with its progress shown."""
    shown = progress(title)
    try:
        work(shown)
    finally:
        shown.close()


@app.command("start")
def start(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
          wait: bool = typer.Option(False, "--wait", help="Wait until running (healthy, or exited 0)."),
          wait_timeout: Optional[float] = typer.Option(None, "--wait-timeout")) -> None:
    """Start existing containers, dependencies first, each followed by its post_start hooks."""
    project, name = project_name(ctx)
    be = backend()
    _shown("Running", lambda shown: service.start(name, project, be, services or (), shown))
    if wait:
        service.wait_ready(name, project, be, list(services or ()), wait_timeout)


@app.command("stop")
def stop(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
         timeout: Optional[float] = typer.Option(None, "-t", "--timeout")) -> None:
    """Stop running containers, dependents first."""
    project, name = project_name(ctx)
    be = backend()
    service.containers(name, be, services or ())  # naming a service it lacks is an error
    _shown("Stopping", lambda shown: service.stop(name, project, be, services or (), timeout,
                                                  shown))


@app.command("restart")
def restart(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
            timeout: Optional[float] = typer.Option(None, "-t", "--timeout")) -> None:
    """Restart containers (in place: they keep their addresses and ports)."""
    project, name = project_name(ctx)
    be = backend()
    _shown("Restarting", lambda shown: service.restart(name, project, be, services or (),
                                                       timeout, shown))


@app.command("kill")
def kill(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
         sig: str = typer.Option("SIGKILL", "-s", "--signal")) -> None:
    """Send a signal to the project's running containers."""
    _, name = project_name(ctx)
    service.signal(name, backend(), "kill", services or (), sig)


@app.command("pause")
def pause(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]")) -> None:
    """Freeze the project's containers."""
    _, name = project_name(ctx)
    service.signal(name, backend(), "pause", services or ())


@app.command("unpause")
def unpause(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]")) -> None:
    """Thaw the project's containers."""
    _, name = project_name(ctx)
    service.signal(name, backend(), "unpause", services or ())


@app.command("rm")
def rm(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
       force: bool = typer.Option(False, "-f", "--force"), stop_first: bool = typer.Option(False, "-s", "--stop"),
       volumes: bool = typer.Option(False, "-v", "--volumes")) -> None:
    """Remove stopped containers (running ones too with --stop)."""
    project, name = project_name(ctx)
    be = backend()
    service.containers(name, be, services or ())
    removed: list = []
    _shown("Removing", lambda shown: removed.extend(
        service.rm(name, project, be, services or (), stop_first, volumes, shown)))
    for info in removed:
        typer.echo(f"Removed {info.name}", err=True)


@app.command("wait")
def wait(ctx: typer.Context, services: List[str] = typer.Argument(..., metavar="SERVICE..."),
         down_project: bool = typer.Option(False, "--down-project")) -> None:
    """Wait for containers to stop; print their exit codes."""
    _, name = project_name(ctx)
    code = 0
    for _, code in service.wait(name, backend(), services):
        typer.echo(str(code))
    raise typer.Exit(code)
