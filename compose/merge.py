"""Merge long-form compose trees by the spec's rules (override files, extends).

Mappings merge key by key, sequences append, scalars are replaced. The exceptions
are in RULES, keyed by path pattern. `!override` replaces whatever was there,
`!reset` removes it; `finalize` strips what markers are left once merging is done.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable

from .tags import Override, Reset

Rule = Callable[[Any, Any, tuple], Any]


def _replace(base: Any, over: Any, path: tuple) -> Any:
    return over


def _by_key(key: Callable[[dict], Hashable]) -> Rule:
    """Sequences of mappings with a unique key: same key merges, new keys append."""

    def rule(base: Any, over: Any, path: tuple) -> Any:
        if not isinstance(base, list) or not isinstance(over, list):
            return over
        merged: dict[Hashable, Any] = {}
        for item in base:
            merged[key(item)] = item
        for item in over:
            k = key(item)
            merged[k] = merge(merged[k], item, path + ("item",)) if k in merged else item
        return list(merged.values())

    return rule


def _port_key(port: dict) -> Hashable:
    return (port.get("host_ip"), port.get("target"), port.get("published"),
            port.get("protocol", "tcp"))


def _logging(base: Any, over: Any, path: tuple) -> Any:
    """A different driver replaces the options; the same driver merges them."""
    if (isinstance(base, dict) and isinstance(over, dict) and "driver" in over
            and over["driver"] != base.get("driver")):
        return over
    return _merge_mapping(base, over, path)


RULES: dict[str, Rule] = {
    "services.*.command": _replace,
    "services.*.entrypoint": _replace,
    "services.*.healthcheck.test": _replace,
    "services.*.ports": _by_key(_port_key),
    "services.*.volumes": _by_key(lambda v: v.get("target")),
    "services.*.secrets": _by_key(lambda v: v.get("target") or v.get("source")),
    "services.*.configs": _by_key(lambda v: v.get("target") or v.get("source")),
    "services.*.env_file": _by_key(lambda v: v.get("path")),
    "services.*.logging": _logging,
    "services.*.post_start.*.command": _replace,
    "services.*.pre_stop.*.command": _replace,
    "services.*.develop.watch.*.exec.command": _replace,
}
_RULES = [(tuple(p.split(".")), rule) for p, rule in RULES.items()]


def _rule_for(path: tuple) -> Rule | None:
    for pattern, rule in _RULES:
        if len(pattern) == len(path) and all(p == "*" or p == k for p, k in zip(pattern, path)):
            return rule
    return None


def _merge_mapping(base: dict, over: dict, path: tuple) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = merge(out[key], value, path + (key,)) if key in out else value
    return out


def _append_unique(base: list, over: list) -> list:
    out = list(base)
    for item in over:
        if isinstance(item, (dict, list)) or item not in out:
            out.append(item)
    return out


def merge(base: Any, over: Any, path: tuple = ()) -> Any:
    """Merge `over` onto `base` at `path`; both are long-form trees."""
    if isinstance(over, (Reset, Override)):
        return over
    if isinstance(base, Override):
        base = base.value
    rule = _rule_for(path)
    if rule is not None:
        return rule(base, over, path)
    if isinstance(base, dict) and isinstance(over, dict):
        return _merge_mapping(base, over, path)
    if isinstance(base, list) and isinstance(over, list):
        return _append_unique(base, over)
    if over is None and isinstance(base, dict):
        return base
    return over


def finalize(tree: Any) -> Any:
    """Drop `!reset` entries and unwrap `!override` values, everywhere in the tree."""
    if isinstance(tree, Override):
        return finalize(tree.value)
    if isinstance(tree, dict):
        return {k: finalize(v) for k, v in tree.items() if not isinstance(v, Reset)}
    if isinstance(tree, list):
        return [finalize(v) for v in tree if not isinstance(v, Reset)]
    return tree
