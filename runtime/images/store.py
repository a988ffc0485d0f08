"""The image store: content-addressed blobs, unpacked layers, and named images.

    images/blobs/sha256/<hex>   blobs: layer tars (as pulled or imported), configs, manifests
    images/layers/<hex>/        each layer unpacked once (named by its diff id), shared
    images/images.json          image id (config digest) -> manifest digest, refs, time
    images/refs.json            "docker.io/library/busybox:latest" -> image id

Images are OCI: a manifest naming a config and its layer blobs. Writes go through a
temporary file and a rename, and every change to the two JSON indexes is made under
the store lock, so concurrent commands and kill -9 never leave a half-written entry.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

from common import reference

from .. import eventlog
from ..errors import BerthError
from ..fsutil import locked, read_json, write_json
from ..paths import Paths
from .unpack import open_layer, unpack

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


class ImageNotFound(BerthError, LookupError):
    """No image by that reference or id."""


class ImageInUse(BerthError):
    """The image is used by a container."""


@dataclass(frozen=True)
class Image:
    id: str  # the config digest, "sha256:..."
    manifest_digest: str
    refs: tuple[str, ...]
    config: dict
    manifest: dict
    added: float

    @property
    def layers(self) -> list[dict]:
        return self.manifest.get("layers", [])

    @property
    def diff_ids(self) -> list[str]:
        return self.config.get("rootfs", {}).get("diff_ids", [])

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[1][:12]

    @property
    def size(self) -> int:
        return sum(layer.get("size", 0) for layer in self.layers)


class _HashingReader:
    """Hashes everything read through it (the uncompressed layer -> its diff id)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        return data

    def drain(self) -> str:
        while self.read(1 << 20):
            pass
        return "sha256:" + self.digest.hexdigest()


