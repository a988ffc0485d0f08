"""`berth container ...`: single containers, docker-style."""
from __future__ import annotations

import json
import os
import sys
from typing import List, Optional

import typer

from ...backend import ExecRequest
from ..app import app
from ..formatting import human_ago, print_table, process_rows
from ..inspect import parse_since
from ..oneoff import resolve_env
from . import engine, networks, single

container_app = typer.Typer(no_args_is_help=True, help="Manage containers.")
app.add_typer(container_app, name="container")

_PASSTHROUGH = {"allow_interspersed_args": False}


def parse_volume(text: str, api) -> "object":
    """-v SRC:DST[:OPTS] (a host path or a named volume), or DST alone (anonymous)."""
    from runtime.api import Mount

    parts = text.split(":")
    if len(parts) == 1:
        volume = api.volumes.create(labels={"berth.anonymous": "true"})
        return Mount(type="bind", source=str(volume.path), target=parts[0], volume=volume.name)
    if len(parts) > 3:
        raise typer.BadParameter(f"invalid volume {text!r}", param_hint="-v")
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 else []
    read_only = "ro" in options
    propagation = next((o for o in options if o in ("private", "rprivate", "shared", "rshared",
                                                    "slave", "rslave")), None)
    if source.startswith(("/", ".", "~")):
        path = os.path.abspath(os.path.expanduser(source))
        return Mount(type="bind", source=path, target=target, read_only=read_only,
                     propagation=propagation, create_source=True)
    volume = api.volumes.create(source, exist_ok=True)
    return Mount(type="bind", source=str(volume.path), target=target, read_only=read_only,
                 volume=volume.name)


def parse_publish(text: str) -> list:
    """-p in docker's syntax ([IP:][HOST:]CONTAINER[/PROTO], ranges) -> PortMappings."""
    from ...adapter.runspec import port_mapping
    from ...canonical import parse_port
    from ...errors import ComposeError
    from ...typed import port

    try:
        entries = parse_port(text, ())
    except ComposeError as err:
        raise typer.BadParameter(err.message, param_hint="-p") from None
    return [port_mapping(port(e)) for e in entries]


def parse_tmpfs(text: str) -> "object":
    from common.units import parse_bytes
    from runtime.api import Mount

    target, _, options = text.partition(":")
    size = mode = None
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        if key == "size":
            size = parse_bytes(value)
        elif key == "mode":
            mode = int(value, 8)
    return Mount(type="tmpfs", target=target, tmpfs_size=size, tmpfs_mode=mode)


def parse_ulimit(text: str) -> tuple[str, list[int]]:
    name, _, value = text.partition("=")
    soft, _, hard = value.partition(":")
    try:
        return name, [int(soft), int(hard or soft)]
    except ValueError:
        raise typer.BadParameter(f"invalid ulimit {text!r}: expected NAME=SOFT[:HARD]",
                                 param_hint="--ulimit") from None


