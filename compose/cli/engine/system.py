"""`berth system df` (what berth's root holds) and `berth builder du|prune` (the build
cache: the steps it remembers and the RUN --mount=type=cache directories)."""
from __future__ import annotations

import json
import os

import typer

from ..app import app
from ..formatting import human_size, print_table
from . import engine

system_app = typer.Typer(no_args_is_help=True, help="What berth's root holds.")
builder_app = typer.Typer(no_args_is_help=True, help="The build cache.")
app.add_typer(system_app, name="system")
app.add_typer(builder_app, name="builder")


def _tree_size(path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total


@system_app.command("df")
def df(verbose: bool = typer.Option(False, "-v", "--verbose"),
       fmt: str = typer.Option("table", "--format", help="table or json")) -> None:
    """Disk used by images, containers, volumes and the build cache."""
    from runtime.api import build_cache_usage

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
    volume_sizes = {v.name: _tree_size(v.path) for v in volumes}
    container_sizes = {c.id: _tree_size(c.dir / "upper") for c in containers}
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
