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
from .terminal import DETACH_KEYS
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


def env_files(paths: list[str]) -> list[str]:
    """--env-from-file: KEY=VALUE lines of dotenv files, in order."""
    from ..dotenv import DotenvError, parse_dotenv

    out = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                values = parse_dotenv(handle.read(), os.environ.get)
        except OSError as err:
            raise ComposeError(f"--env-from-file {path}: {err.strerror}") from None
        except DotenvError as err:
            raise ComposeError(f"{path}:{err.line}: {err}") from None
        out += [f"{key}={value}" for key, value in values.items()]
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
        env_from_file: Optional[List[str]] = typer.Option(None, "--env-from-file",
                                                          help="Set variables from a file (repeatable)."),
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
        quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing on stdout but the command's output."),
        quiet_build: bool = typer.Option(False, "--quiet-build", help="Don't show what a build prints."),
        interactive: bool = typer.Option(True, "-i", "--interactive",
                                         help="Accepted: stdin is kept open (the default).")) -> None:
    """Run a one-off command in a new container of a service."""
    from .terminal import attach

    check_pull(pull)
    variables = env_files(env_from_file or []) + resolve_env(env or [])
    project = load(ctx, (service_,))
    be = backend()
    tty = not no_tty and not detach and sys.stdin.isatty()
    request = service.RunRequest(
        service_, command=list(command) if command else None,
        entrypoint=None if entrypoint is None else ([entrypoint] if entrypoint else []),
        env=variables, volumes=list(volume or []), publish=list(publish or []),
        service_ports=service_ports, name=name_, user=user, workdir=workdir,
        labels=dict(item.partition("=")[::2] for item in label or []),
        cap_add=list(cap_add or []), cap_drop=list(cap_drop or []), use_aliases=use_aliases,
        no_deps=no_deps, build=build, pull=pull, remove_orphans=remove_orphans,
        detach=detach, tty=tty, rm=rm)
    shown = progress("Running", builds=not quiet_build, quiet=quiet)
    try:
        info = service.run(project, be, request, shown)
    finally:
        shown.close()
    if detach:
        if not quiet:
            typer.echo(info.name)
        return
    code = attach(be.attach(info.id, stdin=True), stdin=True, tty=tty)
    be.wait_finished(info.id)
    raise typer.Exit(code)


@app.command("attach")
def attach_(ctx: typer.Context, service_: str = typer.Argument(..., metavar="SERVICE"),
            index: int = typer.Option(1, "--index"),
            no_stdin: bool = typer.Option(False, "--no-stdin"),
            detach_keys: str = typer.Option(DETACH_KEYS, "--detach-keys",
                                            help="The keys that detach (and leave it running)."),
            sig_proxy: bool = typer.Option(True, "--sig-proxy/--no-sig-proxy",
                                           help="Pass Ctrl-C and SIGTERM on to the container.")) -> None:
    """Attach this terminal to a service container's output (and input) until it exits."""
    import signal

    from .terminal import DETACHED, attach, parse_detach_keys

    try:
        keys = parse_detach_keys(detach_keys)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--detach-keys") from None
    _, name = project_name(ctx)
    be = backend()
    info = service.container(name, be, service_, index, running=True)
    tty = info.tty and sys.stdin.isatty()
    relay = (lambda number: be.kill(info.id, signal.Signals(number).name)) if sig_proxy else None
    code = attach(be.attach(info.id, stdin=not no_stdin), stdin=not no_stdin, tty=tty,
                  detach_keys=keys, on_signal=relay)
    if code == DETACHED:
        typer.echo(f"\r\nDetached from {info.name} (it keeps running)", err=True)
        code = 0
    raise typer.Exit(code)


def _copy_target(name: str, be, text: str, index: int, all_: bool):
    """SERVICE:PATH -> (the containers, path); None for a host path."""
    if ":" not in text or text.startswith(("/", ".")):
        return None
    service_, _, path = text.partition(":")
    if all_:
        return [c for c in service.containers(name, be, [service_], oneoff=True)], path
    return [service.container(name, be, service_, index)], path


@app.command("cp")
def cp(ctx: typer.Context, source: str, dest: str, index: int = typer.Option(1, "--index"),
       archive: bool = typer.Option(False, "-a", "--archive",
                                    help="Keep the host files' owners (else root's)."),
       follow_link: bool = typer.Option(False, "-L", "--follow-link",
                                        help="Copy what a symbolic link SOURCE on the host points at."),
       all_: bool = typer.Option(False, "--all", help="Every container of the service, "
                                 "run's too (into them; out of the first).")) -> None:
    """Copy files between a service container and the host (SERVICE:PATH either side)."""
    _, name = project_name(ctx)
    be = backend()
    out_of, into = _copy_target(name, be, source, index, all_), _copy_target(name, be, dest,
                                                                              index, all_)
    if out_of and not into:
        containers, path = out_of
        be.copy_out(containers[0].id, path, dest)
    elif into and not out_of:
        containers, path = into
        for info in containers:
            be.copy_in(info.id, source, path, archive=archive, follow_link=follow_link)
    else:
        raise ComposeError("one of SOURCE and DEST must be SERVICE:PATH, the other a host path")
