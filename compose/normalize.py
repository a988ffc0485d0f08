"""Fill in what compose implies, on the merged canonical tree.

- the `default` network, joined by every service that names no network;
- real names of networks and volumes (`<project>_<key>` unless `name:` or external);
- `env_file` contents folded into `environment` (explicit values win), and
  `environment: [KEY]` entries resolved from the project environment;
- `label_file` contents folded into `labels`.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from .dotenv import DotenvError, parse_dotenv
from .errors import ComposeError


Reader = Callable[[str], "str | None"]  # path -> text, or None when missing


def _env_files(service: dict, name: str, env: Mapping[str, str], read: Reader
               ) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for index, entry in enumerate(service.get("env_file", [])):
        path = entry["path"]
        text = _guarded(read, path)
        if text is None:
            if entry.get("required", True) not in (False, "false"):
                raise ComposeError(f"env file {path} not found",
                                   path=("services", name, "env_file", index))
            continue
        try:
            values.update(parse_dotenv(text, env.get, raw=entry.get("format") == "raw"))
        except DotenvError as err:
            raise ComposeError(str(err), file=path, line=err.line) from None
    return values


def _guarded(read: Reader, path: str) -> str | None:
    try:
        return read(path)
    except OSError as err:
        raise ComposeError(f"cannot read {path}: {err.strerror}") from None


def _label_files(service: dict, name: str, read: Reader) -> dict[str, str]:
    values: dict[str, str] = {}
    for index, path in enumerate(service.get("label_file", [])):
        text = _guarded(read, path)
        if text is None:
            raise ComposeError(f"label file {path} not found",
                               path=("services", name, "label_file", index))
        try:
            values.update(parse_dotenv(text))
        except DotenvError as err:
            raise ComposeError(str(err), file=path, line=err.line) from None
    return values


def _service(name: str, service: dict, env: Mapping[str, str], read: Reader) -> dict:
    out = dict(service)
    environment = _env_files(service, name, env, read)
    environment.update(service.get("environment", {}))
    for key, value in environment.items():
        if value is None and key in env:
            environment[key] = env[key]
    if environment or "environment" in service:
        out["environment"] = environment
    out.pop("env_file", None)
    if "label_file" in service:
        labels = _label_files(service, name, read)
        labels.update(service.get("labels", {}))
        out["labels"] = labels
        out.pop("label_file")
    if "network_mode" not in out and not out.get("networks"):
        out["networks"] = {"default": None}
    if "build" in out:
        build = dict(out["build"])
        if "dockerfile_inline" not in build:
            build.setdefault("dockerfile", "Dockerfile")
        out["build"] = build
    return out


def _named(project: str, entries: Mapping[str, Any]) -> dict:
    out = {}
    for key, value in entries.items():
        value = dict(value or {})
        if "name" not in value:
            value["name"] = key if value.get("external") else f"{project}_{key}"
        out[key] = value
    return out


def normalize(tree: dict, project: str, env: Mapping[str, str], read: Reader) -> dict:
    """Return the tree with compose's implied values made explicit."""
    out = dict(tree)
    out["name"] = project
    services = {name: _service(name, svc or {}, env, read)
                for name, svc in (tree.get("services") or {}).items()}
    out["services"] = services
    networks = dict(tree.get("networks") or {})
    if "default" not in networks and any("default" in (svc.get("networks") or {})
                                         for svc in services.values()):
        networks["default"] = {}
    sections = {"networks": networks, "volumes": tree.get("volumes"),
                "secrets": tree.get("secrets"), "configs": tree.get("configs")}
    for section, entries in sections.items():
        if entries:
            out[section] = _named(project, entries)
        else:
            out.pop(section, None)
    out.pop("include", None)
    out.pop("version", None)
    return out
