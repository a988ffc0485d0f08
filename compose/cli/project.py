"""The docker compose commands: up, down, ps, logs, start, stop, restart, kill, rm, ..."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import List, Optional

import typer

from ..backend import CONFIG_FILES, DEPENDS_ON, PROJECT, ContainerInfo
from ..errors import ComposeError
from ..load import normalize_project_name
from .app import app, load, print_table


def backend():
    from runtime.paths import Paths

    from ..backend import RuntimeBackend

    return RuntimeBackend(Paths.from_env(os.environ))


def project_name(ctx: typer.Context) -> tuple[object | None, str]:
    """The project (when its files load) and its name. Commands that only act on what
    exists (down, ps, logs, stop...) still work with -p when the files are gone."""
    try:
        project = load(ctx)
        return project, project.name
    except ComposeError:
        opts = ctx.find_root().obj
        name = opts.project_name or os.environ.get("COMPOSE_PROJECT_NAME")
        if not name:
            raise
        return None, normalize_project_name(name, explicit=True)


def containers_of(be, name: str, services: list[str] | None = None, all: bool = True,
                  oneoff: bool = False) -> list[ContainerInfo]:
    out = [c for c in be.containers(name, all=all) if oneoff or not c.oneoff]
    if services:
        unknown = set(services) - {c.service for c in out}
        out = [c for c in out if c.service in services]
        if not out and unknown:
            raise ComposeError(f"no container found for service(s): {', '.join(sorted(unknown))}")
    return sorted(out, key=lambda c: (c.service, c.number))


def stop_order(containers: list[ContainerInfo], project=None) -> list[list[ContainerInfo]]:
    """Containers grouped so that dependents stop before their dependencies: from the
    project when it knows every service, else from the containers' labels."""
    services = {c.service or c.name for c in containers}
    if project is not None and services <= set(project.services):
        order = [list(level) for level in reversed(project.levels)]
    else:
        from ..graph import levels_of

        needs: dict[str, set[str]] = {}
        for info in containers:
            deps = {item.split(":")[0] for item in info.labels.get(DEPENDS_ON, "").split(",") if item}
            needs.setdefault(info.service or info.name, set()).update(deps)
        order = list(reversed(levels_of(needs)))
    return [[c for c in containers if (c.service or c.name) in level] for level in order]


def _progress(title: str):
    from ..progress import Progress

    return Progress(title=title)


def stop_all(be, containers: list[ContainerInfo], timeout: float | None, progress,
             remove: bool = False, volumes: bool = False, project=None) -> list[str]:
    """Stop (and remove) containers, dependents first, each after its pre_stop hooks;
    the hooks that failed, for the caller to report once everything is done."""
    from ..execute import run_parallel
    from ..hooks import stop_after_hooks

    failed: list[str] = []

    def one(info: ContainerInfo) -> None:
        if info.running:
            progress.update("Container", info.name, "Stopping")
            if failure := stop_after_hooks(be, info, timeout):
                failed.append(failure)
            progress.update("Container", info.name, "Stopped", done=not remove)
        if remove:
            progress.update("Container", info.name, "Removing")
            be.remove(info.id, force=True, volumes=volumes)
            progress.update("Container", info.name, "Removed", done=True)

    for level in stop_order(containers, project):
        run_parallel(level, one)
    return failed


def hooks_failed(failed: list[str]) -> None:
    if failed:
        raise ComposeError("\n".join(failed))


# --- up / create ---------------------------------------------------------------------------

def resolve_images(project, be, services: list[str], build: bool, no_build: bool,
                   pull: str | None, progress, quiet_build: bool = False) -> dict[str, str]:
    """Image ids for the services: present, built, or pulled (see compose.images)."""
    from ..images import ensure_images

    return ensure_images(project, be, services, build=build, no_build=no_build, pull=pull,
                         progress=progress, quiet=quiet_build)


def _select(project, services: list[str], no_deps: bool) -> list[str]:
    from ..graph import with_dependencies

    if not services:
        return list(project.services)
    return list(services) if no_deps else sorted(with_dependencies(project, services))


def _check_pull(pull: str | None) -> None:
    """`--pull` of up, create and run."""
    if pull not in (None, "always", "missing", "never", "build"):
        raise typer.BadParameter("must be always, missing or never", param_hint="--pull")


def _scale(items: list[str] | None, hint: str = "--scale") -> dict[str, int]:
    out = {}
    for item in items or []:
        name, _, count = item.partition("=")
        if not count.isdigit():
            raise typer.BadParameter(f"expected SERVICE=NUMBER, got {item!r}", param_hint=hint)
        out[name] = int(count)
    return out


