"""`RUN --mount=...`: what each mount asks for (parsed as BuildKit reads it, no effects)
and the step's cache key parts it contributes.

    type=cache   id, target, sharing=shared|private|locked, from, source, mode, uid, gid
    type=bind    target, source, from (a stage, an image or a named context), rw
    type=secret  id, target, required, mode, uid, gid, env
    type=ssh     id, target, required, mode, uid, gid
    type=tmpfs   target, size
"""
from __future__ import annotations

import csv
import dataclasses
import posixpath
from dataclasses import dataclass

from common.units import parse_bytes

from ..errors import BerthError
from .shellwords import WordError, word

TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
_BOOLS = {"": True, "true": True, "1": True, "false": False, "0": False}
_ALLOWED = {
    "bind": {"target", "source", "from", "readonly", "rw"},
    "cache": {"target", "source", "from", "readonly", "rw", "id", "sharing", "mode", "uid", "gid"},
    "tmpfs": {"target", "size"},
    "secret": {"target", "id", "required", "mode", "uid", "gid", "env"},
    "ssh": {"target", "id", "required", "mode", "uid", "gid"},
}
_ALIASES = {"dst": "target", "destination": "target", "src": "source", "ro": "readonly",
            "readwrite": "rw"}


class MountError(BerthError, ValueError):
    pass


@dataclass(frozen=True)
class RunMount:
    type: str
    target: str  # absolute, the working directory applied ("" for a secret given as env)
    source: str = ""
    from_: str = ""
    read_only: bool = False
    id: str = ""
    sharing: str = "shared"
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    required: bool = False
    size: int | None = None
    env: str = ""

    def key(self) -> list:
        """What the step's cache key sees of this mount (never a secret's value)."""
        return [self.type, self.target, self.source, self.from_, self.read_only, self.id,
                self.mode, self.uid, self.gid, self.env, self.size]


def _fields(text: str) -> list[str]:
    try:
        return next(csv.reader([text], skipinitialspace=True))
    except (csv.Error, StopIteration):
        raise MountError(f"cannot read mount {text!r}") from None


def _int(name: str, value: str, base: int = 10) -> int:
    try:
        return int(value, base)
    except ValueError:
        raise MountError(f"invalid {name} {value!r}") from None


def parse_mounts(texts: list[str], values: dict[str, str], workdir: str,
                 escape: str = "\\") -> list[RunMount]:
    """A RUN's --mount values; ssh sockets without a target are numbered among the ssh
    mounts (/run/buildkit/ssh_agent.0, .1...)."""
    mounts, ssh = [], 0
    for text in texts:
        mount = parse_mount(text, values, workdir, escape)
        if mount.type == "ssh" and not mount.target:
            mount = dataclasses.replace(mount, target=f"/run/buildkit/ssh_agent.{ssh}")
        ssh += mount.type == "ssh"
        mounts.append(mount)
    return mounts


def check_mount(text: str) -> None:
    """The mount's type and keys, checked before the build starts (values may hold
    $VARs only the step can expand)."""
    fields = [item.partition("=") for item in _fields(text)]
    keys = {_ALIASES.get(k.strip().lower(), k.strip().lower()): v for k, _, v in fields}
    kind = keys.pop("type", "bind").lower()
    if "$" in kind:
        return
    if kind not in TYPES:
        raise MountError(f"unsupported mount type {kind!r} (use {', '.join(TYPES)})")
    for key in keys:
        if key not in _ALLOWED[kind]:
            raise MountError(f"unexpected key {key!r} for a {kind} mount")


def parse_mount(text: str, values: dict[str, str], workdir: str,
                escape: str = "\\") -> RunMount:
    """One --mount value; `values` expand $VAR in it, relative targets are under
    `workdir` (an ssh mount without a target gets one from parse_mounts)."""
    raw: dict[str, str] = {}
    for item in _fields(text):
        key, sep, value = item.partition("=")
        key = _ALIASES.get(key.strip().lower(), key.strip().lower())
        try:
            raw[key] = word(value, values, escape) if sep else ""
        except WordError as err:
            raise MountError(str(err)) from None
        if key in ("readonly", "rw", "required") and raw[key].lower() not in _BOOLS:
            raise MountError(f"invalid value {value!r} for {key}")
    kind = raw.pop("type", "bind").lower()
    if kind not in TYPES:
        raise MountError(f"unsupported mount type {kind!r} (use {', '.join(TYPES)})")
    for key in raw:
        if key not in _ALLOWED[kind]:
            raise MountError(f"unexpected key {key!r} for a {kind} mount")
    flags = {k: _BOOLS[raw[k].lower()] for k in ("readonly", "rw", "required") if k in raw}
    target = raw.get("target", "")
    mount_id = raw.get("id", "")
    if kind == "secret":
        if not mount_id and not target:
            raise MountError("a secret mount needs an id or a target")
        mount_id = mount_id or posixpath.basename(target)
        if not target and not raw.get("env"):
            target = f"/run/secrets/{mount_id}"
    elif kind == "ssh":
        mount_id = mount_id or "default"
    elif not target:
        raise MountError(f"a {kind} mount needs a target")
    if kind == "cache":
        mount_id = mount_id or target
    if target:
        target = posixpath.normpath(posixpath.join(workdir or "/", target))
        if target == "/":
            raise MountError("a mount cannot cover /")
    sharing = raw.get("sharing", "shared").lower()
    if sharing not in ("shared", "private", "locked"):
        raise MountError(f"invalid sharing {sharing!r} (use shared, private or locked)")
    read_only = flags.get("readonly", kind == "bind" and not flags.get("rw", False))
    if flags.get("rw"):
        read_only = False
    try:
        size = parse_bytes(raw["size"]) if "size" in raw else None
    except ValueError:
        raise MountError(f"invalid size {raw['size']!r}") from None
    return RunMount(
        type=kind, target=target, source=raw.get("source", ""), from_=raw.get("from", ""),
        read_only=read_only, id=mount_id, sharing=sharing,
        mode=_int("mode", raw["mode"], 8) if "mode" in raw else None,
        uid=_int("uid", raw["uid"]) if "uid" in raw else None,
        gid=_int("gid", raw["gid"]) if "gid" in raw else None,
        required=flags.get("required", False), size=size, env=raw.get("env", ""))
