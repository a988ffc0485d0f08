"""Resolve a container's `user` (name, uid, uid:gid, name:group) from its /etc files."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .rootdir import RootDir


class UserError(ValueError):
    """A user or group that the container's /etc/passwd or /etc/group doesn't know."""


@dataclass(frozen=True)
class User:
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


def _entries(text: str) -> list[list[str]]:
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def resolve(spec: str, passwd: str, group: str, extra_groups: Iterable[str] = (),
            groups_as: str = "docker") -> User:
    """`spec` as docker reads it; `passwd`/`group` are the files' text (may be empty).
    Supplementary groups, `groups_as` "docker": the groups that list the user as a
    member and its own group (as `docker run` gives them); "buildkit": the member groups
    only, and none for a numeric uid:gid (as BuildKit's RUN gives them)."""
    users = _entries(passwd)
    groups = _entries(group)
    name, _, group_part = (spec or "0").partition(":")
    name = name or "0"
    entry = next((u for u in users if len(u) >= 4 and (u[0] == name or u[2] == name)), None)
    if entry is not None:
        uid, gid, home = int(entry[2]), int(entry[3]), entry[5] if len(entry) > 5 else "/"
        username = entry[0]
    elif name.isdigit():
        uid, gid, home, username = int(name), 0, "/", None
    else:
        raise UserError(f"unable to find user {name}: no matching entries in passwd file")
    if group_part:
        gid = _group_id(group_part, groups)
    supplementary = [int(g[2]) for g in groups
                     if len(g) >= 4 and username and username in g[3].split(",")]
    if groups_as == "buildkit" and re.fullmatch(r"\d+:\d+", spec or ""):
        supplementary = []
    elif groups_as == "docker":
        supplementary.append(gid)
    for extra in extra_groups:
        supplementary.append(_group_id(str(extra), groups))
    return User(uid, gid, tuple(sorted(set(supplementary))), home)


def resolve_in(root: str, spec: str, extra_groups: Iterable[str] = (),
               groups_as: str = "docker") -> User:
    """`spec` resolved from the /etc/passwd and /etc/group under `root` (never outside it,
    whatever links the container's /etc holds)."""
    with RootDir(root) as tree:
        return resolve(spec, tree.read_text("/etc/passwd"), tree.read_text("/etc/group"),
                       extra_groups, groups_as)


def _group_id(name: str, groups: list[list[str]]) -> int:
    if name.isdigit():
        return int(name)
    for entry in groups:
        if len(entry) >= 3 and entry[0] == name:
            return int(entry[2])
    raise UserError(f"unable to find group {name}: no matching entries in group file")
