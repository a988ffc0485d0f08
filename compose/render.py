"""`berth config` output: the resolved canonical tree as YAML or JSON."""
from __future__ import annotations

import json
from typing import Any

import yaml

from .model import Project

_SECTIONS = ("name", "services", "networks", "volumes", "secrets", "configs", "models")


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def config_tree(project: Project) -> dict:
    """The project's tree in the order compose prints it, each section sorted by name."""
    tree = project.tree
    out: dict[str, Any] = {}
    for section in _SECTIONS:
        if section in tree and tree[section] not in (None, {}):
            out[section] = tree[section] if section == "name" else _sorted(tree[section])
    for key in tree:
        if key.startswith("x-"):
            out[key] = tree[key]
    return out


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1 << 16)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2)


def image_name(project: Project, service: str) -> str:
    """The image a service runs: its `image:`, or `<project>-<service>` when it is built."""
    svc = project.services[service]
    return svc.image or f"{project.name}-{service}"
