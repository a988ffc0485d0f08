"""Make the relative host paths of one file's long-form tree absolute.

Each file is resolved against its own base: the project directory for `-f` files,
the file's directory for `extends: {file: ...}`, `project_directory` for `include`.
"""
from __future__ import annotations

import os
import re
from typing import Any

from .tags import Override, Reset

_REMOTE_PREFIXES = ("http://", "https://", "git://", "git@", "ssh://", "github.com/",
                    "docker-image://", "oci-layout://", "service:", "target:")


def _abs(path: str, base: str, home: str | None) -> str:
    if path.startswith("~") and home:
        path = home + path[1:]
    if _is_remote(path):
        return path
    return os.path.normpath(os.path.join(base, path))


def _is_remote(path: str) -> bool:
    return path.startswith(_REMOTE_PREFIXES) or "://" in path


def _keep(value: Any, fn) -> Any:
    """Apply `fn` to a value, keeping a `!override` wrapper and leaving `!reset` alone."""
    if isinstance(value, Override):
        return Override(_keep(value.value, fn))
    if isinstance(value, Reset) or value is None:
        return value
    return fn(value)


def _service(svc: dict, base: str, home: str | None) -> dict:
    def absolute(path: str) -> str:
        return _abs(path, base, home)

    def build(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = dict(value)
        if isinstance(value.get("context"), str):
            value["context"] = absolute(value["context"])
        if isinstance(value.get("additional_contexts"), dict):
            value["additional_contexts"] = {  # docker-image://, service:... stay as they are
                k: absolute(v) if isinstance(v, str) and not re.match(r"^[a-z-]+:", v) else v
                for k, v in value["additional_contexts"].items()}
        if isinstance(value.get("ssh"), dict):
            value["ssh"] = {k: absolute(v) if isinstance(v, str) and v else v
                            for k, v in value["ssh"].items()}
        return value

    def volume(value: Any) -> Any:
        if isinstance(value, dict) and value.get("type") == "bind" and value.get("source"):
            return dict(value, source=absolute(value["source"]))
        return value

    def develop(value: Any) -> Any:
        if not isinstance(value, dict) or not isinstance(value.get("watch"), list):
            return value
        return dict(value, watch=[dict(rule, path=absolute(rule["path"])) if "path" in rule
                                  else rule for rule in value["watch"]])

    transforms = {
        "build": build,
        "env_file": lambda files: [dict(e, path=absolute(e["path"])) for e in files],
        "label_file": lambda files: [absolute(p) for p in files],
        "volumes": lambda items: [volume(v) for v in items],
        "extends": lambda e: dict(e, file=absolute(e["file"])) if isinstance(e, dict) and "file" in e else e,
        "develop": develop,
    }
    return {key: _keep(value, transforms[key]) if key in transforms else value
            for key, value in svc.items()}


def resolve_paths(tree: dict, base: str, home: str | None) -> dict:
    """Return `tree` with its relative host paths made absolute against `base`."""
    out = dict(tree)
    if isinstance(tree.get("services"), dict):
        out["services"] = {name: _keep(svc, lambda s: _service(s, base, home))
                           for name, svc in tree["services"].items()}
    for section in ("secrets", "configs"):
        entries = tree.get(section)
        if isinstance(entries, dict):
            out[section] = {name: dict(e, file=_abs(e["file"], base, home))
                            if isinstance(e, dict) and isinstance(e.get("file"), str) else e
                            for name, e in entries.items()}
    if isinstance(tree.get("include"), list):
        includes = []
        for item in tree["include"]:
            item = dict(item)
            item["path"] = [_abs(p, base, home) for p in item["path"]]
            if "project_directory" in item:
                item["project_directory"] = _abs(item["project_directory"], base, home)
            if "env_file" in item:
                item["env_file"] = [_abs(p, base, home) for p in item["env_file"]]
            includes.append(item)
        out["include"] = includes
    return out
