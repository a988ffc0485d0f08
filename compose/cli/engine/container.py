"""`berth container ...`: single containers, docker-style."""
from __future__ import annotations

import json
import os
import sys
from typing import List, Optional

import typer

from common import timings

from ..app import app
from ..formatting import human_ago, print_table, process_rows
from . import attachment, engine, networks, registry, single

container_app = typer.Typer(no_args_is_help=True, help="Manage containers.")
app.add_typer(container_app, name="container")

_PASSTHROUGH = {"allow_interspersed_args": False}
DEFAULT_NETWORK = "bridge"  # docker's: where a container goes without --network


def _create(argv: list[str], command: str, quiet_pull: bool = False):
    """A container from `docker run|create`'s flags: (its id, the parsed flags)."""
    from .runconfig import run_options
    from .runflags import parse

    args = parse(command, argv)
    api = engine()
    image = _image(api, args)
    opts = run_options(api, args, image, dict(os.environ))
    if any(e.network == DEFAULT_NETWORK for e in opts.network.endpoints):
        networks().create(DEFAULT_NETWORK, labels={"berth.default": "true"}, exist_ok=True)
    if args.cidfile and os.path.exists(args.cidfile):
        from .runflags import FlagError

        raise FlagError(f"--cidfile {args.cidfile}: the file exists (a container may be running "
                        "with it)")
    container = api.create(image, opts)
    for warning in container.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    if args.cidfile:
        with open(args.cidfile, "w") as handle:
            handle.write(container.id)
    return api, container, args


def _image(api, args):
    """The image, pulled as --pull asks (missing: only when absent), for --platform."""
    from runtime.api import ImageNotFound

    from .runflags import FlagError

    policy = args.pull or "missing"
    if policy not in ("always", "missing", "never"):
        raise FlagError(f"--pull {policy}: always, missing or never")
    image = None
    if policy != "always":
        try:
            image = api.images.get(args.image)
        except ImageNotFound:
            if policy == "never":
                raise FlagError(f"no such image: {args.image} (and --pull never)") from None
    if image is None:
        if not args.quiet:
            print(f"Unable to find image '{args.image}' locally" if policy == "missing"
                  else f"Pulling {args.image}", file=sys.stderr)
        image = registry().pull(args.image, args.platform)
    if args.platform:
        from runtime.api import parse_platform

        wanted = parse_platform(args.platform)
        have = (image.config.get("os", "linux"), image.config.get("architecture", ""))
        if have != (wanted.os, wanted.arch):
            raise FlagError(f"--platform {args.platform}: image {args.image} is for "
                            f"{have[0]}/{have[1]}")
    return image


_RAW = {"ignore_unknown_options": True, "allow_extra_args": True, "allow_interspersed_args": False,
        "help_option_names": []}


@container_app.command("run", context_settings=_RAW, add_help_option=False)
def run(ctx: typer.Context) -> None:
    """Create and start a container; without -d, stay attached until it exits (every
    `docker run` flag: berth container run --help)."""
    with timings.phase("create"):
        api, container, args = _create(list(ctx.args), "run")
    if args.detach:
        with timings.phase("start"):
            api.start(container.id)
        typer.echo(container.id)
        return
    try:
        with timings.phase("start"):
            api.start(container.id, wait_attach=True)
    except Exception:
        if args.rm:
            api.remove(container.id, force=True)
        raise
    from ..terminal import attach

    with timings.phase("attached, until it exits"):
        code = attach(attachment(container.id, args.interactive), stdin=args.interactive,
                      tty=args.tty)
    with timings.phase("its monitor finishes (with --rm: removes it)"):
        api.wait_finished(container.id)
    raise typer.Exit(code)


@container_app.command("create", context_settings=_RAW, add_help_option=False)
def create(ctx: typer.Context) -> None:
    """Create a container without starting it (every `docker create` flag: berth
    container create --help)."""
    typer.echo(_create(list(ctx.args), "create")[1].id)


@container_app.command("start")
def start(containers: List[str] = typer.Argument(..., metavar="CONTAINER..."),
          attach_: bool = typer.Option(False, "-a", "--attach")) -> None:
    """Start stopped containers."""
    api = engine()
    for ref in containers:
        if attach_:
            from ..terminal import attach

            api.start(ref, wait_attach=True)
            raise typer.Exit(attach(attachment(ref, False), stdin=False, tty=False))
        api.start(ref)
        typer.echo(ref)


def _command_text(args: list[str], width: int = 20) -> str:
    text = '"' + " ".join(args)
    return (text[:width] + "…\"") if len(text) > width else text + '"'