def digest_hex(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or not all(c in "0123456789abcdef" for c in hexpart):
        raise ValueError(f"unsupported digest {digest!r}")
    return hexpart


class ImageStore:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.root = paths.images
        self.blobs = self.root / "blobs" / "sha256"
        self.layers = self.root / "layers"
        self.tmp = self.root / "tmp"
        for path in (self.blobs, self.layers, self.tmp):
            path.mkdir(parents=True, exist_ok=True)
        self._lock = paths.locks / "images.lock"

    # --- blobs -------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        return self.blobs / digest_hex(digest)

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).exists()

    def put_stream(self, stream: BinaryIO, expected: str | None = None) -> tuple[str, int]:
        """Store a blob from a stream; verify `expected` before it becomes visible."""
        fd, tmp = _tempfile(self.tmp)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            actual = "sha256:" + digest.hexdigest()
            self.adopt_blob(Path(tmp), expected or actual, actual)
            return actual, size
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def adopt_blob(self, path: Path, expected: str, actual: str) -> None:
        """Make a file written in the store's tmp directory blob `expected`, once its
        digest `actual` (computed while it was written) matches; no second copy."""
        if actual != expected:
            raise ValueError(f"digest mismatch: expected {expected}, got {actual}")
        os.replace(path, self.blob_path(expected))

    def put_bytes(self, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.exists():
            fd, tmp = _tempfile(self.tmp)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        return digest

    def read_json_blob(self, digest: str) -> dict:
        return json.loads(self.blob_path(digest).read_bytes())

    # --- layers ------------------------------------------------------------------------

    def layer_dir(self, diff_id: str) -> Path:
        return self.layers / digest_hex(diff_id)

    def ensure_layer(self, blob_digest: str, diff_id: str | None = None) -> str:
        """Unpack a layer blob once; return its diff id (verified when given)."""
        if diff_id and self.layer_dir(diff_id).is_dir():
            return diff_id
        with locked(self.paths.locks / f"layer-{digest_hex(blob_digest)[:32]}.lock"):
            if diff_id and self.layer_dir(diff_id).is_dir():
                return diff_id
            staging = self.tmp / f"layer-{digest_hex(blob_digest)[:16]}-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            try:
                with open_layer(self.blob_path(blob_digest)) as raw:
                    reader = _HashingReader(raw)
                    unpack(reader, str(staging))  # type: ignore[arg-type]
                    actual = reader.drain()
                if diff_id and actual != diff_id:
                    raise ValueError(f"layer {blob_digest}: content is {actual}, "
                                     f"the image config says {diff_id}")
                target = self.layer_dir(actual)
                if target.is_dir():
                    shutil.rmtree(staging)
                else:
                    os.rename(staging, target)
                return actual
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise

    def layer_dirs(self, image: Image) -> list[str]:
        """The image's unpacked layers, bottom first (unpacking any that are missing)."""
        dirs = []
        for layer, diff_id in zip(image.layers, image.diff_ids):
            self.ensure_layer(layer["digest"], diff_id)
            dirs.append(str(self.layer_dir(diff_id)))
        return dirs

    # --- images ------------------------------------------------------------------------

    def _index(self) -> tuple[dict, dict]:
        return (read_json(self.root / "images.json", {}), read_json(self.root / "refs.json", {}))

    def _save(self, images: dict, refs: dict) -> None:
        write_json(self.root / "images.json", images)
        write_json(self.root / "refs.json", refs)

    def add(self, config: dict, layers: list[dict], refs: Iterable[str] = ()) -> Image:
        """Record an image from its config and layer descriptors; tag it with `refs`."""
        # sorted keys: the same config always makes the same image id
        config_digest = self.put_bytes(json.dumps(config, separators=(",", ":"),
                                                  sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest,
                       "size": self.blob_path(config_digest).stat().st_size},
            "layers": layers,
        }
        return self.add_manifest(manifest, refs)

    def add_manifest(self, manifest: dict, refs: Iterable[str] = ()) -> Image:
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        manifest_digest = self.put_bytes(raw)
        image_id = manifest["config"]["digest"]
        with locked(self._lock):
            images, known = self._index()
            entry = images.setdefault(image_id, {"manifest": manifest_digest, "added": time.time()})
            entry["manifest"] = manifest_digest
            for ref in refs:
                known[str(reference.parse(ref))] = image_id
            self._save(images, known)
        for ref in refs:
            eventlog.record(self.paths.root, "image", "tag", image_id, {"name": ref})
        return self.get(image_id)

    def _load(self, image_id: str, entry: dict, refs: dict) -> Image:
        manifest = self.read_json_blob(entry["manifest"])
        config = self.read_json_blob(image_id)
        return Image(id=image_id, manifest_digest=entry["manifest"],
                     refs=tuple(sorted(r for r, i in refs.items() if i == image_id)),
                     config=config, manifest=manifest, added=entry.get("added", 0))

    def get(self, name: str) -> Image:
        """An image by reference, full id, or id prefix (12 or more hex digits)."""
        images, refs = self._index()
        image_id = self._resolve(name, images, refs)
        return self._load(image_id, images[image_id], refs)

    def _resolve(self, name: str, images: dict, refs: dict) -> str:
        if name.startswith("sha256:") and name in images:
            return name
        candidates = [i for i in images if len(name) >= 4 and
                      i.split(":", 1)[1].startswith(name.removeprefix("sha256:"))]
        if len(candidates) == 1 and all(c in "0123456789abcdef" for c in name.removeprefix("sha256:")):
            return candidates[0]
        try:
            ref = str(reference.parse(name))
        except reference.ReferenceError:
            raise ImageNotFound(f"no such image: {name}") from None
        if ref in refs and refs[ref] in images:
            return refs[ref]
        raise ImageNotFound(f"no such image: {name}")

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
            return True
        except ImageNotFound:
            return False

    def list(self) -> list[Image]:
        images, refs = self._index()
        return sorted((self._load(i, e, refs) for i, e in images.items()),
                      key=lambda img: img.added, reverse=True)

    def tag(self, source: str, target: str) -> Image:
        image = self.get(source)
        new = str(reference.parse(target))
        with locked(self._lock):
            images, refs = self._index()
            refs[new] = image.id
            self._save(images, refs)
        eventlog.record(self.paths.root, "image", "tag", image.id, {"name": target})
        return self.get(image.id)

    def remove(self, name: str, in_use: Iterable[str] = (), force: bool = False) -> list[str]:
        """Untag `name` (or delete the image when given by id / its last tag).

        Returns what was done, docker style ("Untagged: ...", "Deleted: ...")."""
        done = []
        with locked(self._lock):
            images, refs = self._index()
            image_id = self._resolve(name, images, refs)
            tags = [r for r, i in refs.items() if i == image_id]
            ref = _ref_or_none(name)
            if ref in refs and len(tags) > 1:
                del refs[ref]
                self._save(images, refs)
                return [f"Untagged: {reference.parse(ref).familiar()}"]
            if image_id in set(in_use) and not force:
                raise ImageInUse(f"image {name} is used by a container")
            if ref not in refs and len(tags) > 1 and not force:
                raise ImageInUse(f"image {name} has several tags; remove them by name or force")
            for tag in tags:
                del refs[tag]
                done.append(f"Untagged: {reference.parse(tag).familiar()}")
            del images[image_id]
            self._save(images, refs)
            done.append(f"Deleted: {image_id}")
        for line in done:
            action, _, what = line.partition(": ")
            eventlog.record(self.paths.root, "image", action.lower().replace("untagged", "untag")
                            .replace("deleted", "delete"), image_id, {"name": what})
        return done

    def prune(self, all_unused: bool, in_use: Iterable[str]) -> tuple[list[str], int]:
        """Delete untagged images (all unused ones with `all_unused`), then unreferenced
        blobs and layers. Returns (deleted image ids, bytes reclaimed)."""
        used = set(in_use)
        deleted = []
        with locked(self._lock):
            images, refs = self._index()
            tagged = set(refs.values())
            for image_id in list(images):
                if image_id in used:
                    continue
                if image_id not in tagged or all_unused:
                    for ref in [r for r, i in refs.items() if i == image_id]:
                        del refs[ref]
                    del images[image_id]
                    deleted.append(image_id)
            self._save(images, refs)
            reclaimed = self._collect(images)
        return deleted, reclaimed

    def referenced_blobs(self) -> set[str]:
        """The digests of every blob an image needs (configs, manifests, layers)."""
        return self._references(self._index()[0])[0]

    def _references(self, images: dict) -> tuple[set[str], set[str]]:
        keep_blobs, keep_layers = set(), set()
        for image_id, entry in images.items():
            manifest = self.read_json_blob(entry["manifest"])
            config = self.read_json_blob(image_id)
            keep_blobs |= {image_id, entry["manifest"]}
            keep_blobs |= {layer["digest"] for layer in manifest.get("layers", [])}
            keep_layers |= set(config.get("rootfs", {}).get("diff_ids", []))
        return keep_blobs, keep_layers

    def collect_garbage(self) -> int:
        """Delete blobs and unpacked layers no image needs; the bytes reclaimed."""
        with locked(self._lock):
            return self._collect(self._index()[0])

    def _collect(self, images: dict) -> int:
        keep_blobs, keep_layers = self._references(images)
        reclaimed = 0
        for blob in self.blobs.iterdir():
            if "sha256:" + blob.name not in keep_blobs:
                reclaimed += blob.stat().st_size
                blob.unlink()
        for layer in self.layers.iterdir():
            if "sha256:" + layer.name not in keep_layers:
                shutil.rmtree(layer, ignore_errors=True)
        return reclaimed


def _ref_or_none(name: str) -> str | None:
    try:
        return str(reference.parse(name))
    except reference.ReferenceError:
        return None


def _tempfile(directory: Path) -> tuple[int, str]:
    import tempfile

    return tempfile.mkstemp(dir=directory, prefix="blob-")
