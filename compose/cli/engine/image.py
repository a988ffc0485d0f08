"""`berth image ...`: the image store from the command line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import List, Optional

import typer

from ...errors import ComposeError
from ..app import app
from ..build import parse_build_args
from ..formatting import human_ago, human_size, print_table
from ..registry import pull_images, push_images
from . import engine, registry

image_app = typer.Typer(no_args_is_help=True, help="Manage images.")
app.add_typer(image_app, name="image")


@image_app.command("import")
def import_(source: str = typer.Argument(..., help="A rootfs directory or tar archive."),
            ref: Optional[str] = typer.Argument(None, metavar="[REF]"),
            change: Optional[List[str]] = typer.Option(None, "-c", "--change",
                                                       help="A Dockerfile instruction."),
            message: str = typer.Option("", "-m", "--message")) -> None:
    """Create an image of one layer from a root filesystem (like `docker import`)."""
    from runtime.api import import_rootfs

    image = import_rootfs(engine().images, source, [ref] if ref else [], change or [], message)
    typer.echo(image.id)


@image_app.command("load")
def load(input: str = typer.Option(..., "-i", "--input", help="Archive to read."),
         quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Load images from a `docker save` or OCI-layout archive."""
    from common.reference import parse
    from runtime.api import load_archive

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
    from common.reference import parse
    from runtime.api import save_archive

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