def run_options(api, *, name, env, volume, tmpfs, workdir, user, hostname, memory, cpus,
                pids_limit, restart, init, entrypoint, command, interactive, tty, rm, label,
                cap_add, cap_drop, privileged, read_only, ulimit, network, publish,
                stop_signal, stop_timeout, network_alias=None, ip=None, dns=None, add_host=None,
                security_opt=None, log_opt=None):
    from common.units import parse_bytes
    from runtime.api import Endpoint, NetworkConfig, Resources, RunOptions, security_options

    mode = network or "none"
    bridged = not (mode in ("none", "host") or mode.startswith("container:"))
    net = NetworkConfig(mode="bridge" if bridged else mode,
                        endpoints=[Endpoint(network=mode, aliases=list(network_alias or []),
                                            static_ip=ip)] if bridged else [],
                        ports=[p for item in publish or [] for p in parse_publish(item)],
                        dns=list(dns or []),
                        extra_hosts=[list(h.replace("=", ":", 1).split(":", 1)) for h in add_host or []])
    return RunOptions(
        name=name or "", command=list(command) if command else None,
        entrypoint=None if entrypoint is None else ([entrypoint] if entrypoint else []),
        env=resolve_env(env or []), working_dir=workdir, user=user, hostname=hostname,
        labels=dict(item.partition("=")[::2] for item in label or []),
        mounts=[parse_volume(v, api) for v in volume or []] + [parse_tmpfs(t) for t in tmpfs or []],
        read_only=read_only, privileged=privileged, cap_add=list(cap_add or []),
        cap_drop=list(cap_drop or []), ulimits=dict(parse_ulimit(u) for u in ulimit or []),
        resources=Resources(memory=parse_bytes(memory) if memory else None, cpus=cpus,
                            pids=pids_limit),
        restart=restart, init=init, tty=tty, open_stdin=interactive, auto_remove=rm,
        network=net, stop_signal=stop_signal, stop_timeout=stop_timeout,
        **security_options(security_opt or []), **_log_options(log_opt or []))


def _log_options(opts: list[str]) -> dict[str, int]:
    """--log-opt max-size=10m --log-opt max-file=3, as docker's json-file takes them."""
    from common.units import parse_bytes

    out = {}
    for opt in opts:
        key, _, value = opt.partition("=")
        try:
            if key == "max-size":
                out["log_max_size"] = parse_bytes(value)
            elif key == "max-file" and int(value) >= 1:
                out["log_max_files"] = int(value)
            else:
                raise ValueError
        except ValueError:
            raise typer.BadParameter(f"{opt!r}: expected max-size=SIZE or max-file=N",
                                     param_hint="--log-opt") from None
    return out


def _create(image: str, opts, api):
    return api.create(api.images.get(image), opts)



@container_app.command("run", context_settings=_PASSTHROUGH)
def run(image: str = typer.Argument(...),
        command: Optional[List[str]] = typer.Argument(None, metavar="[COMMAND [ARG...]]"),
        detach: bool = typer.Option(False, "-d", "--detach"),
        rm: bool = typer.Option(False, "--rm", help="Remove the container when it exits."),
        name: Optional[str] = typer.Option(None, "--name"),
        env: Optional[List[str]] = typer.Option(None, "-e", "--env"),
        volume: Optional[List[str]] = typer.Option(None, "-v", "--volume"),
        tmpfs: Optional[List[str]] = typer.Option(None, "--tmpfs"),
        workdir: Optional[str] = typer.Option(None, "-w", "--workdir"),
        user: Optional[str] = typer.Option(None, "-u", "--user"),
        hostname: Optional[str] = typer.Option(None, "-h", "--hostname"),
        memory: Optional[str] = typer.Option(None, "-m", "--memory"),
        cpus: Optional[float] = typer.Option(None, "--cpus"),
        pids_limit: Optional[int] = typer.Option(None, "--pids-limit"),
        restart: str = typer.Option("no", "--restart"),
        init: bool = typer.Option(False, "--init"),
        entrypoint: Optional[str] = typer.Option(None, "--entrypoint"),
        interactive: bool = typer.Option(False, "-i", "--interactive"),
        tty: bool = typer.Option(False, "-t", "--tty"),
        label: Optional[List[str]] = typer.Option(None, "-l", "--label"),
        cap_add: Optional[List[str]] = typer.Option(None, "--cap-add"),
        cap_drop: Optional[List[str]] = typer.Option(None, "--cap-drop"),
        privileged: bool = typer.Option(False, "--privileged"),
        read_only: bool = typer.Option(False, "--read-only"),
        ulimit: Optional[List[str]] = typer.Option(None, "--ulimit"),
        network: Optional[str] = typer.Option(None, "--network"),
        publish: Optional[List[str]] = typer.Option(None, "-p", "--publish"),
        stop_signal: Optional[str] = typer.Option(None, "--stop-signal"),
        stop_timeout: Optional[float] = typer.Option(None, "--stop-timeout"),
        network_alias: Optional[List[str]] = typer.Option(None, "--network-alias"),
        ip: Optional[str] = typer.Option(None, "--ip"),
        dns: Optional[List[str]] = typer.Option(None, "--dns"),
        add_host: Optional[List[str]] = typer.Option(None, "--add-host"),
        security_opt: Optional[List[str]] = typer.Option(None, "--security-opt"),
        log_opt: Optional[List[str]] = typer.Option(None, "--log-opt")) -> None:
    """Create and start a container; without -d, stay attached until it exits."""
    api = engine()
    opts = run_options(api, **{k: v for k, v in locals().items() if k not in ("image", "detach", "api")})
    container = _create(image, opts, api)
    if detach:
        api.start(container.id)
        typer.echo(container.id)
        return
    try:
        api.start(container.id, wait_attach=True)
    except Exception:
        if rm:
            api.remove(container.id, force=True)
        raise
    from ..terminal import attach

    code = attach(single().attach(container.id, interactive), stdin=interactive, tty=tty)
    api.wait_finished(container.id)  # with --rm, the monitor removes the container
    raise typer.Exit(code)


