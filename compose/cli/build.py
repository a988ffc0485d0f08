"""`berth build` (a project's services), `berth image build` (docker build) and
`berth image bootstrap` (a Debian base image with debootstrap)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import List, Optional

import typer

from ..errors import ComposeError
from .app import app, engine, load
from .images import image_app


def _build_args(items: list[str] | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        out[key] = value if sep else None
    return out


@app.command("build")
def build(ctx: typer.Context, services: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
          no_cache: bool = typer.Option(False, "--no-cache"), pull: bool = typer.Option(False, "--pull"),
          build_arg: Optional[List[str]] = typer.Option(None, "--build-arg"),
          quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Build the images of a project's services that have a build section."""
    from ..images import build_service
    from .project import backend

    project = load(ctx, tuple(services or ()))
    be = backend()
    names = list(services or [n for n, s in project.services.items() if s.build])
    for name in names:
        if project.services[name].build is None:
            if services:
                raise ComposeError(f"service {name!r} has no build section")
            continue
        image_id = build_service(project, be, name, no_cache, pull, _build_args(build_arg))
        if quiet:
            typer.echo(image_id)


@image_app.command("build")
def image_build(context: str = typer.Argument(...),
                tag: Optional[List[str]] = typer.Option(None, "-t", "--tag"),
                file: Optional[str] = typer.Option(None, "-f", "--file"),
                build_arg: Optional[List[str]] = typer.Option(None, "--build-arg"),
                target: Optional[str] = typer.Option(None, "--target"),
                no_cache: bool = typer.Option(False, "--no-cache"),
                pull: bool = typer.Option(False, "--pull"),
                network: str = typer.Option("default", "--network",
                                            help="default (private, with a way out), host or none"),
                label: Optional[List[str]] = typer.Option(None, "--label"),
                quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Build an image from a Dockerfile (like `docker build`)."""
    from runtime.images.build import Builder, BuildOptions
    from runtime.images.registry import Registry
    from runtime import settings

    api = engine()
    conf = settings.load(api.paths)
    registry = Registry(api.images, dict(os.environ), conf.insecure_registries,
                        conf.max_concurrent_downloads)
    dockerfile = file or "Dockerfile"
    if file and not os.path.isabs(file):
        dockerfile = os.path.abspath(file)
    options = BuildOptions(context=context, dockerfile=dockerfile, tags=list(tag or []),
                           args=_build_args(build_arg), target=target, no_cache=no_cache,
                           pull=pull, network=network,
                           labels=dict(item.partition("=")[::2] for item in label or []),
                           environ=dict(os.environ))
    out = (lambda line: None) if quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    image = Builder(api, pull=lambda name: registry.pull(name), output=out).build(options)
    typer.echo(image.id)


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (deb.debian.org otherwise)."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        try:
            with open(path) as handle:
                for line in handle:
                    words = line.split()
                    if words[:1] == ["URIs:"] and len(words) > 1 and "security" not in words[1]:
                        return words[1]
                    if words[:1] == ["deb"] and len(words) > 2 and "security" not in words[1]:
                        return words[1]
        except OSError:
            continue
    return "http://deb.debian.org/debian"


@image_app.command("bootstrap")
def bootstrap(ref: str = typer.Argument("debian:bookworm"),
              suite: Optional[str] = typer.Option(None, "--suite", help="Debian suite (default: the tag)"),
              mirror: Optional[str] = typer.Option(None, "--mirror"),
              variant: str = typer.Option("minbase", "--variant"),
              include: Optional[str] = typer.Option(None, "--include", help="Extra packages, comma separated")) -> None:
    """Build a Debian base image with debootstrap from the configured Debian mirror."""
    from runtime.images.archive import import_rootfs
    from common.reference import parse

    if not os.path.exists("/usr/sbin/debootstrap"):
        raise ComposeError("debootstrap is not installed (apt-get install debootstrap)")
    suite = suite or parse(ref).tag or "bookworm"
    with tempfile.TemporaryDirectory(prefix="berth-debootstrap-") as target:
        cmd = ["debootstrap", f"--variant={variant}"]
        if include:
            cmd.append(f"--include={include}")
        cmd += [suite, target, mirror or debian_mirror()]
        print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
        if subprocess.run(cmd, stdout=sys.stderr).returncode != 0:
            raise ComposeError(f"debootstrap of {suite} failed")
        for name in ("var/cache/apt/archives", "var/lib/apt/lists"):
            path = os.path.join(target, name)
            for entry in os.listdir(path) if os.path.isdir(path) else []:
                full = os.path.join(path, entry)
                if os.path.isfile(full):
                    os.unlink(full)
        image = import_rootfs(engine().images, target, [ref],
                              ['CMD ["bash"]', 'ENV LANG=C.UTF-8'],
                              message=f"debootstrap {variant} {suite}")
    typer.echo(image.id)