@image_app.command("pull")
def image_pull(refs: List[str] = typer.Argument(..., metavar="IMAGE..."),
               platform: Optional[str] = typer.Option(None, "--platform"),
               quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Pull images from their registries."""
    pull_images(refs, platform, quiet)


@image_app.command("push")
def image_push(refs: List[str] = typer.Argument(..., metavar="IMAGE..."),
               all_tags: bool = typer.Option(False, "-a", "--all-tags",
                                             help="Every tag of each repository named."),
               quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Push images to their registries."""
    if all_tags:
        from common.reference import parse

        repositories = {parse(ref).familiar().rsplit(":", 1)[0] for ref in refs}
        refs = sorted({tag for image in engine().images.list() for tag in image.refs
                       if parse(tag).familiar().rsplit(":", 1)[0] in repositories})
        if not refs:
            raise ComposeError(f"no tags of {', '.join(sorted(repositories))} to push")
    push_images(refs, quiet)


@image_app.command("build")
def image_build(
        context: str = typer.Argument(...),
        tag: Optional[List[str]] = typer.Option(None, "-t", "--tag"),
        file: Optional[str] = typer.Option(None, "-f", "--file"),
        build_arg: Optional[List[str]] = typer.Option(None, "--build-arg"),
        target: Optional[str] = typer.Option(None, "--target"),
        no_cache: bool = typer.Option(False, "--no-cache"),
        no_cache_filter: Optional[List[str]] = typer.Option(None, "--no-cache-filter",
                                                            help="Stages built without the cache."),
        pull: bool = typer.Option(False, "--pull"),
        network: str = typer.Option("default", "--network",
                                    help="default (private, with a way out), host or none"),
        label: Optional[List[str]] = typer.Option(None, "--label"),
        secret: Optional[List[str]] = typer.Option(None, "--secret",
                                                   help="id=NAME,src=FILE or id=NAME,env=VAR"),
        ssh: Optional[List[str]] = typer.Option(None, "--ssh", help="default or ID[=SOCKET]"),
        platform: Optional[str] = typer.Option(None, "--platform"),
        build_context: Optional[List[str]] = typer.Option(None, "--build-context",
                                                          help="NAME=DIR or NAME=docker-image://REF"),
        progress: str = typer.Option("auto", "--progress", help="auto, plain, tty or quiet"),
        iidfile: Optional[str] = typer.Option(None, "--iidfile"),
        add_host: Optional[List[str]] = typer.Option(None, "--add-host"),
        shm_size: Optional[str] = typer.Option(None, "--shm-size"),
        ulimit: Optional[List[str]] = typer.Option(None, "--ulimit"),
        output: Optional[List[str]] = typer.Option(None, "-o", "--output",
                                                   help="type=local,dest=DIR or type=tar,dest=FILE"),
        allow: Optional[List[str]] = typer.Option(None, "--allow",
                                                  help="network.host, security.insecure"),
        cache_from: Optional[List[str]] = typer.Option(None, "--cache-from",
                                                       help="type=local,src=DIR"),
        cache_to: Optional[str] = typer.Option(None, "--cache-to", help="type=local,dest=DIR"),
        quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
    """Build an image from a Dockerfile (like `docker build`)."""
    from common.units import parse_bytes
    from runtime.api import Builder, BuildOptions

    from ..buildflags import parse_add_host, parse_build_context, parse_secret, parse_ssh
    from .runconfig import parse_ulimit

    if progress not in ("auto", "plain", "tty", "quiet", "rawjson"):
        raise typer.BadParameter(f"{progress!r}: use auto, plain, tty or quiet",
                                 param_hint="--progress")
    for entitlement in allow or []:
        if entitlement not in ("network.host", "security.insecure"):
            raise typer.BadParameter(f"{entitlement!r}: use network.host or security.insecure",
                                     param_hint="--allow")
    environ = dict(os.environ)
    reg = registry()
    dockerfile = file or "Dockerfile"
    if file and not os.path.isabs(file) and file != "-":
        dockerfile = os.path.abspath(file)
    try:
        size = parse_bytes(shm_size) if shm_size else None
    except ValueError:
        raise typer.BadParameter(f"invalid size {shm_size!r}", param_hint="--shm-size") from None
    options = BuildOptions(
        context=context, dockerfile=dockerfile, tags=list(tag or []),
        dockerfile_inline=sys.stdin.read() if file == "-" else None,
        args=parse_build_args(build_arg), target=target, no_cache=no_cache,
        no_cache_filter=list(no_cache_filter or []), pull=pull, network=network,
        labels=dict(item.partition("=")[::2] for item in label or []), environ=environ,
        platform=platform, secrets=dict(parse_secret(s, environ) for s in secret or []),
        ssh=dict(parse_ssh(s, environ) for s in ssh or []),
        contexts=dict(parse_build_context(c) for c in build_context or []),
        add_hosts=[parse_add_host(h) for h in add_host or []], shm_size=size,
        ulimits=dict(parse_ulimit(u) for u in ulimit or []), outputs=list(output or []),
        allow=list(allow or []), cache_from=list(cache_from or []), cache_to=cache_to)
    silent = quiet or progress == "quiet"
    out = (lambda line: None) if silent else (lambda line: print(line, file=sys.stderr, flush=True))
    image = Builder(engine(), pull=lambda name, platform: reg.pull(name, platform),
                    output=out).build(options)
    if iidfile:
        with open(iidfile, "w") as handle:
            handle.write(image.id)
    if not output:
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
    from common.reference import parse
    from runtime.api import import_rootfs

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


@app.command("login")
def login(server: Optional[str] = typer.Argument(None),
          username: Optional[str] = typer.Option(None, "-u", "--username"),
          password: Optional[str] = typer.Option(None, "-p", "--password"),
          password_stdin: bool = typer.Option(False, "--password-stdin")) -> None:
    """Store credentials for a registry (checked against it first)."""
    from runtime.api import save_credentials

    server = server or "docker.io"
    if password_stdin:
        password = sys.stdin.read().rstrip("\n")
    if not username:
        username = typer.prompt("Username")
    if password is None:
        password = typer.prompt("Password", hide_input=True)
    registry().login(server, username, password)
    path = save_credentials(server, username, password, dict(os.environ))
    typer.echo(f"Login Succeeded (credentials stored in {path})")


@app.command("logout")
def logout(server: Optional[str] = typer.Argument(None)) -> None:
    """Forget the credentials of a registry."""
    from runtime.api import remove_credentials

    server = server or "docker.io"
    if remove_credentials(server, dict(os.environ)):
        typer.echo(f"Removing login credentials for {server}")
    else:
        typer.echo(f"Not logged in to {server}")
