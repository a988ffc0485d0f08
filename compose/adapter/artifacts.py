"""What compose makes of containers and registries beyond running them: an image's digest
in its registry (`config --resolve-image-digests`), blobs and a manifest pushed as one
OCI artifact (`publish`), a container's files as a tar (`export`), a container made an
image (`commit`)."""
from __future__ import annotations

import hashlib
from typing import Mapping

from common.reference import parse
from runtime.images.registry import MANIFEST_TYPES

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


def export(api, cid: str, dest: str) -> None:
    """Write container `cid`'s filesystem (its image's files with its changes, no volume)
    as a tar to `dest` (a file, or /dev/stdout)."""
    from runtime.snapshot import export as export_files

    container = api.get(cid)  # an unknown one leaves `dest` as it was
    with open(dest, "wb") as out:
        export_files(container, out)


def commit(api, cid: str, ref: str | None, author: str, message: str,
           changes: list[str], pause: bool) -> str:
    """`commit`: a new image of the container's image and its changes as one more layer
    (Dockerfile-like `changes` applied to its config), tagged `ref`; its id."""
    from runtime.snapshot import SnapshotError, commit_paused

    try:
        return commit_paused(api, cid, [ref] if ref else [], changes_=changes,
                             message=message, author=author, pause=pause).id
    except SnapshotError as err:
        raise ComposeError(str(err)) from None
