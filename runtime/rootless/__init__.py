"""berth without root: a per-user session of namespaces that the ordinary code runs in.

A user that is not root gets a *session* (session.py): a holder process owning a user
namespace (the user is root inside, its /etc/subuid range the other ids, idmap.py), a
mount namespace and a network namespace linked to the outside by pasta or slirp4netns
(outbound.py), and a host-side agent that publishes ports (ports.py, forward.py). Every
berth command of that user joins the session first (enter.py, the CLI's one hook) and
then runs the code it runs as root. Below that, the runtime asks `active()` where the
kernel refuses what a user namespace may not do (cgroups, device nodes, trusted.*
xattrs) and takes the rootless way.
"""
from __future__ import annotations

import functools

FULL_MAP = "0 0 4294967295"


@functools.cache
def active(uid_map: str = "/proc/self/uid_map") -> bool:
    """Whether this process runs in a user namespace other than the host's (a rootless
    session): ids, cgroups, device nodes and xattrs then follow its limits."""
    try:
        with open(uid_map) as handle:
            lines = handle.read().split("\n")
    except OSError:
        return False
    return " ".join(lines[0].split()) != FULL_MAP


def maps_gid(gid: int, gid_map: str = "/proc/self/gid_map") -> bool:
    """Whether group `gid` exists here (a session of the user's own ids only has 0)."""
    try:
        with open(gid_map) as handle:
            ranges = [line.split() for line in handle if line.strip()]
    except OSError:
        return True
    return any(int(inner) <= gid < int(inner) + int(count) for inner, _outer, count in ranges)


def setgroups_allowed(path: str = "/proc/self/setgroups") -> bool:
    """Whether this user namespace lets a process set its groups (newgidmap denies it
    when it maps the user's own group only: BERTH_SINGLE_ID=1)."""
    try:
        with open(path) as handle:
            return handle.read().strip() != "deny"
    except OSError:
        return True


def opaque_xattr() -> str:
    """The xattr overlayfs marks an opaque directory with: trusted.* needs the host's
    root, so in a user namespace overlayfs is mounted with `userxattr` and reads user.*."""
    return "user.overlay.opaque" if active() else "trusted.overlay.opaque"


def overlay_extra() -> str:
    """The overlayfs mount options a user namespace needs (none under root)."""
    return ",userxattr" if active() else ""
