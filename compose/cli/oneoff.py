"""Working inside a project's containers: `exec`, `run`, `attach`, `cp`."""
from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from .. import service
from ..backend import ExecRequest
from ..errors import ComposeError
from .app import app, backend, load, progress, project_name
from .up import check_pull


def resolve_env(items: list[str]) -> list[str]:
    """-e KEY=VALUE as given; -e KEY takes KEY from this environment (or drops it)."""
    out = []
    for item in items:
        if "=" in item:
            out.append(item)
        elif item in os.environ:
            out.append(f"{item}={os.environ[item]}")
    return out


@app.command("exec", context_settings={"allow_interspersed_args": False})
def exec_(ctx: typer.Context, service_: str = typer.Argument(..., metavar="SERVICE"),
          command: List[str] = typer.Argument(..., metavar="COMMAND [ARG...]"),
          no_tty: bool = typer.Option(False, "-T", "--no-TTY"), user: Optional[str] = typer.Option(None, "-u", "--user"),
          workdir: Optional[str] = typer.Option(None, "-w", "--workdir"),
          env: Optional[List[str]] = typer.Option(None, "-e", "--env"),
          index: int = typer.Option(1, "--index"), detach: bool = typer.Option(False, "-d", "--detach"),
          privileged: bool = typer.Option(False, "--privileged")) -> None:
    """Run a command in a running service container (with a terminal unless -T)."""
    from .terminal import exec_in

    _, name = project_name(ctx)
    be = backend()
    tty = not no_tty and sys.stdin.isatty() and not detach
    request = ExecRequest(list(command), user, workdir, resolve_env(env or []), privileged, tty)
    start = lambda req: service.exec_(name, be, service_, index, req)  # noqa: E731
    if detach:
        start(request)
        return
    raise typer.Exit(exec_in(start, request, interactive=True))


@app.command("run", context_settings={"allow_interspersed_args": False})
def run(ctx: typer.Context, service_: str = typer.Argument(..., metavar="SERVICE"),
        command: Optional[List[str]] = typer.Argument(None, metavar="[COMMAND [ARG...]]"),
        rm: bool = typer.Option(False, "--rm"), detach: bool = typer.Option(False, "-d", "--detach"),
        env: Optional[List[str]] = typer.Option(None, "-e", "--env"),
        volume: Optional[List[str]] = typer.Option(None, "-v", "--volume"),
        publish: Optional[List[str]] = typer.Option(None, "-p", "--publish"),
        no_deps: bool = typer.Option(False, "--no-deps"),
        entrypoint: Optional[str] = typer.Option(None, "--entrypoint"),
        name_: Optional[str] = typer.Option(None, "--name"),
        user: Optional[str] = typer.Option(None, "-u", "--user"),
        workdir: Optional[str] = typer.Option(None, "-w", "--workdir"),
        no_tty: bool = typer.Option(False, "-T", "--no-TTY"),
        service_ports: bool = typer.Option(False, "--service-ports"),
        use_aliases: bool = typer.Option(False, "--use-aliases",
                                         help="Answer to the service's name and aliases too."),
        label: Optional[List[str]] = typer.Option(None, "-l", "--label"),
        cap_add: Optional[List[str]] = typer.Option(None, "--cap-add"),
        cap_drop: Optional[List[str]] = typer.Option(None, "--cap-drop"),
        build: bool = typer.Option(False, "--build"),
        pull: Optional[str] = typer.Option(None, "--pull", help="always, missing or never"),
        quiet_pull: bool = typer.Option(False, "--quiet-pull",
                                        help="Accepted: berth shows no pull progress anyway."),
        remove_orphans: bool = typer.Option(False, "--remove-orphans"),
        interactive: bool = typer.Option(True, "-i", "--interactive",
                                         help="Accepted: stdin is kept open (the default).")) -> None:
    """Run a one-off command in a new container of a service."""
    from .terminal import attach

    check_pull(pull)
    project = load(ctx, (service_,))
    be = backend()
    tty = not no_tty and not detach and sys.stdin.isatty()
    request = service.RunRequest(
        service_, command=list(command) if command else None,
        entrypoint=None if entrypoint is None else ([entrypoint] if entrypoint else []),
        env=resolve_env(env or []), volumes=list(volume or []), publish=list(publish or []),
        service_ports=service_ports, name=name_, user=user, workdir=workdir,
        labels=dict(item.partition("=")[::2] for item in label or []),
        cap_add=list(cap_add or []), cap_drop=list(cap_drop or []), use_aliases=use_aliases,
        no_deps=no_deps, build=build, pull=pull, remove_orphans=remove_orphans,
        detach=detach, tty=tty, rm=rm)
    shown = progress("Running")
    try:
        info = service.run(project, be, request, shown)
    finally:
        shown.close()
    if detach:
        typer.echo(info.name)
        return
    code = attach(be.attach(info.id, stdin=True), stdin=True, tty=tty)
    be.wait_finished(info.id)
    raise typer.Exit(code)


@app.command("attach")
def attach_(ctx: typer.Context, service_: str = typer.Argument(..., metavar="SERVICE"),
            index: int = typer.Option(1, "--index"),
            no_stdin: bool = typer.Option(False, "--no-stdin")) -> None:
    """Attach this terminal to a service container's output (and input) until it exits."""
    from .terminal import attach

    _, name = project_name(ctx)
    be = backend()
    info = service.container(name, be, service_, index, running=True)
    tty = info.tty and sys.stdin.isatty()
    raise typer.Exit(attach(be.attach(info.id, stdin=not no_stdin), stdin=not no_stdin, tty=tty))


@app.command("cp")
def cp(ctx: typer.Context, source: str, dest: str, index: int = typer.Option(1, "--index"),
       archive: bool = typer.Option(False, "-a", "--archive")) -> None:
    """Copy files between a service container and the host (SERVICE:PATH either side)."""
    _, name = project_name(ctx)
    be = backend()
    if ":" in source and not source.startswith(("/", ".")):
        service_, _, path = source.partition(":")
        be.copy_out(service.container(name, be, service_, index).id, path, dest)
    elif ":" in dest and not dest.startswith(("/", ".")):
        service_, _, path = dest.partition(":")
        be.copy_in(service.container(name, be, service_, index).id, source, path)
    else:
        raise ComposeError("one of SOURCE and DEST must be SERVICE:PATH")
