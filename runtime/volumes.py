"""Named volumes: directories under BERTH_ROOT/volumes/<name>/_data, with labels.

A new volume is empty; the first container that mounts it fills it with what its
image has at the mount point (see rootfs), as docker does.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from . import eventlog
from .errors import BerthError
from .fsutil import locked, make_dir, read_json, write_json
from .paths import Paths

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


class VolumeError(BerthError):
    pass


class VolumeNotFound(VolumeError, LookupError):
    pass


@dataclass(frozen=True)
class Volume:
    name: str
    path: Path  # the data directory
    labels: dict
    created: float
    anonymous: bool = False

    def to_dict(self) -> dict:
        return {"Name": self.name, "Driver": "local", "Mountpoint": str(self.path),
                "Labels": self.labels, "CreatedAt": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created)), "Scope": "local"}


class Volumes:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.root = paths.volumes
        self.root.mkdir(parents=True, exist_ok=True)

    def _lock(self):
        return locked(self.paths.locks / "volumes.lock")

    def get(self, name: str) -> Volume:
        meta = read_json(self.root / name / "meta.json") if _NAME.match(name) else None
        if meta is None:
            raise VolumeNotFound(f"no such volume: {name}")
        return Volume(name, self.root / name / "_data", meta.get("labels", {}),
                      meta.get("created", 0), meta.get("anonymous", False))

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
            return True
        except VolumeNotFound:
            return False

    def create(self, name: str | None = None, labels: dict | None = None,
               exist_ok: bool = False) -> Volume:
        anonymous = name is None
        name = name or secrets.token_hex(32)
        if not _NAME.match(name):
            raise VolumeError(f"invalid volume name {name!r}: use letters, digits, '_', '.', '-'")
        with self._lock():
            if (self.root / name / "meta.json").exists():
                if exist_ok:
                    return self.get(name)
                raise VolumeError(f"volume {name} already exists")
            make_dir(self.root / name, 0o700)
            make_dir(self.root / name / "_data", 0o755)  # as docker; the first user fills it
            write_json(self.root / name / "meta.json", {"labels": labels or {},
                                                        "created": time.time(),
                                                        "anonymous": anonymous})
        eventlog.record(self.paths.root, "volume", "create", name, {"driver": "local"})
        return self.get(name)

    def list(self) -> list[Volume]:
        out = []
        for entry in sorted(self.root.iterdir()):
            try:
                out.append(self.get(entry.name))
            except VolumeNotFound:
                continue
        return out

    def remove(self, name: str, in_use: set[str] = frozenset()) -> None:
        if name in in_use:
            raise VolumeError(f"volume {name} is in use by a container")
        with self._lock():
            self.get(name)
            os.unlink(self.root / name / "meta.json")  # gone for readers first, then the data
            shutil.rmtree(self.root / name, ignore_errors=True)
        eventlog.record(self.paths.root, "volume", "destroy", name, {"driver": "local"})
