"""`publish`: the resolved compose file as an OCI artifact, as docker compose lays it out
(an image manifest of artifactType application/vnd.docker.compose.project, an empty
config, and the file as a layer of type application/vnd.docker.compose.file+yaml), so
`docker compose -f oci://REF` and skopeo read it. Pure: the caller pushes the blobs.

A published file must work on another machine: every service runs an image (none is
only built here), and nothing points at this machine's files (bind mounts, env_file,
file-based secrets and configs are already folded in or refused); environment values,
which may be secrets, go only with `with_env`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .errors import ComposeError
from .labels import BERTH_VERSION
from .model import Project

ARTIFACT_TYPE = "application/vnd.docker.compose.project"
FILE_MEDIA_TYPE = "application/vnd.docker.compose.file+yaml"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Artifact:
    blobs: dict[str, bytes]  # digest -> content (the config and the file)
    manifest: bytes
    media_type: str = MANIFEST_MEDIA_TYPE

    @property
    def digest(self) -> str:
        return _digest(self.manifest)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_publishable(project: Project, with_env: bool) -> None:
    """Raise ComposeError for the first thing that would not travel."""
    for name, svc in project.services.items():
        where = f"service {name!r}"
        if not svc.image:
            raise ComposeError(f"{where} has no image: only built here, it can not be "
                               "published (give it an `image:` and push it)")
        for mount in svc.volumes:
            if mount.type == "bind":
                raise ComposeError(f"{where} bind-mounts {mount.source}, a file of this "
                                   "machine: it can not be published")
        if svc.environment and not with_env:
            raise ComposeError(f"{where} sets environment variables, which may hold "
                               "secrets: publish them with --with-env")
    for kind, objects in (("secret", project.secrets), ("config", project.configs)):
        for key, obj in objects.items():
            if obj.file:
                raise ComposeError(f"{kind} {key!r} is the file {obj.file} of this "
                                   "machine: it can not be published")
            if obj.environment and not with_env:
                raise ComposeError(f"{kind} {key!r} comes from the environment: publish "
                                   "it with --with-env")


def artifact(text: str, created: str, file_name: str = "compose.yaml") -> Artifact:
    """The artifact of compose file `text` (made at RFC 3339 time `created`)."""
    data = text.encode()
    empty = b"{}"
    layer = {"mediaType": FILE_MEDIA_TYPE, "digest": _digest(data), "size": len(data),
             "annotations": {"com.docker.compose.file": file_name,
                             "com.docker.compose.version": BERTH_VERSION}}
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_MEDIA_TYPE,
                "artifactType": ARTIFACT_TYPE,
                "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": _digest(empty), "size": 2,
                           "data": "e30="},
                "layers": [layer],
                "annotations": {"org.opencontainers.image.created": created}}
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    return Artifact({_digest(empty): empty, _digest(data): data}, raw)
