"""Images in and out of files: `import` a rootfs, `load` and `save` image archives.

`load` reads both `docker save` archives (manifest.json) and OCI image layouts
(index.json), plain or gzip-compressed. `save` writes one archive that is both:
docker-style manifest.json plus an OCI layout, with uncompressed layers, so that
`docker load`, skopeo and berth all read it.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from typing import BinaryIO, Iterable

from common import reference

from ..errors import BerthError
from . import imageconfig
from .store import MEDIA_LAYER, MEDIA_LAYER_GZIP, MEDIA_LAYER_ZSTD, MEDIA_MANIFEST, Image, ImageStore
from .unpack import open_layer

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


class ArchiveError(BerthError, ValueError):
    """An archive berth cannot read."""


def _layer_media_type(path: str) -> str:
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic[:2] == b"\x1f\x8b":
        return MEDIA_LAYER_GZIP
    if magic == b"\x28\xb5\x2f\xfd":
        return MEDIA_LAYER_ZSTD
    return MEDIA_LAYER


def add_layer_blob(store: ImageStore, stream: BinaryIO, expected: str | None = None) -> tuple[dict, str]:
    """Store a layer blob, unpack it; return its descriptor and diff id."""
    digest, size = store.put_stream(stream, expected)
    diff_id = store.ensure_layer(digest)
    media = _layer_media_type(str(store.blob_path(digest)))
    return {"mediaType": media, "digest": digest, "size": size}, diff_id


def _tar_directory(source: str, out: BinaryIO) -> None:
    """A tar of a directory's contents with numeric owners (what a layer needs)."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(os.listdir(source)):
            tar.add(os.path.join(source, entry), arcname=entry, recursive=True)


def import_rootfs(store: ImageStore, source: str, refs: Iterable[str],
                  changes: Iterable[str] = (), message: str = "") -> Image:
    """`docker import`: one layer from a directory or a tar (gzip/zstd/plain)."""
    config = imageconfig.new_config()
    for change in changes:
        imageconfig.apply_change(config, change)
    if os.path.isdir(source):
        with tempfile.TemporaryFile(dir=store.tmp) as tmp:
            _tar_directory(source, tmp)  # type: ignore[arg-type]
            tmp.seek(0)
            layer, diff_id = add_layer_blob(store, tmp)  # type: ignore[arg-type]
    elif os.path.isfile(source):
        with open(source, "rb") as handle:
            layer, diff_id = add_layer_blob(store, handle)
    else:
        raise ArchiveError(f"{source}: no such file or directory")
    config["rootfs"]["diff_ids"] = [diff_id]
    config["history"] = [{"created": config["created"], "created_by": "berth import",
                          "comment": message or f"imported from {os.path.basename(source)}"}]
    return store.add(config, [layer], refs)


# --- load ------------------------------------------------------------------------------

class _Archive:
    """Random access to the members of an (optionally compressed) tar archive."""

    def __init__(self, path: str) -> None:
        try:
            self.tar = tarfile.open(path, mode="r:*")
        except (tarfile.TarError, OSError) as err:
            raise ArchiveError(f"{path}: not an image archive ({err})") from None
        self.names = {m.name.lstrip("./"): m for m in self.tar.getmembers()}

    def open(self, name: str) -> BinaryIO:
        member = self.names.get(name.lstrip("./"))
        if member is None:
            raise ArchiveError(f"archive is missing {name}")
        if member.issym() or member.islnk():  # docker archives link duplicate layers
            target = os.path.normpath(os.path.join(os.path.dirname(member.name), member.linkname))
            return self.open(target)
        handle = self.tar.extractfile(member)
        if handle is None:
            raise ArchiveError(f"{name} is not a file in the archive")
        return handle  # type: ignore[return-value]

    def json(self, name: str) -> object:
        try:
            return json.loads(self.open(name).read())
        except json.JSONDecodeError as err:
            raise ArchiveError(f"{name}: invalid JSON ({err})") from None

    def has(self, name: str) -> bool:
        return name.lstrip("./") in self.names


def _blob_name(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"blobs/{algo}/{hexpart}"


def load(store: ImageStore, path: str) -> list[Image]:
    """Load every image in a docker-save or OCI-layout archive."""
    archive = _Archive(path)
    with archive.tar:
        if archive.has("manifest.json"):
            return _load_docker(store, archive)
        if archive.has("index.json"):
            return _load_oci(store, archive)
    raise ArchiveError(f"{path}: neither a docker archive (manifest.json) nor an OCI layout "
                       "(index.json)")


def _load_docker(store: ImageStore, archive: _Archive) -> list[Image]:
    images = []
    for entry in archive.json("manifest.json"):  # type: ignore[union-attr]
        config_raw = archive.open(entry["Config"]).read()
        config = json.loads(config_raw)
        diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        layers = []
        for index, name in enumerate(entry["Layers"]):
            layer, diff_id = add_layer_blob(store, archive.open(name))
            if index < len(diff_ids) and diff_ids[index] != diff_id:
                raise ArchiveError(f"layer {name}: content is {diff_id}, config says "
                                   f"{diff_ids[index]}")
            layers.append(layer)
        config_digest = store.put_bytes(config_raw)
        manifest = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": config_digest, "size": len(config_raw)},
                    "layers": layers}
        images.append(store.add_manifest(manifest, entry.get("RepoTags") or []))
    return images


