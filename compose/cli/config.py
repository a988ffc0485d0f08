"""`berth config`: print the resolved project, like `docker compose config`."""
from __future__ import annotations

import dataclasses
import json
from typing import List, Optional

import typer

from .app import app, backend, load, options


def _load_tree(ctx: typer.Context, *, interpolate: bool, resolve_paths: bool, normalize: bool,
               consistency: bool, services: tuple[str, ...]) -> dict | None:
    """The tree when a stage is left out (None: all stages run, use the project)."""
    if interpolate and resolve_paths and normalize and consistency:
        return None
    from ..load import load_project, load_tree
    from ..render import config_tree, ordered

    opts = dataclasses.replace(options().load_options(services), interpolate=interpolate,
                               resolve_paths=resolve_paths)
    if normalize and consistency:
        return config_tree(load_project(opts))
    return ordered(load_tree(opts, normalized=normalize))


def _pinned(tree: dict, lock: bool) -> dict:
    """Images pinned to their registry digests (`--resolve-image-digests`), or only that
    as an override file (`--lock-image-digests`)."""
    from common.reference import parse

    be = backend()
    out: dict = {"services": {}} if lock else tree
    for name, svc in (tree.get("services") or {}).items():
        image = svc.get("image")
        if not image or parse(image).digest:
            continue
        pinned = f"{image.split('@')[0]}@{be.image_digest(image)}"
        if lock:
            out["services"][name] = {"image": pinned}
        else:
            svc["image"] = pinned
    return out


@app.command("config")
def config(
    ctx: typer.Context,
    services_arg: Optional[List[str]] = typer.Argument(None, metavar="[SERVICE...]"),
    fmt: Optional[str] = typer.Option(None, "--format", help="yaml or json (--variables: table or json too)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only validate."),
    services: bool = typer.Option(False, "--services", help="Print the service names."),
    volumes: bool = typer.Option(False, "--volumes", help="Print the volume names."),
    networks: bool = typer.Option(False, "--networks", help="Print the network names."),
    profiles: bool = typer.Option(False, "--profiles", help="Print the profile names."),
    images: bool = typer.Option(False, "--images", help="Print the image names."),
    models: bool = typer.Option(False, "--models", help="Print the model names."),
    hash_: Optional[str] = typer.Option(None, "--hash", help="Print each service's config hash ('*': all)."),
    variables: bool = typer.Option(False, "--variables", help="Print the variables the files use, and their defaults."),
    environment: bool = typer.Option(False, "--environment", help="Print the environment used for interpolation."),
    no_interpolate: bool = typer.Option(False, "--no-interpolate", help="Leave ${VAR} as written."),
    no_normalize: bool = typer.Option(False, "--no-normalize", help="Leave out compose's implied values."),
    no_path_resolution: bool = typer.Option(False, "--no-path-resolution", help="Leave paths relative."),
    no_consistency: bool = typer.Option(False, "--no-consistency", help="Skip the checks across the model."),
    resolve_image_digests: bool = typer.Option(False, "--resolve-image-digests", help="Pin images to their registry digests."),
    lock_image_digests: bool = typer.Option(False, "--lock-image-digests", help="Print an override file pinning the images."),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Write to a file."),
) -> None:
    """Validate the compose files and print the resolved, normalized project."""
    from ..render import config_tree, image_name, to_json, to_yaml

    if fmt not in (None, "yaml", "json") and not (variables and fmt == "table"):
        raise typer.BadParameter("must be yaml or json", param_hint="--format")
    targets = tuple(services_arg or ())
    if variables:
        text = _variables(fmt or "table")
    else:
        tree = _load_tree(ctx, interpolate=not no_interpolate, resolve_paths=not no_path_resolution,
                          normalize=not no_normalize, consistency=not no_consistency,
                          services=targets)
        project = load(ctx, targets) if tree is None else None
        if quiet:
            return
        if project is not None:
            text = _listing(project, targets, services=services, volumes=volumes,
                            networks=networks, profiles=profiles, images=images, models=models,
                            hash_=hash_, environment=environment, image_name=image_name)
        else:
            text = None
        if text is None:
            tree = tree if tree is not None else config_tree(project)
            if targets:
                tree["services"] = {k: v for k, v in tree.get("services", {}).items()
                                    if k in targets}
            if resolve_image_digests or lock_image_digests:
                tree = _pinned(tree, lock_image_digests)
            text = to_json(tree) if fmt == "json" else to_yaml(tree).rstrip("\n")
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    elif text:
        typer.echo(text)


def _listing(project, targets, *, services, volumes, networks, profiles, images, models,
             hash_, environment, image_name) -> str | None:
    """The one-per-line answers (None: print the project)."""
    names = list(targets or project.services)
    if services:
        return "\n".join(names)
    if volumes:
        return "\n".join(project.volumes)
    if networks:
        return "\n".join(project.networks)
    if profiles:
        return "\n".join(project.profiles)
    if images:
        return "\n".join(image_name(project, name) for name in names)
    if models:
        return "\n".join(project.tree.get("models") or {})
    if environment:
        return "\n".join(f"{k}={v}" for k, v in sorted(project.environment.items()))
    if hash_ is not None:
        return _hashes(project, names if hash_ == "*" else hash_.split(","))
    return None


def _hashes(project, names: list[str]) -> str:
    """`SERVICE HASH` lines: the config hash a container made now would carry (with the
    image present here; compare with `berth ps --format '{{.Labels}}'`)."""
    from ..errors import ComposeError
    from ..labels import config_hash, image_ref

    be = backend()
    lines = []
    for name in names:
        if name not in project.services:
            raise ComposeError(f"no such service: {name}")
        image_id = be.image_id(image_ref(project, project.services[name])) or ""
        lines.append(f"{name} {config_hash(project, name, image_id)}")
    return "\n".join(lines)


def _variables(fmt: str) -> str:
    from ..load import file_variables
    from .formatting import table_text

    found = file_variables(options().load_options())
    if fmt == "json":
        return "\n".join(json.dumps({"Name": v.name, "Required": v.required,
                                     "DefaultValue": v.default, "PresenceValue": v.alternate})
                         for v in found.values())
    if fmt == "yaml":
        from ..render import to_yaml

        return to_yaml({v.name: {"name": v.name, "required": v.required,
                                 "defaultvalue": v.default, "presencevalue": v.alternate}
                        for v in found.values()}).rstrip("\n")
    return table_text([[v.name, str(v.required).lower(), v.default, v.alternate]
                       for v in found.values()],
                      ["NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE"])

