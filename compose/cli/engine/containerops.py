"""`berth container commit|export|diff|rename|update|cp|attach|stats|prune`, with
docker's flags and output."""
from __future__ import annotations

import json
import os
import sys
import time
from typing import List, Optional

import typer

from ..formatting import human_size, print_table
from . import engine, single
from .container import container_app


@container_app.command("commit")
def commit(container: str, repository: Optional[str] = typer.Argument(None, metavar="[REPO[:TAG]]"),
           author: str = typer.Option("", "-a", "--author"),
           change: Optional[List[str]] = typer.Option(None, "-c", "--change",
                                                      help="A Dockerfile instruction"),
           message: str = typer.Option("", "-m", "--message"),
           pause: bool = typer.Option(True, "-p/--pause", "--pause/--no-pause")) -> None:
    """Make an image of a container's changes."""
    from runtime.api import commit_container

    made = commit_container(engine(), container, [repository] if repository else [],
                            changes_=list(change or []), message=message, author=author,
                            pause=pause)
    typer.echo(made.id)


@container_app.command("export")
def export(container: str, output: Optional[str] = typer.Option(None, "-o", "--output")) -> None:
    """Write a container's filesystem as a tar archive (to stdout without -o)."""
    from runtime.api import export_container

    target = engine().get(container)
    if output is None and sys.stdout.isatty():
        raise typer.BadParameter("refusing to write a tar archive to a terminal: use -o FILE "
                                 "or a redirection", param_hint="-o")
    if output:
        tmp = f"{output}.tmp{os.getpid()}"
        try:
            with open(tmp, "wb") as out:
                export_container(target, out)
            os.replace(tmp, output)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    else:
        export_container(target, sys.stdout.buffer)
        sys.stdout.buffer.flush()


@container_app.command("diff")
def diff(container: str) -> None:
    """What a container added (A), changed (C) or deleted (D) in its filesystem."""
    from runtime.api import container_changes

    for kind, path in container_changes(engine().get(container)):
        typer.echo(f"{kind} {path}")


@container_app.command("rename")
def rename(container: str, new_name: str) -> None:
    """Rename a container."""
    engine().rename(container, new_name)


@container_app.command("update")
def update(containers: List[str] = typer.Argument(..., metavar="CONTAINER..."),
           cpus: Optional[float] = typer.Option(None, "--cpus"),
           cpu_shares: Optional[int] = typer.Option(None, "-c", "--cpu-shares"),
           cpu_quota: Optional[int] = typer.Option(None, "--cpu-quota"),
           cpu_period: Optional[int] = typer.Option(None, "--cpu-period"),
           cpuset_cpus: Optional[str] = typer.Option(None, "--cpuset-cpus"),
           cpuset_mems: Optional[str] = typer.Option(None, "--cpuset-mems"),
           memory: Optional[str] = typer.Option(None, "-m", "--memory"),
           memory_reservation: Optional[str] = typer.Option(None, "--memory-reservation"),
           memory_swap: Optional[str] = typer.Option(None, "--memory-swap"),
           pids_limit: Optional[int] = typer.Option(None, "--pids-limit"),
           blkio_weight: Optional[int] = typer.Option(None, "--blkio-weight"),
           restart: Optional[str] = typer.Option(None, "--restart")) -> None:
    """Change the limits (and restart policy) of containers, running ones at once."""
    from common.units import parse_bytes

    from .runflags import FlagError

    def size(text: str | None, flag: str) -> int | None:
        try:
            return parse_bytes(text) if text else None
        except ValueError:
            raise FlagError(f"{flag} {text}: invalid size") from None

    changes = {"cpus": cpus, "cpu_shares": cpu_shares, "cpu_quota": cpu_quota,
               "cpu_period": cpu_period, "cpuset": cpuset_cpus, "cpuset_mems": cpuset_mems,
               "memory": size(memory, "--memory"),
               "memory_reservation": size(memory_reservation, "--memory-reservation"),
               "memory_swap": size(memory_swap, "--memory-swap"), "pids": pids_limit,
               "blkio_weight": blkio_weight}
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes and restart is None:
        raise FlagError("container update: give at least one flag to change")
    if cpus is not None and cpus <= 0:
        raise FlagError(f"--cpus {cpus}: must be above 0")
    api = engine()
    for ref in containers:
        api.update(ref, changes, restart)
        typer.echo(ref)


