"""What a built image is, for comparing builders: its config's fields and its files,
read from a `docker save` archive (docker's and berth's alike), as the difference from
the base image the case builds on."""
from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from typing import IO

# the image config fields the conformance suite compares
CONFIG_FIELDS = ("Cmd", "Entrypoint", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes",
                 "Labels", "StopSignal", "Healthcheck", "Shell", "OnBuild")
_SHOWN = 200  # file contents up to this many bytes are kept as text, longer ones as a digest

Entry = list  # [kind, "uid:gid", "0mode", content or link target]


def read_archive(path: str) -> tuple[dict, dict[str, Entry]]:
    """(config fields, files) of the first image in a `docker save` archive."""
    with tarfile.open(path) as tar:
        manifest = json.load(_member(tar, "manifest.json"))[0]
        config = json.load(_member(tar, manifest["Config"]))
        files: dict[str, Entry] = {}
        for layer in manifest["Layers"]:
            with tarfile.open(fileobj=_member(tar, layer), mode="r:*") as layer_tar:
                _apply_layer(files, layer_tar)
    fields = config.get("config") or {}
    return {name: fields.get(name) or None for name in CONFIG_FIELDS}, files


def _member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    handle = tar.extractfile(name)
    assert handle is not None, name
    return handle


def _apply_layer(files: dict[str, Entry], layer: tarfile.TarFile) -> None:
    for member in layer:
        path = posixpath.normpath("/" + member.name.lstrip("./")) if member.name not in (".", "./") else "/"
        if path == "/":
            continue
        parent, base = posixpath.split(path)
        if base == ".wh..wh..opq":
            _remove_under(files, parent, keep_self=True)
            continue
        if base.startswith(".wh."):
            _remove_under(files, posixpath.join(parent, base[4:]), keep_self=False)
            continue
        owner = f"{member.uid}:{member.gid}"
        mode = f"{member.mode & 0o7777:04o}"
        if member.isdir():
            files[path] = ["dir", owner, mode]
        elif member.issym():
            files[path] = ["symlink", owner, mode, member.linkname]
        elif member.islnk():
            target = files.get(posixpath.normpath("/" + member.linkname.lstrip("./")))
            files[path] = ["file", owner, mode, target[3] if target else "?"]
        elif member.isfile():
            handle = layer.extractfile(member)
            files[path] = ["file", owner, mode, _content(handle.read() if handle else b"")]
        else:
            files[path] = ["special", owner, mode]


def _remove_under(files: dict[str, Entry], path: str, keep_self: bool) -> None:
    prefix = path.rstrip("/") + "/"
    for name in [n for n in files if n.startswith(prefix) or (n == path and not keep_self)]:
        del files[name]


def _content(data: bytes) -> str:
    if len(data) <= _SHOWN:
        try:
            return data.decode()
        except UnicodeDecodeError:
            pass
    return "sha256:" + hashlib.sha256(data).hexdigest()


def changes(base: dict[str, Entry], image: dict[str, Entry]) -> dict[str, Entry | str]:
    """The files the build added or changed, and "deleted" for those it removed."""
    out: dict[str, Entry | str] = {p: e for p, e in image.items() if base.get(p) != e}
    out.update({p: "deleted" for p in base if p not in image})
    return dict(sorted(out.items()))