def converge(ctx, services, *, no_deps=False, force_recreate=False, no_recreate=False,
             remove_orphans=False, scale=None, build=False, no_build=False, pull=None,
             wait_timeout=None, start=True, quiet_build=False, renew_anon_volumes=False):
    """Bring the project to its desired state; returns (project, backend, started time)."""
    from ..execute import Executor
    from ..graph import start_levels
    from ..reconcile import UpOptions, plan_up
    from ..validate import ignored

    project = load(ctx, tuple(services or ()))
    be = backend()
    selected = _select(project, services or [], no_deps)
    if any(not project.services[s].network_mode for s in selected):
        # starting containers on networks needs pyroute2 (~150 ms to import): overlap it
        threading.Thread(target=__import__, args=("pyroute2",), daemon=True).start()
    _check_external(project, be, selected)
    _check_security(project, selected)
    progress = _progress("Running")
    for line in ignored(project, selected):
        progress.note(f"WARN {line}")
    # one converge of a project at a time: a second `up` waits, then finds it done
    with be.project_lock(project.name):
        try:
            image_ids = resolve_images(project, be, selected, build, no_build, pull, progress,
                                       quiet_build)
            levels = start_levels(project, selected)
            observed = be.containers(project.name)
            plan = plan_up(project, observed, {n.name for n in be.networks(project.name)} |
                           {n.name for n in project.networks.values()
                            if be.network_exists(n.name)},
                           {v.name for v in project.volumes.values() if be.volume_path(v.name)},
                           image_ids, levels,
                           UpOptions(services=tuple(selected), force_recreate=force_recreate,
                                     no_recreate=no_recreate, scale=scale or {},
                                     remove_orphans=remove_orphans))
            _check_ports(project, plan)
            if plan.orphans and not remove_orphans:
                names = ", ".join(sorted({c.service for c in plan.orphans}))
                progress.note(f"Found orphan containers ({names}) for this project. If you "
                              "removed or renamed this service in your compose file, you can "
                              "run this command with the --remove-orphans flag to clean it up.")
            executor = Executor(project, be, progress, image_ids, str(be.paths.run / "compose"),
                                wait_timeout, renew_anon_volumes)
            executor.run(plan, start=start)
        finally:
            progress.close()
    return project, be


def _check_ports(project, plan) -> None:
    """Fixed host ports must be free before anything is created (ports held by this
    project's containers that are being replaced will be freed first)."""
    from runtime.network.api import reserve_port

    from ..convert import port_mapping

    freed = {p for actions in plan.actions.values() for a in actions
             if a.kind in ("recreate", "remove") and a.existing for p in a.existing.ports}
    wanted: dict[tuple, str] = {}
    for service, actions in plan.actions.items():
        starting = [a for a in actions if a.kind in ("create", "recreate", "start")]
        for port in project.services[service].ports:
            if not port.published or "-" in port.published:
                continue
            key = (port.host_ip or "0.0.0.0", int(port.published), port.protocol)
            for action in starting:
                if key in wanted:
                    raise ComposeError(f"service {service!r}: host port {key[1]}/{key[2]} is "
                                       f"published twice ({wanted[key]} and {action.name})")
                wanted[key] = action.name
                if f"{key[0]}:{key[1]}->{port.target}/{key[2]}" in freed:
                    continue
                try:
                    sock, _ = reserve_port(port_mapping(port))
                    sock.close()
                except Exception as err:  # noqa: BLE001 - NetworkError with the reason
                    raise ComposeError(f"service {service!r}: {err}") from None


def _check_security(project, selected: list[str]) -> None:
    """security_opt berth can't honour fails `up` before anything is created (`config`
    shows it as written, as docker compose does)."""
    from runtime.securityopts import SecurityOptError, security_options

    for name in selected:
        try:
            security_options(list(project.services[name].security_opt))
        except SecurityOptError as err:
            raise ComposeError(f"service {name!r}: security_opt {err}") from None


def _check_external(project, be, selected: list[str]) -> None:
    for key, net in project.networks.items():
        used = any(key in project.services[s].networks for s in selected)
        if net.external and used and not be.network_exists(net.name):
            raise ComposeError(f"network {net.name} declared as external, but could not be found")
    for key, vol in project.volumes.items():
        used = any(m.source == key for s in selected for m in project.services[s].volumes)
        if vol.external and used and be.volume_path(vol.name) is None:
            raise ComposeError(f"external volume {vol.name!r} not found")


