"""`up`, `create`, `down` and `scale`: the commands that bring a project up or down."""
from __future__ import annotations

import signal
import threading
import time
from typing import List, Optional

import typer

from .. import service
from ..labels import ContainerInfo
from .app import app, backend, color, load, options, parallel, progress, project_name


def check_pull(pull: str | None) -> None:
    """`--pull` of up, create and run."""
    if pull not in (None, "always", "missing", "never", "build"):
        raise typer.BadParameter("must be always, missing or never", param_hint="--pull")


def parse_scale(items: list[str] | None, hint: str = "--scale") -> dict[str, int]:
    out = {}
    for item in items or []:
        name, _, count = item.partition("=")
        if not count.isdigit():
            raise typer.BadParameter(f"expected SERVICE=NUMBER, got {item!r}", param_hint=hint)
        out[name] = int(count)
    return out


def converge(ctx: typer.Context, request: service.UpRequest, quiet_build: bool = False):
    """service.up on the project the command line names (with the global options that
    bear on it), shown as it goes; returns (project, backend, the services brought up)."""
    import dataclasses

    project = load(ctx, request.services)
    be = backend()
    request = dataclasses.replace(request, parallel=parallel(),
                                  all_resources=options().all_resources)
    shown = progress("Running", builds=not quiet_build)
    try:
        selected = service.up(project, be, request, shown)
    finally:
        shown.close()
    return project, be, selected


@app.command("up")
def up(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
       detach: bool = typer.Option(False, "-d", "--detach"),
       build: bool = typer.Option(False, "--build"),
       no_build: bool = typer.Option(False, "--no-build"),
       pull: Optional[str] = typer.Option(None, "--pull", help="always, missing or never"),
       force_recreate: bool = typer.Option(False, "--force-recreate"),
       no_recreate: bool = typer.Option(False, "--no-recreate"),
       always_recreate_deps: bool = typer.Option(False, "--always-recreate-deps",
                                                 help="Recreate the dependencies of the services named."),
       renew_anon_volumes: bool = typer.Option(False, "-V", "--renew-anon-volumes",
                                               help="New anonymous volumes for recreated containers."),
       no_deps: bool = typer.Option(False, "--no-deps"),
       remove_orphans: bool = typer.Option(False, "--remove-orphans"),
       scale: Optional[List[str]] = typer.Option(None, "--scale"),
       wait: bool = typer.Option(False, "--wait"),
       wait_timeout: Optional[float] = typer.Option(None, "--wait-timeout"),
       timeout: Optional[float] = typer.Option(None, "-t", "--timeout"),
       abort_on_container_exit: bool = typer.Option(False, "--abort-on-container-exit"),
       abort_on_container_failure: bool = typer.Option(False, "--abort-on-container-failure"),
       exit_code_from: Optional[str] = typer.Option(None, "--exit-code-from"),
       attach: Optional[List[str]] = typer.Option(None, "--attach"),
       attach_dependencies: bool = typer.Option(False, "--attach-dependencies",
                                                help="Show the output of the dependencies too."),
       no_attach: Optional[List[str]] = typer.Option(None, "--no-attach"),
       timestamps: bool = typer.Option(False, "--timestamps"),
       no_color: bool = typer.Option(False, "--no-color"),
       no_log_prefix: bool = typer.Option(False, "--no-log-prefix"),
       no_start: bool = typer.Option(False, "--no-start", help="Create, don't start."),
       quiet_build: bool = typer.Option(False, "--quiet-build"),
       quiet_pull: bool = typer.Option(False, "--quiet-pull",
                                       help="Accepted: berth shows no pull progress anyway."),
       yes: bool = typer.Option(False, "-y", "--yes", help="Accepted: berth never asks."),
       watch: bool = typer.Option(False, "-w", "--watch", help="Also watch (develop.watch).")) -> None:
    """Create and start the project's containers; follow their output unless -d."""
    check_pull(pull)
    exclusive(("--no-recreate", no_recreate), ("--force-recreate", force_recreate))
    exclusive(("--no-recreate", no_recreate), ("--always-recreate-deps", always_recreate_deps))
    exclusive(("--attach", bool(attach)), ("--attach-dependencies", attach_dependencies))
    exclusive(("-d", detach or wait), ("--attach-dependencies", attach_dependencies))
    started = time.time()
    project, be, selected = converge(ctx, service.UpRequest(
        services=tuple(services or ()), no_deps=no_deps, build=build, no_build=no_build,
        pull=pull, start=not no_start, wait_timeout=wait_timeout,
        force_recreate=force_recreate, no_recreate=no_recreate,
        remove_orphans=remove_orphans, scale=parse_scale(scale),
        renew_anon_volumes=renew_anon_volumes, always_recreate_deps=always_recreate_deps),
        quiet_build)
    if no_start:
        return
    if detach:
        if wait:
            service.wait_ready(project.name, project, be, selected, wait_timeout)
        return
    if watch:
        from .watch import make_watcher

        watcher = make_watcher(ctx, project, be, selected, quiet=False)
        threading.Thread(target=watcher.run, args=(threading.Event(),), daemon=True).start()
    abort = ("failure" if abort_on_container_failure and not abort_on_container_exit
             else "exit" if abort_on_container_exit or exit_code_from else None)
    if not attach and services and not attach_dependencies:
        attach = list(services)  # the services named, not their dependencies
    code = follow_up(project, be, selected, started, timeout=timeout, abort=abort,
                     exit_code_from=exit_code_from, attach=attach, no_attach=no_attach,
                     timestamps=timestamps, color=not no_color and color(),
                     prefix=not no_log_prefix)
    raise typer.Exit(code)


