"""The session's id maps: the user is root inside, its /etc/subuid and /etc/subgid range
the ids from 1 (written by Debian's setuid newuidmap and newgidmap)."""
from __future__ import annotations

import pwd
from dataclasses import dataclass

SUBUID = "/etc/subuid"
SUBGID = "/etc/subgid"


@dataclass(frozen=True)
class IdRange:
    start: int
    count: int


def subordinate(text: str, user: str, uid: int) -> IdRange | None:
    """The first range of /etc/subuid-style `text` that belongs to `user` (by name or
    id), None when it has none."""
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in (user, str(uid)) \
                and fields[1].isdigit() and fields[2].isdigit() and int(fields[2]) > 0:
            return IdRange(int(fields[1]), int(fields[2]))
    return None


def read_range(path: str, uid: int) -> IdRange | None:
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        return None
    return subordinate(text, user_name(uid), uid)


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def map_args(own: int, extra: IdRange | None) -> list[str]:
    """newuidmap's triples after the pid: own id -> 0, the range (if any) -> 1..count."""
    return ["0", str(own), "1"] + (["1", str(extra.start), str(extra.count)] if extra else [])