def _load_oci(store: ImageStore, archive: _Archive) -> list[Image]:
    images = []
    index = archive.json("index.json")
    for descriptor in index.get("manifests", []):  # type: ignore[union-attr]
        refs = []
        annotations = descriptor.get("annotations") or {}
        for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
            name = annotations.get(key)
            if name and key == "org.opencontainers.image.ref.name" and ":" not in name \
                    and "/" not in name:
                continue  # a bare tag with no repository: nothing to name the image by
            if name:
                refs.append(name)
                break
        manifest = _platform_manifest(archive, descriptor)
        config_raw = archive.open(_blob_name(manifest["config"]["digest"])).read()
        if "sha256:" + hashlib.sha256(config_raw).hexdigest() != manifest["config"]["digest"]:
            raise ArchiveError("image config does not match its digest")
        store.put_bytes(config_raw)
        layers = []
        for layer in manifest.get("layers", []):
            stored, _ = add_layer_blob(store, archive.open(_blob_name(layer["digest"])),
                                       expected=layer["digest"])
            layers.append(stored)
        manifest = dict(manifest, layers=layers, mediaType=MEDIA_MANIFEST)
        images.append(store.add_manifest(manifest, refs))
    return images


def _platform_manifest(archive: _Archive, descriptor: dict) -> dict:
    """Follow an index to the manifest for this machine's platform."""
    doc = archive.json(_blob_name(descriptor["digest"]))
    media = doc.get("mediaType", descriptor.get("mediaType"))  # type: ignore[union-attr]
    if media in (MEDIA_INDEX, DOCKER_MANIFEST_LIST) or "manifests" in doc:  # type: ignore[operator]
        arch = imageconfig.host_arch()
        for candidate in doc["manifests"]:  # type: ignore[index]
            plat = candidate.get("platform") or {}
            if plat.get("os", "linux") == "linux" and plat.get("architecture", arch) == arch:
                return _platform_manifest(archive, candidate)
        raise ArchiveError(f"no image for linux/{arch} in the archive")
    return doc  # type: ignore[return-value]


# --- save ------------------------------------------------------------------------------

def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def save(store: ImageStore, images: list[tuple[Image, list[str]]], out_path: str) -> None:
    """Write images (each with the refs to record) to a docker-loadable archive."""
    tmp = f"{out_path}.tmp{os.getpid()}"
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            _save_into(store, images, tar)
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _save_into(store: ImageStore, images: list[tuple[Image, list[str]]], tar: tarfile.TarFile) -> None:
    written: set[str] = set()
    docker_manifest, oci_manifests = [], []
    for image, refs in images:
        layer_names, oci_layers = [], []
        for layer, diff_id in zip(image.layers, image.diff_ids):
            name = _blob_name(diff_id)
            if name not in written:
                _add_uncompressed_layer(store, layer["digest"], name, tar)
                written.add(name)
            size = tar.getmember(name).size
            layer_names.append(name)
            oci_layers.append({"mediaType": MEDIA_LAYER, "digest": diff_id, "size": size})
        config_raw = store.blob_path(image.id).read_bytes()
        config_name = _blob_name(image.id)
        if config_name not in written:
            _add_bytes(tar, config_name, config_raw)
            written.add(config_name)
        manifest = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": image.id, "size": len(config_raw)},
                    "layers": oci_layers}
        manifest_raw = json.dumps(manifest, separators=(",", ":")).encode()
        manifest_digest = "sha256:" + hashlib.sha256(manifest_raw).hexdigest()
        if _blob_name(manifest_digest) not in written:
            _add_bytes(tar, _blob_name(manifest_digest), manifest_raw)
            written.add(_blob_name(manifest_digest))
        familiar = [reference.parse(r).familiar() for r in refs]
        docker_manifest.append({"Config": config_name, "RepoTags": familiar or None,
                                "Layers": layer_names})
        for ref in refs or [None]:
            descriptor = {"mediaType": MEDIA_MANIFEST, "digest": manifest_digest,
                          "size": len(manifest_raw)}
            if ref:
                parsed = reference.parse(ref)
                descriptor["annotations"] = {"io.containerd.image.name": str(parsed),
                                             "org.opencontainers.image.ref.name": parsed.tag or "latest"}
            oci_manifests.append(descriptor)
    _add_bytes(tar, "manifest.json", json.dumps(docker_manifest).encode())
    _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    _add_bytes(tar, "index.json", json.dumps({"schemaVersion": 2, "mediaType": MEDIA_INDEX,
                                              "manifests": oci_manifests}).encode())


def _add_uncompressed_layer(store: ImageStore, blob: str, name: str, tar: tarfile.TarFile) -> None:
    with tempfile.TemporaryFile(dir=store.tmp) as tmp:
        with open_layer(store.blob_path(blob)) as source:
            shutil.copyfileobj(source, tmp, 1 << 20)
        size = tmp.tell()
        tmp.seek(0)
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        tar.addfile(info, tmp)