@container_app.command("ls")
def ls(all_: bool = typer.Option(False, "-a", "--all"),
       quiet: bool = typer.Option(False, "-q", "--quiet"),
       fmt: str = typer.Option("table", "--format", help="table or json")) -> None:
    """List containers (running ones, or all with -a)."""
    from common.reference import parse

    containers = engine().list(all=all_)
    if quiet:
        for c in containers:
            typer.echo(c.short_id)
        return
    if fmt == "json":
        for c in containers:
            typer.echo(json.dumps({"ID": c.id, "Names": c.name, "Image": c.spec.image,
                                   "Command": " ".join(c.spec.args), "State": c.status.value,
                                   "Status": c.describe_status(), "Labels": c.spec.labels,
                                   "ExitCode": c.state.exit_code, "CreatedAt": c.state.created_at}))
        return
    rows = []
    nets = networks()
    for c in containers:
        image = parse(c.spec.image).familiar() if not c.spec.image.startswith("sha256:") else c.spec.image[7:19]
        rows.append([c.short_id, image, _command_text(c.spec.args),
                     human_ago(c.state.created_at), c.describe_status(),
                     ", ".join(port_lines(nets, c.id)), c.name])
    print_table(rows, ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"])


def port_lines(networks, cid: str) -> list[str]:
    """docker's port notation: 0.0.0.0:8080->80/tcp."""
    endpoints = networks.endpoints(cid)
    return [f"{p.host_ip or '0.0.0.0'}:{p.host_port}->{p.container_port}/{p.protocol}"
            for p in (endpoints.ports if endpoints else [])]


@container_app.command("port")
def port(container: str) -> None:
    """Show a container's published ports."""
    cid = engine().get(container).id
    for line in port_lines(networks(), cid):
        mapping, _, inner = line.partition("->")
        typer.echo(f"{inner} -> {mapping}")


@container_app.command("logs")
def logs(container: str, follow: bool = typer.Option(False, "-f", "--follow"),
         tail: Optional[str] = typer.Option(None, "-n", "--tail"),
         timestamps: bool = typer.Option(False, "-t", "--timestamps"),
         since: Optional[str] = typer.Option(None, "--since")) -> None:
    """Show a container's output."""
    from ..inspect import parse_since

    count = None if tail in (None, "all") else int(tail)
    for line in engine().logs(container, tail=count, since=parse_since(since), follow=follow):
        stream = sys.stdout if line.stream == "stdout" else sys.stderr
        stream.write((f"{line.time} " if timestamps else "") + line.text)
        stream.flush()


@container_app.command("exec", context_settings=_PASSTHROUGH)
def exec_(container: str = typer.Argument(...),
          command: List[str] = typer.Argument(..., metavar="COMMAND [ARG...]"),
          interactive: bool = typer.Option(False, "-i", "--interactive"),
          tty: bool = typer.Option(False, "-t", "--tty"),
          user: Optional[str] = typer.Option(None, "-u", "--user"),
          workdir: Optional[str] = typer.Option(None, "-w", "--workdir"),
          env: Optional[List[str]] = typer.Option(None, "-e", "--env"),
          detach: bool = typer.Option(False, "-d", "--detach")) -> None:
    """Run a command in a running container."""
    from ...backend import ExecRequest
    from ..oneoff import resolve_env

    be = single()
    request = ExecRequest(list(command), user, workdir, resolve_env(env or []),
                          tty=tty and not detach)
    if detach:
        be.exec(container, request)
        return
    from ..terminal import exec_in

    raise typer.Exit(exec_in(lambda req: be.exec(container, req), request, interactive))


@container_app.command("stop")
def stop(containers: List[str] = typer.Argument(..., metavar="CONTAINER..."),
         time_: Optional[float] = typer.Option(None, "-t", "--time")) -> None:
    """Stop containers: their stop signal, then SIGKILL after the grace period."""
    api = engine()
    for ref in containers:
        note = api.stop(ref, time_).note
        if note:
            print(f"{ref}: {note}", file=sys.stderr)
        typer.echo(ref)


@container_app.command("restart")
def restart(containers: List[str] = typer.Argument(..., metavar="CONTAINER..."),
            time_: Optional[float] = typer.Option(None, "-t", "--time")) -> None:
    """Restart containers in place."""
    api = engine()
    for ref in containers:
        api.restart(ref, time_)
        typer.echo(ref)


@container_app.command("kill")
def kill(containers: List[str] = typer.Argument(..., metavar="CONTAINER..."),
         sig: str = typer.Option("SIGKILL", "-s", "--signal")) -> None:
    """Send a signal to containers."""
    api = engine()
    for ref in containers:
        api.kill(ref, sig)
        typer.echo(ref)


@container_app.command("rm")
def rm(containers: List[str] = typer.Argument(..., metavar="CONTAINER..."),
       force: bool = typer.Option(False, "-f", "--force"),
       volumes: bool = typer.Option(False, "-v", "--volumes")) -> None:
    """Remove containers (running ones only with -f)."""
    api = engine()
    for ref in containers:
        api.remove(ref, force=force, volumes=volumes)
        typer.echo(ref)


@container_app.command("wait")
def wait(containers: List[str] = typer.Argument(..., metavar="CONTAINER...")) -> None:
    """Wait for containers to exit; print their exit codes."""
    api = engine()
    for ref in containers:
        typer.echo(str(api.wait(ref)))


@container_app.command("pause")
def pause(containers: List[str] = typer.Argument(..., metavar="CONTAINER...")) -> None:
    """Freeze all processes of containers."""
    for ref in containers:
        engine().pause(ref, True)


@container_app.command("unpause")
def unpause(containers: List[str] = typer.Argument(..., metavar="CONTAINER...")) -> None:
    """Thaw paused containers."""
    for ref in containers:
        engine().pause(ref, False)


@container_app.command("inspect")
def inspect(containers: List[str] = typer.Argument(..., metavar="CONTAINER...")) -> None:
    """Show containers' configuration and state as JSON, in docker's shape."""
    from .dockerjson import container

    api = engine()
    nets = networks()
    out = [container(c, nets.endpoints(c.id), c.spec.image)
           for c in (api.get(ref) for ref in containers)]
    typer.echo(json.dumps(out, indent=2))


@container_app.command("top")
def top(container: str) -> None:
    """Show a container's processes."""
    print_table(process_rows(engine().processes(container)), ["PID", "USER", "TIME", "COMMAND"])

