"""What a rootless session needs from the machine, checked before anything is made:
each missing piece is one line naming it and how to get it."""
from __future__ import annotations

import shutil

from ..errors import BerthError
from . import idmap


class RootlessError(BerthError):
    pass


def _sysctl(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def check_userns() -> None:
    if _sysctl("/proc/sys/user/max_user_namespaces") == "0":
        raise RootlessError("user namespaces are disabled (user.max_user_namespaces is 0): "
                            "as root, run `sysctl -w user.max_user_namespaces=15000`")
    if _sysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        raise RootlessError("unprivileged user namespaces are disabled: as root, run "
                            "`sysctl -w kernel.unprivileged_userns_clone=1`")
    if _sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        raise RootlessError("AppArmor restricts unprivileged user namespaces: as root, run "
                            "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`")


def check_tools(which=shutil.which) -> None:
    for tool in ("newuidmap", "newgidmap"):
        if not which(tool):
            raise RootlessError(f"{tool} is not installed (Debian: apt-get install uidmap)")
    if not (which("pasta") or which("slirp4netns")):
        raise RootlessError("neither pasta nor slirp4netns is installed "
                            "(Debian: apt-get install passt)")


def id_ranges(uid: int, gid: int, subuid: str = idmap.SUBUID, subgid: str = idmap.SUBGID
              ) -> tuple[idmap.IdRange, idmap.IdRange]:
    """The user's subordinate uid and gid ranges, or the error naming the missing entry."""
    user = idmap.user_name(uid)
    found = []
    for path in (subuid, subgid):
        extra = idmap.read_range(path, uid)
        if extra is None:
            raise RootlessError(
                f"no range for {user} in {path}: as root, run `usermod --add-subuids "
                f"100000-165535 --add-subgids 100000-165535 {user}` (any free range), "
                "or set BERTH_SINGLE_ID=1 to map your own ids only")
        found.append(extra)
    return found[0], found[1]


SINGLE_ID_WARNING = ("WARN BERTH_SINGLE_ID=1: only your own ids are mapped (to root); "
                     "images with files of other users will fail to unpack, and containers "
                     "keep your groups")


def preflight(uid: int, gid: int, single_id: bool = False
              ) -> tuple[idmap.IdRange | None, idmap.IdRange | None]:
    """Every check, in the order a user would fix them; returns the id ranges (none when
    only the user's own ids are to be mapped)."""
    check_userns()
    check_tools()
    return (None, None) if single_id else id_ranges(uid, gid)
