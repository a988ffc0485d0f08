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
    return ordered(project.tree)


def ordered(tree: dict) -> dict:
    """A compose tree in the order compose prints it, each section sorted by name."""
    out: dict[str, Any] = {}
    for section in _SECTIONS:
        if section in tree and tree[section] not in (None, {}):
            out[section] = tree[section] if section == "name" else _sorted(tree[section])
    for key in tree:
        if key.startswith("x-"):
            out[key] = tree[key]
    return out


_INDICATORS = "-?:,[]{}#&*!|>'\"%@`"
_RESOLVER = yaml.resolver.Resolver()  # what a YAML reader would take a plain scalar for


def to_yaml(data: Any) -> str:
    """Block-style YAML of plain data, as PyYAML's safe dumper would write it. Written
    here because PyYAML's representer (Python, node by node) took 100 ms for 200 services;
    any string that is not plainly a string is quoted."""
    lines: list[str] = []
    if isinstance(data, dict) and data:
        _mapping(data, 0, lines)
    elif isinstance(data, list) and data:
        _sequence(data, 0, lines)
    else:
        lines.append(_scalar(data, 0))
    return "\n".join(lines) + "\n"


def _mapping(value: dict, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key, item in value.items():
        name = json.dumps(key, ensure_ascii=False) if isinstance(key, str) and "\n" in key \
            else _scalar(key, indent)
        if isinstance(item, dict) and item:
            out.append(f"{pad}{name}:")
            _mapping(item, indent + 2, out)
        elif isinstance(item, list) and item:
            out.append(f"{pad}{name}:")
            _sequence(item, indent, out)  # PyYAML's style: the dashes under the key
        else:
            out.append(f"{pad}{name}: {_scalar(item, indent)}")


def _sequence(items: list, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, (dict, list)) and item:
            nested: list[str] = []
            (_mapping if isinstance(item, dict) else _sequence)(item, indent + 2, nested)
            nested[0] = f"{pad}- {nested[0][indent + 2:]}"
            out.extend(nested)
        else:
            out.append(f"{pad}- {_scalar(item, indent)}")


def _scalar(value: Any, indent: int) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    text = str(value)
    if "\n" in text:
        return _literal(text, indent) or json.dumps(text, ensure_ascii=False)
    if _plain(text):
        return text
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=False)


def _plain(text: str) -> bool:
    """Whether a one-line string can go unquoted and still read back as this string."""
    if not text or not text.isprintable() or text != text.strip():
        return False
    if text[0] in _INDICATORS and not (text[0] in "-?:" and len(text) > 1 and text[1] != " "):
        return False
    if ": " in text or " #" in text or text.endswith(":") or text.startswith(("---", "...")):
        return False
    return _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


def _literal(text: str, indent: int) -> str | None:
    """A multi-line string as a `|` block, when that keeps it exactly."""
    lines = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
    if text.endswith("\n\n") or not lines[0] or lines[0][0] in " \t" or \
            any(line != line.rstrip() or not line.isprintable() for line in lines):
        return None
    pad = " " * (indent + 2)
    return ("|" if text.endswith("\n") else "|-") + "".join(
        f"\n{pad}{line}" if line else "\n" for line in lines)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2)


def image_name(project: Project, service: str) -> str:
    """The image a service runs: its `image:`, or `<project>-<service>` when it is built."""
    svc = project.services[service]
    return svc.image or f"{project.name}-{service}"
