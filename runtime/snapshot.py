"""A container's filesystem as docker's `commit`, `export` and `diff` see it: the image's
layers under the container's own changes (its overlay upper directory).

berth's bind-mount points (/etc/hosts, /etc/hostname, /etc/resolv.conf) and the empty
/proc, /sys and /dev made for mounts are never part of a change, as in docker.
"""
from __future__ import annotations

import copy
import os
import stat
import tarfile
import tempfile
from typing import BinaryIO

from .errors import BerthError
from .fsutil import read_json
from .images import imageconfig
from .images.layerdiff import empty_dir, empty_file, write_layer
from .images.rootview import with_root
from .images.store import MEDIA_LAYER, Image, ImageStore
from .securejoin import secure_join

_MOUNT_FILES = ("etc/hosts", "etc/hostname", "etc/resolv.conf")


class SnapshotError(BerthError):
    pass


def _layer_dirs(container) -> list[str]:
    info = read_json(container.dir / "rootfs.json")
    return [os.path.join(info["layers_root"], layer) for layer in info["layers"]]


def _upper(container) -> str:
    return str(container.dir / "upper")


def _skipped(upper: str) -> list[str]:
    """berth's own mount points in the upper directory, when nothing else is there."""
    skip = [p for p in _MOUNT_FILES if empty_file(os.path.join(upper, p))]
    return skip + [d for d in ("proc", "sys", "dev") if empty_dir(os.path.join(upper, d))]


def changes(container) -> list[tuple[str, str]]:
    """docker diff: ("A"|"C"|"D", path) for each entry the container added, changed or
    deleted, sorted by path."""
    upper = _upper(container)
    skip = set(_skipped(upper))
    found: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = os.path.relpath(dirpath, upper)
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in sorted(dirnames + filenames):
            rel = os.path.join(rel_dir, name)
            if rel in skip:
                if name in dirnames:
                    dirnames.remove(name)
                continue
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:  # an overlay whiteout
                found.append(("D", "/" + rel))
            else:
                found.append(("?", "/" + rel))
    wanted = [path for kind, path in found if kind == "?"]

    def existing(root: str) -> set[str]:
        return {p for p in wanted if os.path.lexists(secure_join(root, p.lstrip("/")))}

    before = with_root(_layer_dirs(container), existing) if wanted else set()
    return sorted(((("C" if path in before else "A") if kind == "?" else kind), path)
                  for kind, path in found)


def export(container, out: BinaryIO) -> None:
    """docker export: the container's whole filesystem as one tar stream."""
    layers = _layer_dirs(container) + [_upper(container)]

    def write(root: str) -> None:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(os.listdir(root)):
                tar.add(os.path.join(root, name), arcname=name)

    with_root(layers, write)


def commit_paused(containers, ref: str, refs: list[str], *, changes_: list[str] = (),
                  message: str = "", author: str = "", pause: bool = True) -> Image:
    """commit, with a running container paused meanwhile (docker commit --pause, its
    default): its files hold still while its layer is written. Without root there is no
    freezer to pause with: the layer is written from the running container."""
    from . import rootless

    container = containers.get(ref)
    image = containers.images.get(container.spec.image_id)
    paused = pause and container.status.value == "running" and not rootless.active()
    if paused:
        containers.pause(container.id)
    try:
        return commit(container, containers.images, image, refs, changes_=changes_,
                      message=message, author=author)
    finally:
        if paused:
            containers.pause(container.id, pause=False)


def commit(container, store: ImageStore, image: Image, refs: list[str], *,
           changes_: list[str] = (), message: str = "", author: str = "") -> Image:
    """docker commit: the container's image, its changes as one more layer, and a config
    from the container's own (command, environment, working dir, user, labels...) with
    `changes_` (Dockerfile instructions) applied."""
    upper = _upper(container)
    config = copy.deepcopy(image.config)
    cfg = config.setdefault("config", {})
    spec = container.spec
    cfg.update({"Env": list(spec.env), "User": spec.user or "",
                "WorkingDir": "" if spec.working_dir == "/" else spec.working_dir,
                "Labels": dict(spec.labels) or None, "StopSignal": spec.stop_signal})
    if spec.entrypoint is not None:
        cfg["Entrypoint"] = list(spec.entrypoint) or None
    if spec.cmd is not None:
        cfg["Cmd"] = list(spec.cmd) or None
    for change in changes_:
        try:
            imageconfig.apply_change(config, change)
        except imageconfig.InstructionError as err:
            raise SnapshotError(f"--change {change!r}: {err}") from None
    layers, diff_ids = list(image.layers), list(image.diff_ids)
    with tempfile.TemporaryFile(dir=store.tmp) as tmp:
        write_layer(upper, tmp, _skipped(upper))
        tmp.seek(0)
        digest, size = store.put_stream(tmp)
    diff_id = store.ensure_layer(digest)
    layers.append({"mediaType": MEDIA_LAYER, "digest": digest, "size": size})
    diff_ids.append(diff_id)
    now = imageconfig.now_rfc3339()
    entry = {"created": now, "created_by": " ".join(spec.args)}
    if message:
        entry["comment"] = message
    if author:
        entry["author"] = author
        config["author"] = author
    config["created"] = now
    config["history"] = list(config.get("history") or []) + [entry]
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    return store.add(config, layers, refs)