@container_app.command("cp")
def cp(source: str, dest: str,
       archive: bool = typer.Option(False, "-a", "--archive", help="Keep owners (uid:gid)."),
       follow_link: bool = typer.Option(False, "-L", "--follow-link",
                                        help="Copy what a source link points to.")) -> None:
    """Copy between a container and this machine: CONTAINER:PATH on one side."""
    from .runflags import FlagError

    be = single()
    api = engine()
    if ":" in source and not source.startswith(("/", ".")):
        ref, _, inner = source.partition(":")
        be.copy_out(api.get(ref).id, inner, dest)
    elif ":" in dest and not dest.startswith(("/", ".")):
        ref, _, inner = dest.partition(":")
        if follow_link and os.path.islink(source):
            source = os.path.realpath(source)
        be.copy_in(api.get(ref).id, source, inner)
    else:
        raise FlagError("container cp: one side must be CONTAINER:PATH")


@container_app.command("attach")
def attach(container: str, no_stdin: bool = typer.Option(False, "--no-stdin"),
           sig_proxy: bool = typer.Option(True, "--sig-proxy/--no-sig-proxy"),
           detach_keys: Optional[str] = typer.Option(None, "--detach-keys")) -> None:
    """Attach this terminal to a running container's input and output."""
    from ..terminal import attach as attach_terminal

    api = engine()
    target = api.get(container)
    if not target.running:
        from .runflags import FlagError

        raise FlagError(f"container attach: {container} is not running")
    stdin = target.spec.open_stdin and not no_stdin
    raise typer.Exit(attach_terminal(single().attach(target.id, stdin), stdin=stdin,
                                     tty=target.spec.tty))


@container_app.command("stats")
def stats(containers: Optional[List[str]] = typer.Argument(None, metavar="[CONTAINER...]"),
          all_: bool = typer.Option(False, "-a", "--all"),
          no_stream: bool = typer.Option(False, "--no-stream"),
          no_trunc: bool = typer.Option(False, "--no-trunc"),
          fmt: str = typer.Option("table", "--format", help="table or json")) -> None:
    """CPU, memory and pids of containers, from their cgroups."""
    api = engine()
    previous: dict[str, tuple[int, float]] = {}
    while True:
        chosen = [api.get(c) for c in containers] if containers else \
            [c for c in api.list() if all_ or c.running]
        rows = []
        for c in chosen:
            data = api.stats(c.id) if c.running else {"cpu_ns": 0, "memory": 0,
                                                      "memory_limit": 0, "pids": 0}
            now = time.monotonic()
            used, then = previous.get(c.id, (data["cpu_ns"], now))
            previous[c.id] = (data["cpu_ns"], now)
            cpu = (data["cpu_ns"] - used) / ((now - then) * 1e9) * 100 if now > then else 0.0
            limit = data["memory_limit"]
            bounded = 0 < limit < (1 << 60)
            rows.append({"ID": c.id if no_trunc else c.short_id, "Name": c.name,
                         "CPUPerc": f"{cpu:.2f}%",
                         "MemUsage": f"{human_size(data['memory'])} / "
                                     f"{human_size(limit) if bounded else 'unlimited'}",
                         "MemPerc": f"{data['memory'] / limit * 100:.2f}%" if bounded else "0.00%",
                         "PIDs": str(data["pids"])})
        if fmt == "json":
            for row in rows:
                typer.echo(json.dumps(row))
        else:
            if not no_stream:
                typer.echo("\x1b[2J\x1b[H", nl=False)
            print_table([[r["ID"], r["Name"], r["CPUPerc"], r["MemUsage"], r["MemPerc"], r["PIDs"]]
                         for r in rows],
                        ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"])
        if no_stream:
            return
        time.sleep(1)


@container_app.command("prune")
def prune(force: bool = typer.Option(False, "-f", "--force", help="Do not ask (berth never "
                                                                 "asks).")) -> None:
    """Remove every stopped container."""
    from runtime.api import tree_size

    api = engine()
    removed, freed = [], 0
    for c in api.list():
        if not c.running:
            freed += tree_size(c.dir / "upper")
            api.remove(c.id)
            removed.append(c.id)
    if removed:
        typer.echo("Deleted Containers:")
        for cid in removed:
            typer.echo(cid)
        typer.echo("")
    typer.echo(f"Total reclaimed space: {human_size(freed)}")