@app.command("up")
def up(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
       detach: bool = typer.Option(False, "-d", "--detach"),
       build: bool = typer.Option(False, "--build"),
       no_build: bool = typer.Option(False, "--no-build"),
       pull: Optional[str] = typer.Option(None, "--pull", help="always, missing or never"),
       force_recreate: bool = typer.Option(False, "--force-recreate"),
       no_recreate: bool = typer.Option(False, "--no-recreate"),
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
    _check_pull(pull)
    started = time.time()
    project, be = converge(ctx, services, no_deps=no_deps, force_recreate=force_recreate,
                           no_recreate=no_recreate, remove_orphans=remove_orphans,
                           scale=_scale(scale), build=build, no_build=no_build, pull=pull,
                           wait_timeout=wait_timeout, renew_anon_volumes=renew_anon_volumes,
                           start=not no_start, quiet_build=quiet_build)
    selected = _select(project, services or [], no_deps)
    if no_start:
        return
    if detach:
        if wait:
            wait_ready(project, be, selected, wait_timeout)
        return
    if watch:
        from .watch import make_watcher

        watcher = make_watcher(ctx, project, be, selected, quiet=False)
        threading.Thread(target=watcher.run, args=(threading.Event(),), daemon=True).start()
    abort = ("failure" if abort_on_container_failure and not abort_on_container_exit
             else "exit" if abort_on_container_exit or exit_code_from else None)
    code = follow_up(project, be, selected, started, timeout=timeout, abort=abort,
                     exit_code_from=exit_code_from, attach=attach, no_attach=no_attach,
                     timestamps=timestamps, color=not no_color and sys.stdout.isatty(),
                     prefix=not no_log_prefix)
    raise typer.Exit(code)


def wait_ready(project, be, services: list[str], timeout: float | None) -> None:
    """--wait: running (healthy where there is a healthcheck); one-shot containers that
    exited 0 are fine."""
    from ..backend import DependencyFailed

    deadline = None if timeout is None else time.monotonic() + timeout
    for info in containers_of(be, project.name, services):
        condition = "service_healthy" if info.health is not None else "service_started"
        if info.status == "exited" and info.exit_code == 0 and project.services[info.service].restart == "no":
            continue
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            be.wait_until(info.id, condition, left)
        except DependencyFailed as err:
            raise ComposeError(f"service {info.service!r}: {err}") from None


def follow_up(project, be, services, since, *, timeout, abort, exit_code_from, attach,
              no_attach, timestamps, color, prefix=True) -> int:
    """Attached `up`: print output until every container stopped. Ctrl-C (or, with
    `abort` "exit", the first exit; with "failure", the first non-zero exit) stops them
    gracefully while their last output is still shown; a second Ctrl-C kills them."""
    from ..attach import Printer, follow

    containers = containers_of(be, project.name, services)
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
            progress = _progress("Stopping")
            try:
                for line in stop_all(be, containers_of(be, project.name, services), timeout,
                                     progress, project=project):
                    printer.note(line)
            finally:
                progress.close()

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
    _check_pull(pull)
    converge(ctx, services, force_recreate=force_recreate, no_recreate=no_recreate,
             remove_orphans=remove_orphans, scale=_scale(scale), build=build, no_build=no_build,
             pull=pull, start=False, renew_anon_volumes=renew_anon_volumes)


# --- down ----------------------------------------------------------------------------------

@app.command("down")
def down(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
         volumes: bool = typer.Option(False, "-v", "--volumes"),
         rmi: Optional[str] = typer.Option(None, "--rmi", help="local or all"),
         remove_orphans: bool = typer.Option(False, "--remove-orphans"),
         timeout: Optional[float] = typer.Option(None, "-t", "--timeout")) -> None:
    """Stop and remove the project's containers and networks (and volumes with -v)."""
    project, name = project_name(ctx)
    be = backend()
    with be.project_lock(name):  # not while an `up` of the project is under way
        _down(be, name, project, services, volumes, rmi, remove_orphans, timeout)


def _down(be, name, project, services, volumes, rmi, remove_orphans, timeout) -> None:
    containers = containers_of(be, name, services, oneoff=True)
    known = set(project.services) | set(project.disabled) if project else None
    if project and not remove_orphans and not services:
        orphans = [c for c in containers if c.service not in known]
        containers = [c for c in containers if c.service in known]
        if orphans:
            print(f"Found orphan containers ({', '.join(sorted({c.name for c in orphans}))}) "
                  "for this project; --remove-orphans removes them.", file=sys.stderr)
    progress = _progress("Running")
    try:
        failed = stop_all(be, containers, timeout, progress, remove=True, volumes=volumes,
                          project=project)
        if not services:  # the whole project: its networks and volumes too
            for net in be.networks(name):
                progress.update("Network", net.name, "Removing")
                try:
                    be.remove_network(net.name)
                    progress.update("Network", net.name, "Removed", done=True)
                except Exception as err:  # noqa: BLE001 - still in use by an orphan
                    progress.update("Network", net.name, f"Error: {err}", failed=True)
            if volumes:
                for vol in be.volumes(name):
                    progress.update("Volume", vol.name, "Removing")
                    be.remove_volume(vol.name)
                    progress.update("Volume", vol.name, "Removed", done=True)
            if rmi and project:
                from ..images import remove_images

                remove_images(project, be, rmi, progress)
    finally:
        progress.close()
    hooks_failed(failed)


# --- inspection ----------------------------------------------------------------------------

@app.command("ps")
def ps(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
       all_: bool = typer.Option(False, "-a", "--all"), quiet: bool = typer.Option(False, "-q", "--quiet"),
       fmt: str = typer.Option("table", "--format"), show_services: bool = typer.Option(False, "--services"),
       status: Optional[List[str]] = typer.Option(None, "--status"),
       filters: Optional[List[str]] = typer.Option(None, "--filter", help="status=STATE"),
       no_trunc: bool = typer.Option(False, "--no-trunc"),
       orphans: bool = typer.Option(True, "--orphans/--no-orphans")) -> None:
    """List the project's containers (--format table, json or a {{.Field}} template)."""
    project, name = project_name(ctx)
    for item in filters or []:
        key, _, value = item.partition("=")
        if key != "status" or not value:
            raise typer.BadParameter(f"{item!r}: berth filters on status=STATE",
                                     param_hint="--filter")
        status = list(status or []) + [value]
    listed = containers_of(backend(), name, services, all=all_ or bool(status), oneoff=True)
    if status:
        listed = [c for c in listed if c.status in status]
    if not orphans and project:
        listed = [c for c in listed if c.service in project.services]
    rows = [{"ID": c.id, "Name": c.name, "Service": c.service, "Project": name,
             "State": c.status, "Health": c.health or "", "ExitCode": c.exit_code or 0,
             "Status": c.status_text, "Image": c.image, "Command": " ".join(c.command),
             "Publishers": c.ports, "Ports": ", ".join(c.ports), "Labels": c.labels}
            for c in listed]
    if show_services:
        for svc in dict.fromkeys(c.service for c in listed):
            typer.echo(svc)
    elif quiet:
        for c in listed:
            typer.echo(c.id)
    elif fmt == "json":
        for row in rows:
            typer.echo(json.dumps(row))
    elif fmt == "table":
        print_table([[r["Name"], r["Image"],
                      '"' + (r["Command"] if no_trunc else r["Command"][:30]) + '"',
                      r["Service"], r["Status"], r["Ports"]] for r in rows],
                    ["NAME", "IMAGE", "COMMAND", "SERVICE", "STATUS", "PORTS"])
    else:
        for row in rows:
            typer.echo(render_template(fmt, row))


def render_template(template: str, values: dict) -> str:
    """docker's `--format '{{.Name}}\t{{.State}}'`: fields and \t; nothing else of Go's
    templates."""
    import re

    def field(match: "re.Match") -> str:
        if match.group(1) not in values:
            raise typer.BadParameter(f"no field {match.group(1)!r} (there are "
                                     f"{', '.join(values)})", param_hint="--format")
        return str(values[match.group(1)])

    return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", field, template.replace("\\t", "\t"))


@app.command("logs")
def logs(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
         follow_: bool = typer.Option(False, "-f", "--follow"),
         tail: Optional[str] = typer.Option(None, "-n", "--tail"),
         timestamps: bool = typer.Option(False, "-t", "--timestamps"),
         since: Optional[str] = typer.Option(None, "--since"),
         until: Optional[str] = typer.Option(None, "--until"),
         no_color: bool = typer.Option(False, "--no-color"),
         no_prefix: bool = typer.Option(False, "--no-log-prefix"),
         index: Optional[int] = typer.Option(None, "--index")) -> None:
    """Show the output of the project's containers, interleaved by time."""
    from ..attach import Printer, follow, history
    from .containers import parse_since

    _, name = project_name(ctx)
    be = backend()
    listed = [c for c in containers_of(be, name, services) if index is None or c.number == index]
    if tail not in (None, "all") and not tail.isdigit():
        raise typer.BadParameter(f"{tail!r}: a number of lines or 'all'", param_hint="--tail")
    count = None if tail in (None, "all") else int(tail)
    since_ts, until_ts = parse_since(since, "--since"), parse_since(until, "--until")
    printer = Printer(listed, not no_color and sys.stdout.isatty(), timestamps,
                      prefix=not no_prefix)
    if follow_:
        follow(be, listed, printer, threading.Event(), since=since_ts, tail=count,
               until=until_ts)
        return
    for time_, _, info, line in history(be, listed, count, since_ts, until_ts):
        printer.line(info, line.text, line.time)


@app.command("top")
def top(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]")) -> None:
    """Show the processes of the project's running containers."""
    from .containers import process_rows

    _, name = project_name(ctx)
    be = backend()
    for info in containers_of(be, name, services, all=False):
        typer.echo(info.name)
        print_table(process_rows(be.api.processes(info.id)), ["PID", "USER", "TIME", "COMMAND"])
        typer.echo("")


@app.command("port")
def port(ctx: typer.Context, service: str, private_port: str,
         index: int = typer.Option(1, "--index"), protocol: str = typer.Option("tcp", "--protocol")) -> None:
    """Print the host address a container port is published on."""
    _, name = project_name(ctx)
    info = _indexed(backend(), name, service, index)
    target = private_port.split("/")[0]
    for entry in info.ports:
        mapping, _, inner = entry.partition("->")
        if inner == f"{target}/{protocol}":
            typer.echo(mapping)
            return
    raise ComposeError(f"no port {target}/{protocol} published for {info.name}")


@app.command("images")
def images(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
           quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """List the images the project's containers use."""
    from common.reference import parse

    _, name = project_name(ctx)
    listed = containers_of(backend(), name, services)
    if quiet:
        for image_id in dict.fromkeys(c.image_id for c in listed):
            typer.echo(image_id)
        return
    rows = []
    for c in listed:
        ref = parse(c.image).familiar() if not c.image.startswith("sha256:") else "<none>"
        repo, _, tag = ref.rpartition(":")
        rows.append([c.name, repo or ref, tag, c.image_id.split(":")[1][:12]])
    print_table(rows, ["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID"])


@app.command("volumes")
def volumes_(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
             quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """List the project's volumes (those its services mount, with SERVICE...)."""
    project, name = project_name(ctx)
    be = backend()
    listed = be.volumes(name)
    if services and project:
        used = {project.volumes[m.source].name for s in services if s in project.services
                for m in project.services[s].volumes if m.type == "volume" and m.source}
        listed = [v for v in listed if v.name in used]
    if quiet:
        for vol in listed:
            typer.echo(vol.name)
        return
    print_table([["local", vol.name] for vol in listed], ["DRIVER", "VOLUME NAME"])


@app.command("scale")
def scale(ctx: typer.Context, counts: List[str] = typer.Argument(..., metavar="SERVICE=REPLICAS..."),
          no_deps: bool = typer.Option(False, "--no-deps")) -> None:
    """Set the number of containers of services (like up -d --scale)."""
    wanted = _scale(counts, "SERVICE=REPLICAS")
    converge(ctx, list(wanted), no_deps=no_deps, scale=wanted)


@app.command("attach")
def attach_(ctx: typer.Context, service: str, index: int = typer.Option(1, "--index"),
            no_stdin: bool = typer.Option(False, "--no-stdin")) -> None:
    """Attach this terminal to a service container's output (and input) until it exits."""
    from .terminal import attach

    be, info = _running(ctx, service, index)
    tty = be.api.get(info.id).spec.tty and sys.stdin.isatty()
    raise typer.Exit(attach(be.api.attach(info.id, stdin=not no_stdin), stdin=not no_stdin,
                            tty=tty))


@app.command("version")
def version(short: bool = typer.Option(False, "--short")) -> None:
    """Print berth's version (and the compose version it answers to)."""
    from importlib.metadata import PackageNotFoundError, version as installed

    from ..backend import BERTH_VERSION

    try:
        mine = installed("berth")
    except PackageNotFoundError:
        mine = "unknown"
    typer.echo(mine if short else f"berth version {mine} (compose {BERTH_VERSION})")


@app.command("ls")
def ls(all_: bool = typer.Option(False, "-a", "--all"), quiet: bool = typer.Option(False, "-q", "--quiet"),
       fmt: str = typer.Option("table", "--format")) -> None:
    """List projects, with their status and compose files."""
    from collections import defaultdict

    be = backend()
    projects: dict[str, list] = defaultdict(list)
    for container in be.api.list(all=True):
        name = container.spec.labels.get(PROJECT)
        if name:
            projects[name].append(container)
    rows = []
    for name, cs in sorted(projects.items()):
        counts: dict[str, int] = defaultdict(int)
        for c in cs:
            counts[c.status.value] += 1
        if not all_ and not counts.get("running"):
            continue
        status = ", ".join(f"{k}({v})" for k, v in sorted(counts.items()))
        files = cs[0].spec.labels.get(CONFIG_FILES, "")
        rows.append([name, status, files])
    if quiet:
        for row in rows:
            typer.echo(row[0])
    elif fmt == "json":
        typer.echo(json.dumps([{"Name": r[0], "Status": r[1], "ConfigFiles": r[2]} for r in rows]))
    else:
        print_table(rows, ["NAME", "STATUS", "CONFIG FILES"])


# --- lifecycle -------------------------------------------------------------------------------

def _lifecycle(ctx, services, fn, title: str) -> None:
    from ..execute import run_parallel

    _, name = project_name(ctx)
    be = backend()
    run_parallel(containers_of(be, name, services), lambda info: fn(be, info))


@app.command("start")
def start(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]")) -> None:
    """Start existing containers, dependencies first, each followed by its post_start hooks."""
    from ..hooks import run_hooks

    _, name = project_name(ctx)
    be = backend()
    progress = _progress("Running")
    try:
        for level in reversed(stop_order(containers_of(be, name, services))):
            for info in level:
                progress.update("Container", info.name, "Starting")
                be.start(info.id)
                try:
                    if not info.running:  # started now, not before
                        run_hooks(be, info, "post_start")
                except ComposeError as err:
                    raise ComposeError(f"service {info.service!r}: {err}") from None
                progress.update("Container", info.name, "Started", done=True)
    finally:
        progress.close()


@app.command("stop")
def stop(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
         timeout: Optional[float] = typer.Option(None, "-t", "--timeout")) -> None:
    """Stop running containers, dependents first."""
    _, name = project_name(ctx)
    be = backend()
    progress = _progress("Stopping")
    try:
        failed = stop_all(be, containers_of(be, name, services), timeout, progress)
    finally:
        progress.close()
    hooks_failed(failed)


@app.command("restart")
def restart(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
            timeout: Optional[float] = typer.Option(None, "-t", "--timeout")) -> None:
    """Restart containers (in place: they keep their addresses and ports)."""
    from ..execute import run_parallel

    project, name = project_name(ctx)
    be = backend()
    progress = _progress("Restarting")

    def one(info: ContainerInfo) -> None:
        progress.update("Container", info.name, "Restarting")
        be.restart(info.id, timeout)
        progress.update("Container", info.name, "Started", done=True)

    try:
        for level in reversed(stop_order(containers_of(be, name, services), project)):
            run_parallel(level, one)
    finally:
        progress.close()


@app.command("kill")
def kill(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
         sig: str = typer.Option("SIGKILL", "-s", "--signal")) -> None:
    """Send a signal to the project's running containers."""
    _lifecycle(ctx, services, lambda be, info: info.running and be.kill(info.id, sig), "Killing")


@app.command("rm")
def rm(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
       force: bool = typer.Option(False, "-f", "--force"), stop_first: bool = typer.Option(False, "-s", "--stop"),
       volumes: bool = typer.Option(False, "-v", "--volumes")) -> None:
    """Remove stopped containers (running ones too with --stop)."""
    _, name = project_name(ctx)
    be = backend()
    listed = containers_of(be, name, services)
    failed: list[str] = []
    if stop_first:
        progress = _progress("Stopping")
        try:
            failed = stop_all(be, listed, None, progress)
        finally:
            progress.close()
        listed = containers_of(be, name, services)
    for info in listed:
        if info.running:
            continue
        be.remove(info.id, volumes=volumes)
        typer.echo(f"Removed {info.name}", err=True)
    hooks_failed(failed)


@app.command("pause")
def pause(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]")) -> None:
    """Freeze the project's containers."""
    _lifecycle(ctx, services, lambda be, info: info.running and be.pause(info.id, True), "Pausing")


@app.command("unpause")
def unpause(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]")) -> None:
    """Thaw the project's containers."""
    _lifecycle(ctx, services, lambda be, info: info.running and be.pause(info.id, False), "Unpausing")


@app.command("wait")
def wait(ctx: typer.Context, services: List[str] = typer.Argument(..., metavar="SERVICE..."),
         down_project: bool = typer.Option(False, "--down-project")) -> None:
    """Wait for containers to stop; print their exit codes."""
    _, name = project_name(ctx)
    be = backend()
    code = 0
    for info in containers_of(be, name, services):
        code = be.wait_exit(info.id)
        typer.echo(str(code))
    raise typer.Exit(code)


# --- exec / run ------------------------------------------------------------------------------

def _running(ctx: typer.Context, service: str, index: int) -> tuple:
    """(backend, container `index` of `service`), which must be running."""
    _, name = project_name(ctx)
    be = backend()
    info = _indexed(be, name, service, index)
    if not info.running:
        raise ComposeError(f"service {service!r} is not running")
    return be, info


def _indexed(be, name: str, service: str, index: int) -> ContainerInfo:
    for info in containers_of(be, name, [service]):
        if info.number == index:
            return info
    raise ComposeError(f"service {service!r} has no container number {index}")


@app.command("exec", context_settings={"allow_interspersed_args": False})
def exec_(ctx: typer.Context, service: str = typer.Argument(...),
          command: List[str] = typer.Argument(..., metavar="COMMAND [ARG...]"),
          no_tty: bool = typer.Option(False, "-T", "--no-TTY"), user: Optional[str] = typer.Option(None, "-u", "--user"),
          workdir: Optional[str] = typer.Option(None, "-w", "--workdir"),
          env: Optional[List[str]] = typer.Option(None, "-e", "--env"),
          index: int = typer.Option(1, "--index"), detach: bool = typer.Option(False, "-d", "--detach"),
          privileged: bool = typer.Option(False, "--privileged")) -> None:
    """Run a command in a running service container (with a terminal unless -T)."""
    from .containers import parse_env
    from .terminal import exec_in

    be, info = _running(ctx, service, index)
    tty = not no_tty and sys.stdin.isatty()
    if detach:
        null = os.open(os.devnull, os.O_RDWR)
        be.api.exec_process(info.id, list(command), user=user, workdir=workdir,
                            env=parse_env(env or []), stdio=(null, null, null),
                            privileged=privileged)
        return
    raise typer.Exit(exec_in(be.api, info.id, list(command), user=user, workdir=workdir,
                             env=parse_env(env or []), interactive=True, tty=tty,
                             privileged=privileged))


@app.command("run", context_settings={"allow_interspersed_args": False})
def run(ctx: typer.Context, service: str = typer.Argument(...),
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
    import dataclasses
    import secrets

    from ..convert import compose_labels, config_hash, image_ref, run_options
    from .containers import parse_env, parse_publish, parse_volume
    from .terminal import attach

    _check_pull(pull)
    project = load(ctx, (service,))
    deps = [] if no_deps else [d for d in project.services[service].depends_on]
    be = backend()
    if deps:
        from ..graph import with_dependencies

        converge(ctx, sorted(with_dependencies(project, deps)), build=build, pull=pull,
                 remove_orphans=remove_orphans)
    progress = _progress("Running")
    try:
        image_ids = resolve_images(project, be, [service], build, False, pull, progress)
    finally:
        progress.close()
    svc = project.services[service]
    if not service_ports:
        svc = dataclasses.replace(svc, ports=())
    cname = name_ or f"{project.name}-{service}-run-{secrets.token_hex(6)}"
    labels = compose_labels(project, svc, 1, config_hash(project, service, image_ids[service]),
                            image_ids[service], oneoff=True)

    def container_of(dep: str) -> str:
        running = [c for c in containers_of(be, project.name, [dep], all=False)]
        if not running:
            raise ComposeError(f"service {dep!r} is not running")
        return running[0].id

    opts = run_options(project, svc, 1, cname, labels, volume_path=be.volume_path,
                       anonymous_volume=lambda: be.create_volume(None, {PROJECT: project.name}),
                       container_of=container_of, mounts_of=be.mounts,
                       runtime_dir=str(be.paths.run / "compose" / project.name))
    tty = not no_tty and not detach and sys.stdin.isatty()
    opts.tty, opts.open_stdin, opts.auto_remove = tty, not detach, rm
    if command:
        opts.command = list(command)
    if entrypoint is not None:
        opts.entrypoint = [entrypoint] if entrypoint else []
        if not command:
            opts.command = []
    opts.env = opts.env + parse_env(env or [])
    opts.mounts = opts.mounts + [parse_volume(v, be.api) for v in volume or []]
    opts.network.ports = opts.network.ports + [p for item in publish or [] for p in parse_publish(item)]
    if user is not None:
        opts.user = user
    if workdir:
        opts.working_dir = workdir
    opts.restart = "no"
    opts.labels.update(item.partition("=")[::2] for item in label or [])
    opts.cap_add += list(cap_add or [])
    opts.cap_drop += list(cap_drop or [])
    for endpoint in opts.network.endpoints:
        endpoint.static_ip = None  # the service's own container holds that address
        if not use_aliases:  # a one-off answers to its own name only, not the service's
            endpoint.aliases = []
    info = be.create(image_ref(project, project.services[service]), opts)
    if detach:
        be.start(info.id)
        typer.echo(info.name)
        return
    be.api.start(info.id, wait_attach=True)
    code = attach(be.api.attach(info.id, stdin=True), stdin=True, tty=tty)
    be.api.wait_finished(info.id)
    raise typer.Exit(code)


# --- cp, events, stats -------------------------------------------------------------------------

@app.command("cp")
def cp(ctx: typer.Context, source: str, dest: str, index: int = typer.Option(1, "--index"),
       archive: bool = typer.Option(False, "-a", "--archive")) -> None:
    """Copy files between a service container and the host (SERVICE:PATH either side)."""
    from runtime.filecopy import copy_in, copy_out

    _, name = project_name(ctx)
    be = backend()
    if ":" in source and not source.startswith(("/", ".")):
        service, _, path = source.partition(":")
        info = _indexed(be, name, service, index)
        copy_out(be.api, info.id, path, dest)
    elif ":" in dest and not dest.startswith(("/", ".")):
        service, _, path = dest.partition(":")
        info = _indexed(be, name, service, index)
        copy_in(be.api, info.id, source, path)
    else:
        raise ComposeError("one of SOURCE and DEST must be SERVICE:PATH")


@app.command("events")
def events(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Stream the project's container events."""
    from runtime import client

    _, name = project_name(ctx)
    be = backend()
    import queue

    out: queue.Queue = queue.Queue()
    watched: set[str] = set()

    def watch(info: ContainerInfo) -> None:
        try:
            for event in client.events(be.paths.monitor_socket(info.id)):
                if event.get("event") != "subscribed":
                    out.put((info, event))
        except client.MonitorGone:
            pass
        watched.discard(info.id)

    try:
        while True:
            for info in containers_of(be, name, services, all=False):
                if info.id not in watched:
                    watched.add(info.id)
                    threading.Thread(target=watch, args=(info,), daemon=True).start()
            try:
                info, event = out.get(timeout=0.5)
            except queue.Empty:
                continue
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(event.get("time", 0)))
            action = event["event"] + (f": {event['status']}" if "status" in event else "")
            if as_json:
                typer.echo(json.dumps({"time": stamp, "type": "container", "action": action,
                                       "id": info.id, "service": info.service,
                                       "attributes": {"name": info.name,
                                                      **{k: v for k, v in event.items()
                                                         if k not in ("event", "time")}}}))
            else:
                typer.echo(f"{stamp} container {action} {info.id} (name={info.name})")
    except KeyboardInterrupt:
        return


@app.command("stats")
def stats(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
          no_stream: bool = typer.Option(False, "--no-stream")) -> None:
    """CPU, memory and pids of the project's running containers (from their cgroups)."""
    from .images import human_size

    _, name = project_name(ctx)
    be = backend()
    previous: dict[str, tuple[int, float]] = {}
    while True:
        rows = []
        for info in containers_of(be, name, services, all=False):
            data = be.api.stats(info.id)
            now = time.monotonic()
            cpu = 0.0
            if info.id in previous:
                used, then = previous[info.id]
                cpu = (data["cpu_ns"] - used) / max(1e-9, (now - then) * 1e9) * 100
            previous[info.id] = (data["cpu_ns"], now)
            limit = data["memory_limit"]
            limit_text = human_size(limit) if 0 < limit < (1 << 60) else "unlimited"
            rows.append([info.id[:12], info.name, f"{cpu:.2f}%",
                         f"{human_size(data['memory'])} / {limit_text}", str(data["pids"])])
        if not no_stream:
            typer.echo("\x1b[2J\x1b[H", nl=False)
        print_table(rows, ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "PIDS"])
        if no_stream:
            return
        time.sleep(1)
