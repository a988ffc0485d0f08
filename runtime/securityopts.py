"""docker's --security-opt and compose's security_opt, read into RunOptions fields."""
from __future__ import annotations

from .errors import BerthError


class SecurityOptError(BerthError, ValueError):
    """A security option berth does not understand or cannot honour."""


def security_options(opts: list[str]) -> dict[str, bool]:
    """docker's --security-opt / compose's security_opt, as RunOptions fields.

    `seccomp=unconfined` and `no-new-privileges[:=]true|false` are understood; AppArmor
    and SELinux labels are accepted and have no effect (berth uses neither)."""
    out: dict[str, bool] = {}
    for opt in opts:
        key, _, value = opt.replace(":", "=", 1).partition("=")
        if key == "seccomp":
            if value != "unconfined":
                raise SecurityOptError(f"{opt!r}: berth applies docker's default seccomp filter "
                                       "or none (seccomp=unconfined); profile files are not "
                                       "supported")
            out["seccomp"] = False
        elif key == "no-new-privileges":
            if value not in ("", "true", "false"):
                raise SecurityOptError(f"{opt!r}: expected true or false")
            out["no_new_privileges"] = value != "false"
        elif key not in ("apparmor", "label"):
            raise SecurityOptError(f"{opt!r} is not supported (only seccomp=unconfined, "
                                   "no-new-privileges, apparmor=... and label=...)")
    return out