def exclusive(*flags: tuple[str, bool]) -> None:
    """At most one of these flags."""
    given = [name for name, on in flags if on]
    if len(given) > 1:
        raise typer.BadParameter(f"{given[0]} and {given[1]} cannot be used together")


def follow_up(project, be, services, since, *, timeout, abort, exit_code_from, attach,
              no_attach, timestamps, color, prefix=True) -> int:
    """Attached `up`: print output until every container stopped. Ctrl-C (or, with
    `abort` "exit", the first exit; with "failure", the first non-zero exit) stops them
    gracefully while their last output is still shown; a second Ctrl-C kills them."""
    from .output import Printer, follow

    containers = service.containers(project.name, be, services)
    shown = [c for c in containers if (not attach or c.service in attach)
             and c.service not in (no_attach or []) and project.services[c.service].attach]
    printer = Printer(shown, color, timestamps, prefix=prefix)
    result = {"code": 0, "interrupted": 0}
    stopping: list[threading.Thread] = []

    def stop_everything(reason: str) -> None:
        if stopping:
            return
        printer.note(reason)

        def run() -> None:
            shown_progress = progress("Stopping")
            try:
                service.stop(project.name, project, be, services, timeout, shown_progress)
            except Exception as err:  # noqa: BLE001 - a failed pre_stop hook: reported
                printer.note(str(err))
            finally:
                shown_progress.close()

        thread = threading.Thread(target=run, daemon=True)
        stopping.append(thread)
        thread.start()

    def exited(info: ContainerInfo) -> None:
        final = be.container(info.id)
        if final.status in ("exited", "dead"):
            printer.note(f"{info.name} exited with code {final.exit_code}")
        if not abort or stopping or (exit_code_from and info.service != exit_code_from):
            return  # (once stopping, later exits are the stop's doing: the first one counts)
        if abort == "failure" and not final.exit_code:
            return
        result["code"] = final.exit_code or 0
        stop_everything("Aborting on container exit...")

    def on_interrupt(signum, frame):
        result["interrupted"] += 1
        if result["interrupted"] == 1:
            stop_everything("Gracefully stopping... (press Ctrl+C again to force)")
            return
        for info in containers:
            try:
                be.kill(info.id, "SIGKILL")
            except Exception:  # noqa: BLE001 - already gone
                pass

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        follow(be, shown, printer, threading.Event(), since=since, on_exit=exited)
        for thread in stopping:
            thread.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    if result["interrupted"]:
        return 130
    return result["code"]


@app.command("create")
def create(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
           build: bool = typer.Option(False, "--build"), no_build: bool = typer.Option(False, "--no-build"),
           pull: Optional[str] = typer.Option(None, "--pull"),
           force_recreate: bool = typer.Option(False, "--force-recreate"),
           no_recreate: bool = typer.Option(False, "--no-recreate"),
           renew_anon_volumes: bool = typer.Option(False, "-V", "--renew-anon-volumes"),
           remove_orphans: bool = typer.Option(False, "--remove-orphans"),
           scale: Optional[List[str]] = typer.Option(None, "--scale")) -> None:
    """Create the project's containers without starting them."""
    check_pull(pull)
    converge(ctx, service.UpRequest(
        services=tuple(services or ()), build=build, no_build=no_build, pull=pull, start=False,
        force_recreate=force_recreate, no_recreate=no_recreate, remove_orphans=remove_orphans,
        scale=parse_scale(scale), renew_anon_volumes=renew_anon_volumes))


@app.command("scale")
def scale(ctx: typer.Context, counts: List[str] = typer.Argument(..., metavar="SERVICE=REPLICAS..."),
          no_deps: bool = typer.Option(False, "--no-deps")) -> None:
    """Set the number of containers of services (like up -d --scale)."""
    wanted = parse_scale(counts, "SERVICE=REPLICAS")
    converge(ctx, service.UpRequest(services=tuple(wanted), no_deps=no_deps, scale=wanted))


@app.command("down")
def down(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
         volumes: bool = typer.Option(False, "-v", "--volumes"),
         rmi: Optional[str] = typer.Option(None, "--rmi", help="local or all"),
         remove_orphans: bool = typer.Option(False, "--remove-orphans"),
         timeout: Optional[float] = typer.Option(None, "-t", "--timeout")) -> None:
    """Stop and remove the project's containers and networks (and volumes with -v)."""
    from ..reconcile import DownOptions

    project, name = project_name(ctx)
    shown = progress("Running")
    try:
        service.down(name, project, backend(), DownOptions(
            tuple(services or ()), volumes, rmi, remove_orphans, timeout), shown)
    finally:
        shown.close()
