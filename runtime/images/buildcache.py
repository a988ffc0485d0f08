"""The build's step cache: for each step's key (chained from its parent, the instruction
and what it sees), the config after it and the layer it added, if any.

Entries live in `<images>/build-cache/<key>.json` beside the image store's blobs. A build
may also read entries from local cache directories (`--cache-from type=local,src=DIR`,
compose's `cache_from`) and write the entries it used to one (`--cache-to
type=local,dest=DIR`): `DIR/index.json` and the layers' blobs under `DIR/blobs/`.
An entry is written only after its step succeeded, so a failed step leaves none.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import make_dir, read_json, write_json
from .buildspec import BuildError


def parse_cache_option(text: str, key: str) -> str:
    """`type=local,src=DIR` (or dest=DIR) -> DIR; any other cache type is an error."""
    fields = dict(item.partition("=")[::2] for item in text.split(",") if item)
    kind = fields.get("type", "local")
    if kind != "local":
        raise BuildError(f"cache type {kind!r} is not supported (berth reads and writes "
                         "type=local caches)")
    path = fields.get(key) or (fields.get("src") if key == "src" else fields.get("dest"))
    if not path:
        raise BuildError(f"a local cache needs {key}=DIRECTORY: {text!r}")
    return path


class StepCache:
    def __init__(self, store, sources: list[str] = (), export: str | None = None) -> None:
        self.store = store
        self.dir = store.root / "build-cache"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sources = [Path(s) for s in sources]
        self.export = Path(export) if export else None
        self.used: dict[str, dict] = {}

    def get(self, key: str) -> dict | None:
        entry = read_json(self.dir / f"{key}.json")
        if entry is None:
            entry = self._imported(key)
        if entry and entry.get("layer"):
            layer = entry["layer"]
            if not self.store.has_blob(layer["digest"]):
                return None
            self.store.ensure_layer(layer["digest"], entry["diff_id"])
        if entry is not None:
            self.used[key] = entry
        return entry

    def put(self, key: str, layer: dict | None, diff_id: str | None, config: dict) -> None:
        entry = {"layer": layer, "diff_id": diff_id, "config": config}
        write_json(self.dir / f"{key}.json", entry)
        self.used[key] = entry

    def _imported(self, key: str) -> dict | None:
        for source in self.sources:
            entry = (read_json(source / "index.json") or {}).get(key)
            if entry is None:
                continue
            layer = entry.get("layer")
            if layer and not self.store.has_blob(layer["digest"]):
                blob = source / "blobs" / layer["digest"].replace(":", "/")
                try:
                    with open(blob, "rb") as handle:
                        self.store.put_stream(handle)
                except OSError:
                    continue
            write_json(self.dir / f"{key}.json", entry)
            return entry
        return None

    def write_export(self) -> None:
        """Write the entries this build used, and their layers, to the export directory."""
        if self.export is None:
            return
        make_dir(self.export / "blobs" / "sha256", 0o755)
        index = read_json(self.export / "index.json") or {}
        for key, entry in self.used.items():
            index[key] = entry
            layer = entry.get("layer")
            if layer:
                target = self.export / "blobs" / layer["digest"].replace(":", "/")
                if not target.exists():
                    tmp = f"{target}.tmp{os.getpid()}"
                    shutil.copyfile(self.store.blob_path(layer["digest"]), tmp)
                    os.replace(tmp, target)
        write_json(self.export / "index.json", index)


@dataclass
class CacheUsage:
    steps: int  # step cache entries
    layers: int  # bytes of layers only the step cache refers to
    mounts: list  # runtime.images.cachemounts.CacheEntry, one per RUN --mount=type=cache

    @property
    def size(self) -> int:
        return self.layers + sum(m.size for m in self.mounts)


def usage(store) -> CacheUsage:
    """What the build cache holds (`berth builder du`, `system df`)."""
    from .cachemounts import CacheMounts

    in_images = store.referenced_blobs()
    layers = set()
    entries = list((store.root / "build-cache").glob("*.json"))
    for path in entries:
        layer = (read_json(path) or {}).get("layer")
        if layer and layer["digest"] not in in_images and store.has_blob(layer["digest"]):
            layers.add(layer["digest"])
    return CacheUsage(len(entries), sum(store.blob_path(d).stat().st_size for d in layers),
                      list(CacheMounts(store.root / "build-mounts").entries()))


def prune(store, mounts: bool = True) -> int:
    """Forget every step and (with `mounts`) every cache mount no build is using, then
    drop the layers no image needs; the bytes freed."""
    from .cachemounts import CacheMounts

    before = usage(store)
    for path in (store.root / "build-cache").glob("*.json"):
        path.unlink(missing_ok=True)
    freed = CacheMounts(store.root / "build-mounts").prune() if mounts else 0
    store.collect_garbage()
    return before.layers + freed
