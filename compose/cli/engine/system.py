"""`berth system df|events|info|prune` (what berth's root holds and what happens to it)
and `berth builder du|prune` (the build cache: the steps it remembers and the RUN
--mount=type=cache directories)."""
from __future__ import annotations

import json
import os
import time
from typing import List, Optional

import typer

from ..app import app
from ..formatting import human_size, print_table
from . import engine, networks

system_app = typer.Typer(no_args_is_help=True, help="What berth's root holds.")
builder_app = typer.Typer(no_args_is_help=True, help="The build cache.")
app.add_typer(system_app, name="system")
app.add_typer(builder_app, name="builder")


@system_app.command("df")
def df(verbose: bool = typer.Option(False, "-v", "--verbose"),
       fmt: str = typer.Option("table", "--format", help="table or json")) -> None:
    """Disk used by images, containers, volumes and the build cache."""
    from runtime.api import build_cache_usage, tree_size

    api = engine()
    containers = api.list()
    images = api.images.list()
    used_images = {c.spec.image_id for c in containers}
    blob_sizes: dict[str, int] = {}
    unused: set[str] = set()
    for image in images:
        for layer in image.layers:
            blob_sizes[layer["digest"]] = layer.get("size", 0)
            if image.id not in used_images:
                unused.add(layer["digest"])
    for image in images:
        if image.id in used_images:
            unused -= {layer["digest"] for layer in image.layers}
    volumes = api.volumes.list()
    used_volumes = {m.volume for c in containers for m in c.spec.mounts if m.volume}
    volume_sizes = {v.name: tree_size(v.path) for v in volumes}
    container_sizes = {c.id: tree_size(c.dir / "upper") for c in containers}
    cache = build_cache_usage(api.images)
    rows = [
        ("Images", len(images), len(used_images & {i.id for i in images}),
         sum(blob_sizes.values()), sum(blob_sizes[d] for d in unused)),
        ("Containers", len(containers), sum(c.running for c in containers),
         sum(container_sizes.values()),
         sum(size for c in containers if not c.running for size in [container_sizes[c.id]])),
        ("Local Volumes", len(volumes), len(used_volumes & set(volume_sizes)),
         sum(volume_sizes.values()),
         sum(size for name, size in volume_sizes.items() if name not in used_volumes)),
        ("Build Cache", cache.steps + len(cache.mounts), 0, cache.size, cache.size),
    ]
    if fmt == "json":
        for kind, total, active, size, reclaimable in rows:
            typer.echo(json.dumps({"Type": kind, "TotalCount": total, "Active": active,
                                   "Size": human_size(size),
                                   "Reclaimable": human_size(reclaimable)}))
        return
    print_table([[kind, str(total), str(active), human_size(size), _reclaimable(reclaimable, size)]
                 for kind, total, active, size, reclaimable in rows],
                ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"])
    if verbose:
        typer.echo("\nBuild cache mounts:")
        print_table([[m.id, human_size(m.size)] for m in cache.mounts], ["CACHE ID", "SIZE"])


def _reclaimable(part: int, whole: int) -> str:
    return f"{human_size(part)} ({100 * part // whole if whole else 0}%)"


@builder_app.command("du")
def du() -> None:
    """The build cache: remembered steps and RUN --mount=type=cache directories."""
    from runtime.api import build_cache_usage

    cache = build_cache_usage(engine().images)
    print_table([[m.id, human_size(m.size)] for m in cache.mounts] +
                [[f"({cache.steps} build steps)", human_size(cache.layers)]], ["ID", "SIZE"])
    typer.echo(f"Total: {human_size(cache.size)}")


@builder_app.command("prune")
def prune(all_: bool = typer.Option(False, "-a", "--all", help="Everything (berth keeps no "
                                                            "less)."),
          force: bool = typer.Option(False, "-f", "--force", help="Do not ask (berth never "
                                                                 "asks).")) -> None:
    """Remove the build cache: remembered steps, their layers no image uses, and the
    RUN --mount=type=cache directories no build is using."""
    from runtime.api import prune_build_cache

    freed = prune_build_cache(engine().images)
    typer.echo(f"Total reclaimed space: {human_size(freed)}")


def _event_line(event: dict) -> str:
    from .dockerjson import rfc3339

    stamp = rfc3339(event["timeNano"] / 1e9)[:-10] + f"{event['timeNano'] % 1_000_000_000:09d}Z"
    attributes = ", ".join(f"{k}={v}" for k, v in sorted(event["Actor"]["Attributes"].items()))
    return f"{stamp} {event['Type']} {event['Action']} {event['Actor']['ID']}" + \
        (f" ({attributes})" if attributes else "")


def _matches(event: dict, filters: dict[str, list[str]]) -> bool:
    """docker's --filter keys: type, event, container, image, network, volume, label."""
    attributes = event["Actor"]["Attributes"]
    actor = event["Actor"]["ID"]
    for key, values in filters.items():
        if key == "type":
            ok = event["Type"] in values
        elif key == "event":
            ok = event["Action"].split(":")[0] in values
        elif key in ("container", "image", "network", "volume"):
            ok = event["Type"] == key and any(
                actor.startswith(v) or attributes.get("name") == v for v in values) or (
                key == "image" and attributes.get("image") in values)
        elif key == "label":
            ok = any(attributes.get(v.partition("=")[0]) == v.partition("=")[2]
                     if "=" in v else v in attributes for v in values)
        else:
            raise typer.BadParameter(f"{key!r}: type, event, container, image, network, "
                                     "volume or label", param_hint="--filter")
        if not ok:
            return False
    return True


@system_app.command("events")
def events(since: Optional[str] = typer.Option(None, "--since"),
           until: Optional[str] = typer.Option(None, "--until"),
           filter_: Optional[List[str]] = typer.Option(None, "-f", "--filter"),
           fmt: Optional[str] = typer.Option(None, "--format",
                                             help="json or a {{.Field}} template")) -> None:
    """What happens to containers, images, networks and volumes: the past since --since,
    then what comes (until --until)."""
    from runtime.api import read_events

    from ..formatting import render_template
    from ..inspect import parse_since

    filters: dict[str, list[str]] = {}
    for item in filter_ or []:
        key, _, value = item.partition("=")
        filters.setdefault(key, []).append(value)
    start = parse_since(since) if since else time.time()
    end = parse_since(until, "--until") if until else None
    for event in read_events(engine().paths.root, start, end, follow=True):
        if not _matches(event, filters):
            continue
        if fmt == "json" or fmt == "{{json .}}":
            typer.echo(json.dumps(event))
        elif fmt:
            flat = {**event, "ID": event["Actor"]["ID"], "Status": event["Action"],
                    "Attributes": event["Actor"]["Attributes"]}
            typer.echo(render_template(fmt, flat))
        else:
            typer.echo(_event_line(event))


@system_app.command("info")
def info(fmt: Optional[str] = typer.Option(None, "--format", help="json")) -> None:
    """What berth runs with here: versions, storage, cgroups, counts."""
    import platform

    from runtime.api import cgroup_version

    api = engine()
    containers = api.list()
    data = {
        "Containers": len(containers),
        "ContainersRunning": sum(c.running and c.status.value == "running" for c in containers),
        "ContainersPaused": sum(c.status.value == "paused" for c in containers),
        "ContainersStopped": sum(not c.running for c in containers),
        "Images": len(api.images.list()), "Driver": "overlay", "DockerRootDir": str(api.paths.root),
        "CgroupDriver": "cgroupfs", "CgroupVersion": cgroup_version(),
        "KernelVersion": platform.release(), "OperatingSystem": _os_name(),
        "OSType": "linux", "Architecture": platform.machine(), "NCPU": os.cpu_count(),
        "MemTotal": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "Name": platform.node(), "ServerVersion": _version(), "LoggingDriver": "json-file",
        "SecurityOptions": ["name=seccomp,profile=builtin"],
    }
    if fmt == "json" or fmt == "{{json .}}":
        typer.echo(json.dumps(data))
        return
    for key, value in data.items():
        typer.echo(f" {key}: {value}")


def _os_name() -> str:
    try:
        with open("/etc/os-release") as handle:
            for line in handle:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("berth")
    except PackageNotFoundError:
        return "unknown"


@system_app.command("prune")
def prune_all(all_: bool = typer.Option(False, "-a", "--all", help="Every unused image, not "
                                                                  "only untagged ones."),
              volumes: bool = typer.Option(False, "--volumes", help="Unused volumes too."),
              filter_: Optional[List[str]] = typer.Option(None, "--filter",
                                                          help="until=DURATION or label=K[=V]"),
              force: bool = typer.Option(False, "-f", "--force", help="Do not ask (berth never "
                                                                     "asks).")) -> None:
    """Remove stopped containers, unused networks, dangling (with -a: unused) images, the
    build cache and (with --volumes) unused volumes."""
    from runtime.api import prune_build_cache, tree_size

    from ..inspect import parse_since

    until, labels = None, []
    for item in filter_ or []:
        key, _, value = item.partition("=")
        if key == "until":
            until = parse_since(value, "--filter until")
        elif key == "label":
            labels.append(value)
        else:
            raise typer.BadParameter(f"{item!r}: until=... or label=...", param_hint="--filter")

    def chosen(created: float, item_labels: dict) -> bool:
        return (until is None or created < until) and all(
            item_labels.get(lab.partition("=")[0]) == lab.partition("=")[2] if "=" in lab
            else lab in item_labels for lab in labels)

    api = engine()
    freed = 0
    removed = []
    for c in api.list():
        if not c.running and chosen(c.state.created_at, c.spec.labels):
            freed += tree_size(c.dir / "upper")
            api.remove(c.id)
            removed.append(c.id)
    if removed:
        typer.echo("Deleted Containers:\n" + "\n".join(removed) + "\n")
    nets = networks()
    gone = [n.name for n in nets.list() if not nets.users(n.name) and chosen(0, n.labels)
            and not n.labels.get("berth.build") and not n.labels.get("berth.default")]
    for name in gone:
        nets.remove(name)
    if gone:
        typer.echo("Deleted Networks:\n" + "\n".join(gone) + "\n")
    in_use = {c.spec.image_id for c in api.list()}
    deleted, reclaimed = api.images.prune(all_, in_use)
    freed += reclaimed
    if deleted:
        typer.echo("Deleted Images:\n" + "\n".join(f"deleted: {d}" for d in deleted) + "\n")
    if volumes:
        used = {m.volume for c in api.list() for m in c.spec.mounts if m.volume}
        for volume in api.volumes.list():
            if volume.name not in used and chosen(volume.created, volume.labels):
                freed += tree_size(volume.path)
                api.volumes.remove(volume.name)
                typer.echo(f"Deleted Volume: {volume.name}")
    if not until and not labels:
        freed += prune_build_cache(api.images)
    typer.echo(f"Total reclaimed space: {human_size(freed)}")
