"""Walk a compose tree, substitute `${VAR}` in every string value, and cast the result.

Values whose type is fixed by the spec (booleans, integers, numbers) are cast from
the strings interpolation produced, as compose does: `replicas: ${N}` is an int.
"""
from __future__ import annotations

from typing import Any, Callable

from .errors import ComposeError
from .template import Lookup, TemplateError, substitute
from .tags import Override, Reset


def _to_bool(text: str) -> bool | str:
    low = text.lower()
    if low in ("true", "yes", "y", "on", "1"):
        return True
    if low in ("false", "no", "n", "off", "0"):
        return False
    return text


def _to_int(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def _to_float(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


_CASTS: dict[str, Callable[[str], Any]] = {
    "services.*.cpu_count": _to_int,
    "services.*.cpu_percent": _to_float,
    "services.*.cpu_shares": _to_int,
    "services.*.cpu_period": _to_int,
    "services.*.cpu_quota": _to_int,
    "services.*.cpus": _to_float,
    "services.*.deploy.replicas": _to_int,
    "services.*.deploy.resources.limits.pids": _to_int,
    "services.*.deploy.restart_policy.max_attempts": _to_int,
    "services.*.depends_on.*.required": _to_bool,
    "services.*.depends_on.*.restart": _to_bool,
    "services.*.develop.watch.*.initial_sync": _to_bool,
    "services.*.healthcheck.disable": _to_bool,
    "services.*.healthcheck.retries": _to_int,
    "services.*.init": _to_bool,
    "services.*.mem_swappiness": _to_int,
    "services.*.networks.*.priority": _to_int,
    "services.*.oom_kill_disable": _to_bool,
    "services.*.oom_score_adj": _to_int,
    "services.*.pids_limit": _to_int,
    "services.*.ports.*.target": _to_int,
    "services.*.privileged": _to_bool,
    "services.*.read_only": _to_bool,
    "services.*.scale": _to_int,
    "services.*.stdin_open": _to_bool,
    "services.*.tty": _to_bool,
    "services.*.ulimits.*": _to_int,
    "services.*.ulimits.*.hard": _to_int,
    "services.*.ulimits.*.soft": _to_int,
    "services.*.volumes.*.read_only": _to_bool,
    "services.*.volumes.*.bind.create_host_path": _to_bool,
    "services.*.volumes.*.volume.nocopy": _to_bool,
    "networks.*.external": _to_bool,
    "networks.*.internal": _to_bool,
    "networks.*.attachable": _to_bool,
    "networks.*.enable_ipv6": _to_bool,
    "volumes.*.external": _to_bool,
    "secrets.*.external": _to_bool,
    "configs.*.external": _to_bool,
}
_CAST_PATTERNS = [(tuple(p.split(".")), fn) for p, fn in _CASTS.items()]


def _cast_for(path: tuple) -> Callable[[str], Any] | None:
    for pattern, fn in _CAST_PATTERNS:
        if len(pattern) == len(path) and all(p == "*" or p == str(k) for p, k in zip(pattern, path)):
            return fn
    return None


def interpolate(tree: Any, lookup: Lookup, path: tuple = ()) -> Any:
    """Return a copy of `tree` with templates substituted. Errors carry the path."""
    if isinstance(tree, str):
        try:
            value = substitute(tree, lookup)
        except TemplateError as err:
            raise ComposeError(str(err), path=path) from None
        cast = _cast_for(path) if path and path[0] in ("services", "networks", "volumes",
                                                       "secrets", "configs") else None
        return cast(value) if cast else value
    if isinstance(tree, dict):
        return {key: interpolate(value, lookup, path + (key,)) for key, value in tree.items()}
    if isinstance(tree, list):
        return [interpolate(value, lookup, path + (index,)) for index, value in enumerate(tree)]
    if isinstance(tree, Override):
        return Override(interpolate(tree.value, lookup, path))
    if isinstance(tree, Reset):
        return tree
    return tree