@container_app.command("create", context_settings=_PASSTHROUGH)
def create(image: str = typer.Argument(...),
           command: Optional[List[str]] = typer.Argument(None, metavar="[COMMAND [ARG...]]"),
           name: Optional[str] = typer.Option(None, "--name"),
           env: Optional[List[str]] = typer.Option(None, "-e", "--env"),
           volume: Optional[List[str]] = typer.Option(None, "-v", "--volume"),
           workdir: Optional[str] = typer.Option(None, "-w", "--workdir"),
           user: Optional[str] = typer.Option(None, "-u", "--user"),
           restart: str = typer.Option("no", "--restart"),
           init: bool = typer.Option(False, "--init"),
           entrypoint: Optional[str] = typer.Option(None, "--entrypoint"),
           network: Optional[str] = typer.Option(None, "--network"),
           publish: Optional[List[str]] = typer.Option(None, "-p", "--publish")) -> None:
    """Create a container without starting it."""
    api = engine()
    opts = run_options(api, name=name, env=env, volume=volume, tmpfs=None, workdir=workdir,
                       user=user, hostname=None, memory=None, cpus=None, pids_limit=None,
                       restart=restart, init=init, entrypoint=entrypoint, command=command,
                       interactive=False, tty=False, rm=False, label=None, cap_add=None,
                       cap_drop=None, privileged=False, read_only=False, ulimit=None,
                       network=network, publish=publish, stop_signal=None, stop_timeout=None)
    typer.echo(_create(image, opts, api).id)


@container_app.command("start")
def start(containers: List[str] = typer.Argument(..., metavar="CONTAINER..."),
          attach_: bool = typer.Option(False, "-a", "--attach")) -> None:
    """Start stopped containers."""
    api = engine()
    for ref in containers:
        if attach_:
            from ..terminal import attach

            api.start(ref, wait_attach=True)
            raise typer.Exit(attach(single().attach(ref, False), stdin=False, tty=False))
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
        api.stop(ref, time_)
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
    """Show containers' configuration and state as JSON."""
    api = engine()
    out = []
    for ref in containers:
        c = api.get(ref)
        state = c.state.to_dict()
        state["status"] = c.status.value
        out.append({"Id": c.id, "Name": c.name, "Image": c.spec.image_id,
                    "Config": c.spec.to_dict(), "State": state, "Path": str(c.dir)})
    typer.echo(json.dumps(out, indent=2))


@container_app.command("top")
def top(container: str) -> None:
    """Show a container's processes."""
    print_table(process_rows(engine().processes(container)), ["PID", "USER", "TIME", "COMMAND"])

