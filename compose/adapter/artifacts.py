"""What compose makes of containers and registries beyond running them: an image's digest
in its registry (`config --resolve-image-digests`), blobs and a manifest pushed as one
OCI artifact (`publish`), a container's files as a tar (`export`), a container made an
image (`commit`)."""
from __future__ import annotations

import copy
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Mapping

from common.reference import parse
from runtime.forked import ChildError, in_child
from runtime.images import imageconfig
from runtime.images.archive import add_layer_blob
from runtime.images.layerdiff import write_layer
from runtime.images.registry import MANIFEST_TYPES
from runtime.syscalls import CLONE_NEWNS, MS_PRIVATE, MS_RDONLY, MS_REC, SYSCALLS

from ..errors import ComposeError


def registry_digest(registry, ref: str) -> str:
    """The digest the registry gives `ref`'s manifest (an index for a multi-platform
    image): what pins it."""
    parsed = parse(ref)
    if parsed.digest:
        return parsed.digest
    resp = registry.session(parsed.domain).request(
        "GET", f"/v2/{parsed.path}/manifests/{parsed.tag or 'latest'}",
        f"repository:{parsed.path}:pull", {"Accept": ", ".join(MANIFEST_TYPES)})
    return "sha256:" + hashlib.sha256(resp.body).hexdigest()


def push_blobs(registry, ref: str, blobs: Mapping[str, bytes], manifest: bytes,
               media_type: str) -> str:
    """Upload `blobs` (digest -> content) to `ref`'s repository, then `manifest` under its
    tag; the manifest's digest."""
    parsed = parse(ref)
    session = registry.session(parsed.domain)
    scope = f"repository:{parsed.path}:pull,push"
    for digest, data in blobs.items():
        found = session.request("HEAD", f"/v2/{parsed.path}/blobs/{digest}", scope,
                                ok=(200, 404))
        if found.status == 200:
            continue
        resp = session.request("POST", f"/v2/{parsed.path}/blobs/uploads/", scope, ok=(202,))
        location = resp.headers.get("Location") or resp.headers.get("location") or ""
        if not location:
            raise ComposeError(f"registry {parsed.domain} gave no upload location")
        if not location.startswith("http"):
            location = session.base + location
        sep = "&" if "?" in location else "?"
        session.request("PUT", f"{location}{sep}digest={digest}", scope,
                        {"Content-Type": "application/octet-stream",
                         "Content-Length": str(len(data))}, data=data, ok=(201, 204))
    session.request("PUT", f"/v2/{parsed.path}/manifests/{parsed.tag or 'latest'}", scope,
                    {"Content-Type": media_type}, data=manifest, ok=(201, 202))
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def _lowers(api, container) -> list[str]:
    """The container's files, top first: its own layer over its image's."""
    image = api.images.get(container.spec.image_id)
    upper = str(api.paths.container(container.id) / "upper")
    return [upper] + list(reversed(api.images.layer_dirs(image)))


def export(api, cid: str, dest: str) -> None:
    """Write container `cid`'s filesystem (its image's files with its changes, no volume)
    as a tar to `dest` (a file, or /dev/stdout): the layers are mounted read-only in a
    private mount namespace of a child process."""
    import tarfile

    container = api.get(cid)
    lowers = _lowers(api, container)

    def write() -> None:
        SYSCALLS.unshare(CLONE_NEWNS)
        SYSCALLS.mount(None, "/", None, MS_REC | MS_PRIVATE)
        root = tempfile.mkdtemp(prefix="berth-export-")
        SYSCALLS.mount("overlay", root, "overlay", MS_RDONLY, "lowerdir=" + ":".join(lowers))
        with open(dest, "wb") as out, \
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(os.listdir(root)):
                tar.add(os.path.join(root, name), arcname=name)

    try:
        in_child(write)
    except ChildError as err:
        raise ComposeError(f"cannot export {container.name}: {err}") from None


def commit(api, cid: str, ref: str | None, author: str, message: str,
           changes: list[str], pause: bool) -> str:
    """`commit`: a new image of the container's image and its changes as one more layer
    (Dockerfile-like `changes` applied to its config), tagged `ref`; its id."""
    container = api.get(cid)
    base = api.images.get(container.spec.image_id)
    paused = pause and container.status.value == "running"
    if paused:
        api.pause(cid, True)
    try:
        with tempfile.TemporaryFile(dir=api.images.tmp) as tmp:
            write_layer(str(Path(api.paths.container(cid)) / "upper"), tmp)
            tmp.seek(0)
            layer, diff_id = add_layer_blob(api.images, tmp)
    finally:
        if paused:
            api.pause(cid, False)
    config = copy.deepcopy(base.config)
    for change in changes:
        try:
            imageconfig.apply_change(config, change)
        except ValueError as err:
            raise ComposeError(f"--change {change!r}: {err}") from None
    created = imageconfig.now_rfc3339()
    config["created"] = created
    config.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"] = \
        list(base.diff_ids) + [diff_id]
    config["history"] = list(config.get("history") or []) + [
        {"created": created, "created_by": "berth commit", "author": author,
         "comment": message}]
    if author:
        config["author"] = author
    image = api.images.add(config, list(base.layers) + [layer], [ref] if ref else [])
    return image.id
