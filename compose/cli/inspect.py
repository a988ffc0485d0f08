"""What a project has and does: `ps`, `logs`, `top`, `port`, `images`, `volumes`, `ls`,
`events`, `stats`, `version`."""
from __future__ import annotations

import json
import sys
import threading
import time
from typing import List, Optional

import typer

from ..errors import ComposeError
from ..labels import CONFIG_FILES, PROJECT, ContainerInfo
from ..observe import container, containers
from .app import app, backend, project_name
from .formatting import cpu_percent, human_size, print_table, process_rows, render_template


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
    listed = containers(name, backend(), services or (), all=all_ or bool(status),
                                oneoff=True)
    if status:
        listed = [c for c in listed if c.status in status]
    if not orphans and project:
        listed = [c for c in listed if c.service in project.services]
    rows = [{"ID": c.id, "Name": c.name, "Service": c.service, "Project": name,
             "State": c.status, "Health": c.health or "", "ExitCode": c.exit_code or 0,
             "Status": c.status_text, "Image": c.image, "Command": " ".join(c.command),
             "Publishers": c.ports, "Ports": ", ".join(c.ports), "Labels": dict(c.labels)}
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


def parse_since(value: str | None, option: str = "--since") -> float | None:
    """`10m` (that long ago), a unix time, or an RFC 3339 time."""
    if not value:
        return None
    from common.units import parse_duration, parse_time

    if value.replace(".", "").isdigit():
        return float(value)
    try:
        return time.time() - parse_duration(value)
    except ValueError:
        pass
    try:
        return parse_time(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: expected a duration (10m), a unix time or an "
                                 "RFC 3339 time", param_hint=option) from None


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
    from .output import Printer, follow, history

    _, name = project_name(ctx)
    be = backend()
    listed = [c for c in containers(name, be, services or (), oneoff=True)  # kept pre_start
              if (not c.oneoff or c.hook) and (index is None or c.number == index)]  # hooks too
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
    for _, _, info, line in history(be, listed, count, since_ts, until_ts):
        printer.line(info, line.text, line.time)


@app.command("top")
def top(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]")) -> None:
    """Show the processes of the project's running containers."""
    _, name = project_name(ctx)
    be = backend()
    for info in containers(name, be, services or (), all=False):
        typer.echo(info.name)
        print_table(process_rows(be.processes(info.id)), ["PID", "USER", "TIME", "COMMAND"])
        typer.echo("")


@app.command("port")
def port(ctx: typer.Context, service_: str = typer.Argument(..., metavar="SERVICE"),
         private_port: str = typer.Argument(...),
         index: int = typer.Option(1, "--index"), protocol: str = typer.Option("tcp", "--protocol")) -> None:
    """Print the host address a container port is published on."""
    _, name = project_name(ctx)
    info = container(name, backend(), service_, index)
    target = private_port.split("/")[0]
    for entry in info.ports:
        mapping, _, inner = entry.partition("->")
        if inner == f"{target}/{protocol}":
            typer.echo(mapping)
            return
    raise ComposeError(f"no port {target}/{protocol} published for {info.name}")


def _formatted(rows: list[dict], fmt: str, table: tuple[list[str], list[str]]) -> None:
    """Rows as a table (`table`: headers, then the keys of their columns), one JSON
    object per line, or a {{.Field}} template per row."""
    if fmt == "json":
        for row in rows:
            typer.echo(json.dumps(row))
    elif fmt == "table":
        headers, keys = table
        print_table([[str(row[k]) for k in keys] for row in rows], headers)
    elif fmt.startswith("table "):
        template = fmt[len("table "):]
        for row in rows:
            typer.echo(render_template(template, row))
    else:
        for row in rows:
            typer.echo(render_template(fmt, row))


@app.command("images")
def images(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
           quiet: bool = typer.Option(False, "-q", "--quiet"),
           fmt: str = typer.Option("table", "--format", help="table, json or a {{.Field}} template")) -> None:
    """List the images the project's containers use."""
    from common.reference import parse

    _, name = project_name(ctx)
    listed = containers(name, backend(), services or ())
    if quiet:
        for image_id in dict.fromkeys(c.image_id for c in listed):
            typer.echo(image_id)
        return
    rows = []
    for c in listed:
        ref = parse(c.image).familiar() if not c.image.startswith("sha256:") else "<none>"
        repo, _, tag = ref.rpartition(":")
        rows.append({"ContainerName": c.name, "Repository": repo or ref, "Tag": tag,
                     "ID": c.image_id, "ShortID": c.image_id.split(":")[-1][:12]})
    _formatted(rows, fmt, (["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID"],
                           ["ContainerName", "Repository", "Tag", "ShortID"]))


@app.command("volumes")
def volumes(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
            quiet: bool = typer.Option(False, "-q", "--quiet"),
            fmt: str = typer.Option("table", "--format", help="table, json or a {{.Field}} template")) -> None:
    """List the project's volumes (those its services mount, with SERVICE...)."""
    project, name = project_name(ctx)
    listed = backend().volumes(name)
    if services and project:
        used = {project.volumes[m.source].name for s in services if s in project.services
                for m in project.services[s].volumes if m.type == "volume" and m.source}
        listed = [v for v in listed if v.name in used]
    if quiet:
        for vol in listed:
            typer.echo(vol.name)
        return
    rows = [{"Driver": "local", "Name": vol.name, "Labels": dict(vol.labels)} for vol in listed]
    _formatted(rows, fmt, (["DRIVER", "VOLUME NAME"], ["Driver", "Name"]))


@app.command("ls")
def ls(all_: bool = typer.Option(False, "-a", "--all"), quiet: bool = typer.Option(False, "-q", "--quiet"),
       fmt: str = typer.Option("table", "--format", help="table or json"),
       filters: Optional[List[str]] = typer.Option(None, "--filter", help="name=NAME")) -> None:
    """List projects, with their status and compose files."""
    from collections import defaultdict

    wanted = []
    for item in filters or []:
        key, _, value = item.partition("=")
        if key != "name" or not value:
            raise typer.BadParameter(f"{item!r}: berth filters on name=NAME",
                                     param_hint="--filter")
        wanted.append(value)
    projects: dict[str, list[ContainerInfo]] = defaultdict(list)
    for info in backend().containers(None):
        projects[info.labels[PROJECT]].append(info)
    rows = []
    for name, cs in sorted(projects.items()):
        counts: dict[str, int] = defaultdict(int)
        for c in cs:
            counts[c.status] += 1
        if not all_ and not counts.get("running"):
            continue
        if wanted and not any(w in name for w in wanted):  # docker's: a part of the name
            continue
        status = ", ".join(f"{k}({v})" for k, v in sorted(counts.items()))
        rows.append({"Name": name, "Status": status,
                     "ConfigFiles": cs[0].labels.get(CONFIG_FILES, "")})
    if quiet:
        for row in rows:
            typer.echo(row["Name"])
        return
    _formatted(rows, fmt, (["NAME", "STATUS", "CONFIG FILES"], ["Name", "Status", "ConfigFiles"]))


def event_record(cid: str, name: str, service: str, event: dict) -> dict:
    """A container's event as `events --json` prints it."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(event.get("time", 0)))
    action = event["event"] + (f": {event['status']}" if "status" in event else "")
    return {"time": stamp, "type": "container", "action": action, "id": cid,
            "service": service,
            "attributes": {"name": name, **{k: v for k, v in event.items()
                                            if k not in ("event", "time")}}}


@app.command("events")
def events(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
           as_json: bool = typer.Option(False, "--json"),
           since: Optional[str] = typer.Option(None, "--since", help="Only events from then on."),
           until: Optional[str] = typer.Option(None, "--until", help="Stop at that time.")) -> None:
    """Stream the project's container events (the ones from --since on, until --until)."""
    import queue

    _, name = project_name(ctx)
    since_ts, until_ts = parse_since(since, "--since"), parse_since(until, "--until")
    be = backend()
    out: queue.Queue = queue.Queue()
    watched: set[str] = set()

    def watch(info: ContainerInfo) -> None:
        for event in be.events(info.id):
            if event.get("event") != "subscribed":
                out.put((info, event))
        watched.discard(info.id)

    def show(cid: str, container: str, service: str, event: dict) -> None:
        record = event_record(cid, container, service, event)
        if as_json:
            typer.echo(json.dumps(record))
        else:
            typer.echo(f"{record['time']} container {record['action']} {cid} "
                       f"(name={container})")

    if since_ts is not None:  # what happened before now, from the backend's record
        for past in be.history(name, since_ts, until_ts):
            if not services or past.service in services:
                show(past.cid, past.name, past.service, past.event)
    try:
        while until_ts is None or time.time() < until_ts:
            for info in containers(name, be, services or (), all=False):
                if info.id not in watched:
                    watched.add(info.id)
                    threading.Thread(target=watch, args=(info,), daemon=True).start()
            try:
                info, event = out.get(timeout=0.5 if until_ts is None else
                                      max(0.01, min(0.5, until_ts - time.time())))
            except queue.Empty:
                continue
            when = event.get("time", 0)
            if (since_ts is not None and when < since_ts) or \
                    (until_ts is not None and when > until_ts):
                continue
            show(info.id, info.name, info.service, event)
    except KeyboardInterrupt:
        return


@app.command("stats")
def stats(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
          all_: bool = typer.Option(False, "-a", "--all", help="Stopped containers too."),
          fmt: str = typer.Option("table", "--format", help="table, json or a {{.Field}} template"),
          no_stream: bool = typer.Option(False, "--no-stream", help="One reading, then exit."),
          no_trunc: bool = typer.Option(False, "--no-trunc", help="Full container ids.")) -> None:
    """CPU, memory and pids of the project's containers (from their cgroups)."""
    _, name = project_name(ctx)
    be = backend()
    previous: dict[str, tuple[int, float]] = {}
    while True:
        rows = []
        for info in containers(name, be, services or (), all=all_):
            rows.append(_stats_row(be, info, previous, no_trunc))
        if not no_stream and fmt == "table":
            typer.echo("\x1b[2J\x1b[H", nl=False)
        _formatted(rows, fmt, (["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "PIDS"],
                               ["ID", "Name", "CPUPerc", "MemUsage", "PIDs"]))
        if no_stream:
            return
        time.sleep(1)


def _stats_row(be, info: ContainerInfo, previous: dict, no_trunc: bool) -> dict:
    """One container's reading (CPU from the last reading's difference); zeros for a
    container that does not run."""
    cid = info.id if no_trunc else info.id[:12]
    if not info.running:
        return {"ID": cid, "Name": info.name, "CPUPerc": "0.00%", "MemUsage": "0B / 0B",
                "MemPerc": "0.00%", "PIDs": "0"}
    data = be.stats(info.id)
    now = time.monotonic()
    used, then = previous.get(info.id, (data.cpu_ns, now))
    previous[info.id] = (data.cpu_ns, now)
    limit = data.memory_limit
    bounded = 0 < limit < (1 << 60)
    return {"ID": cid, "Name": info.name,
            "CPUPerc": f"{cpu_percent(data.cpu_ns, used, now - then) if now > then else 0.0:.2f}%",
            "MemUsage": f"{human_size(data.memory)} / "
                        f"{human_size(limit) if bounded else 'unlimited'}",
            "MemPerc": f"{data.memory / limit * 100:.2f}%" if bounded else "0.00%",
            "PIDs": str(data.pids)}


@app.command("version")
def version(short: bool = typer.Option(False, "--short")) -> None:
    """Print berth's version (and the compose version it answers to)."""
    from common.version import version_line

    typer.echo(version_line(short))
