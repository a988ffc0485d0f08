"""`berth kube`: the project on Kubernetes. `convert` writes a Kustomize base and the
report of what became of each compose key; `apply` and `down` talk to a cluster."""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ..errors import ComposeError
from .app import app, backend, cache_dir, progress, project_name

if TYPE_CHECKING:
    from ..kube.convert import Conversion
    from ..kube.model import Options

kube_app = typer.Typer(no_args_is_help=True,
                       help="Run the project on Kubernetes: convert it, apply it, take it down.")
app.add_typer(kube_app, name="kube")

_REGISTRY = typer.Option(None, "--registry", metavar="REG",
                         help="Where images of build: services are pushed (e.g. ghcr.io/me).")
_SERVICE_TYPE = typer.Option("ClusterIP", "--service-type",
                             help="Service type of published ports: ClusterIP, NodePort or "
                                  "LoadBalancer.")
_LIVENESS = typer.Option(False, "--liveness", help="Healthchecks become liveness probes too.")
_CONTEXT = typer.Option(None, "--context", help="The kubeconfig context.")


def _conversion(ctx: typer.Context, options: "Options", registry: str | None) -> "Conversion":
    """Load the project as `up` does and convert it; images of build: services are built
    and pushed first."""
    from ..cache import load as load_cached
    from ..events import quiet
    from ..kube.convert import convert
    from ..kube.images import check_registry, exposed, images
    from ..kube.model import Source
    from ..kube.source import read_host
    from ..load import written_services

    opts = ctx.find_root().obj.load_options()
    if opts.read_stdin is not None:  # `-f -`: both loads read the one text
        opts = dataclasses.replace(opts, read_stdin=functools.cache(opts.read_stdin))
    project = load_cached(opts, cache_dir())
    written = written_services(opts)
    check_registry(project, registry)
    be = backend()
    builds = any(svc.build for svc in project.services.values())
    shown = progress("Building") if builds else None
    try:
        refs = images(project, be, registry, shown or quiet)
    finally:
        if shown:
            shown.close()
    return convert(Source(project, written, refs, read_host, exposed(project, be)), options)


def _options(namespace: str | None, service_type: str, liveness: bool) -> "Options":
    """The conversion's options: a bad one is an error before anything is done."""
    from ..kube.model import Options

    return Options(namespace=namespace, service_type=service_type, liveness=liveness)


@kube_app.command("convert")
def convert_(ctx: typer.Context,
             output: str = typer.Option("kube", "-o", "--output", metavar="DIR",
                                        help="The directory to write (replaced whole)."),
             namespace: Optional[str] = typer.Option(None, "-n", "--namespace",
                                                     help="Namespace of the base."),
             registry: Optional[str] = _REGISTRY, service_type: str = _SERVICE_TYPE,
             liveness: bool = _LIVENESS) -> None:
    """Write the project as a Kustomize base: a file per object, kustomization.yaml and
    REPORT.md (what became of every compose key)."""
    from ..kube.kustomize import REPORT, write

    options = _options(namespace, service_type, liveness)
    conversion = _conversion(ctx, options, registry)
    write(Path(output), conversion, options.namespace)
    for line in conversion.report.summary():
        typer.echo(line)
    typer.echo(f"wrote {len(conversion.manifests) + 2} files to {output} (see "
               f"{Path(output) / REPORT})")


@kube_app.command("apply")
def apply_(ctx: typer.Context, context: Optional[str] = _CONTEXT,
           namespace: Optional[str] = typer.Option(None, "-n", "--namespace",
                                                   help="Namespace (default: the context's)."),
           wait: bool = typer.Option(False, "--wait",
                                     help="Wait for each level of services to be ready."),
           timeout: Optional[float] = typer.Option(None, "--wait-timeout", metavar="SECONDS"),
           dry_run: Optional[str] = typer.Option(None, "--dry-run", metavar="server",
                                                 help="Have the API server check, not keep."),
           registry: Optional[str] = _REGISTRY, service_type: str = _SERVICE_TYPE,
           liveness: bool = _LIVENESS) -> None:
    """Convert the project and apply it to a cluster (server-side apply), in dependency
    order."""
    from ..kube.apply import Cluster, apply

    if dry_run not in (None, "server"):
        raise ComposeError(f"--dry-run={dry_run}: only --dry-run=server is supported")
    options = _options(namespace, service_type, liveness)
    cluster = Cluster(context)  # reached before anything is built
    conversion = _conversion(ctx, options, registry)
    shown = progress("Applying")
    try:
        apply(cluster, conversion, options.namespace, wait=wait, dry_run=dry_run is not None,
              report=shown, timeout=timeout)
    finally:
        shown.close()


@kube_app.command("down")
def down(ctx: typer.Context, context: Optional[str] = _CONTEXT,
         namespace: Optional[str] = typer.Option(None, "-n", "--namespace",
                                                 help="Namespace (default: the context's)."),
         volumes: bool = typer.Option(False, "-v", "--volumes",
                                      help="Delete the volume claims too (their data).")) -> None:
    """Delete the project's objects from a cluster."""
    from ..kube.apply import Cluster, down as take_down

    _, name = project_name(ctx)
    cluster = Cluster(context)
    shown = progress("Removing")
    try:
        count = take_down(cluster, name, namespace, volumes=volumes, report=shown)
    finally:
        shown.close()
    if not count:
        typer.echo(f"nothing of project {name} in the cluster")
