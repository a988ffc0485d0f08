"""`berth image ...`: the image store from the command line."""
from __future__ import annotations

import json
import time
from typing import List, Optional

import typer

from .app import app, engine, print_table

image_app = typer.Typer(no_args_is_help=True, help="Manage images.")
app.add_typer(image_app, name="image")


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.3g}{unit}" if unit != "B" else f"{int(size)}B"
        size /= 1000
    return f"{size:.3g}GB"


def human_ago(when: float) -> str:
    from common.units import human_duration

    return f"{human_duration(time.time() - when)} ago"


@image_app.command("import")
def import_(source: str = typer.Argument(..., help="A rootfs directory or tar archive."),
            ref: Optional[str] = typer.Argument(None, metavar="[REF]"),
            change: Optional[List[str]] = typer.Option(None, "-c", "--change",
                                                       help="A Dockerfile instruction."),
            message: str = typer.Option("", "-m", "--message")) -> None:
    """Create an image of one layer from a root filesystem (like `docker import`)."""
    from runtime.images.archive import import_rootfs

    image = import_rootfs(engine().images, source, [ref] if ref else [], change or [], message)
    typer.echo(image.id)


@image_app.command("load")
def load(input: str = typer.Option(..., "-i", "--input", help="Archive to read."),
         quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Load images from a `docker save` or OCI-layout archive."""
    from runtime.images.archive import load as load_archive
    from common.reference import parse

    for image in load_archive(engine().images, input):
        if not quiet:
            for ref in image.refs:
                typer.echo(f"Loaded image: {parse(ref).familiar()}")
            if not image.refs:
                typer.echo(f"Loaded image ID: {image.id}")


@image_app.command("save")
def save(refs: List[str] = typer.Argument(..., metavar="IMAGE..."),
         output: str = typer.Option(..., "-o", "--output", help="Archive to write.")) -> None:
    """Save images to a docker-loadable archive."""
    from runtime.images.archive import save as save_archive
    from common.reference import parse

    store = engine().images
    chosen = []
    for ref in refs:
        image = store.get(ref)
        tagged = [str(parse(ref))] if str(parse(ref)) in image.refs else list(image.refs)
        chosen.append((image, tagged))
    save_archive(store, chosen, output)


@image_app.command("ls")
def ls(quiet: bool = typer.Option(False, "-q", "--quiet"),
       fmt: str = typer.Option("table", "--format", help="table or json")) -> None:
    """List images."""
    from common.reference import parse

    rows, records = [], []
    for image in engine().images.list():
        names = [parse(r) for r in image.refs] or [None]
        for ref in names:
            repo = ref.familiar().rsplit(":", 1)[0] if ref and ref.tag else "<none>"
            tag = ref.tag if ref and ref.tag else "<none>"
            rows.append([repo, tag, image.short_id, human_ago(image.added), human_size(image.size)])
            records.append({"Repository": repo, "Tag": tag, "ID": image.id,
                            "CreatedAt": image.config.get("created", ""), "Size": image.size})
    if quiet:
        for image_id in dict.fromkeys(r[2] for r in rows):
            typer.echo(image_id)
    elif fmt == "json":
        for record in records:
            typer.echo(json.dumps(record))
    else:
        print_table(rows, ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"])


@image_app.command("inspect")
def inspect(refs: List[str] = typer.Argument(..., metavar="IMAGE...")) -> None:
    """Show images' configs and manifests as JSON."""
    store = engine().images
    out = []
    for ref in refs:
        image = store.get(ref)
        out.append({"Id": image.id, "RepoTags": list(image.refs), "Manifest": image.manifest,
                    "ManifestDigest": image.manifest_digest, "Config": image.config.get("config", {}),
                    "Architecture": image.config.get("architecture"), "Os": image.config.get("os"),
                    "RootFS": image.config.get("rootfs"), "Created": image.config.get("created"),
                    "Size": image.size})
    typer.echo(json.dumps(out, indent=2))


@image_app.command("tag")
def tag(source: str, target: str) -> None:
    """Give an image another name."""
    engine().images.tag(source, target)


@image_app.command("rm")
def rm(refs: List[str] = typer.Argument(..., metavar="IMAGE..."),
       force: bool = typer.Option(False, "-f", "--force")) -> None:
    """Remove images (untag; delete when no tag is left)."""
    api = engine()
    in_use = {c.spec.image_id for c in api.list()}
    for ref in refs:
        for line in api.images.remove(ref, in_use, force):
            typer.echo(line)


@image_app.command("prune")
def prune(all_: bool = typer.Option(False, "-a", "--all", help="Also unused tagged images."),
          force: bool = typer.Option(False, "-f", "--force")) -> None:
    """Remove unused images and the layers only they used."""
    api = engine()
    in_use = {c.spec.image_id for c in api.list()}
    deleted, reclaimed = api.images.prune(all_, in_use)
    for image_id in deleted:
        typer.echo(f"Deleted: {image_id}")
    typer.echo(f"Total reclaimed space: {human_size(reclaimed)}")


@image_app.command("history")
def history(ref: str, no_trunc: bool = typer.Option(False, "--no-trunc")) -> None:
    """Show how an image was made, newest step first."""
    image = engine().images.get(ref)
    sizes = iter(layer.get("size", 0) for layer in image.layers)
    rows = []
    for entry in image.config.get("history") or []:
        size = 0 if entry.get("empty_layer") else next(sizes, 0)
        created_by = entry.get("created_by", "")
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        rows.append([entry.get("created", ""), created_by, human_size(size),
                     entry.get("comment", "")])
    rows.reverse()
    print_table([[image.short_id if i == 0 else "<missing>"] + row for i, row in enumerate(rows)],
                ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"])
