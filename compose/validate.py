"""Validation: berth's JSON Schema on each file, then named semantic checks on the model."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from . import pullpolicy
from .errors import ComposeError
from .model import Project, Service
from .tags import Override, Reset

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "compose.schema.json"


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema  # costly import: only when a file is actually validated

    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft7Validator(schema)


def _plain(tree: Any) -> Any:
    """The tree as the schema sees it: `!override` unwrapped, `!reset` entries dropped."""
    if isinstance(tree, Override):
        return _plain(tree.value)
    if isinstance(tree, dict):
        return {k: _plain(v) for k, v in tree.items() if not isinstance(v, Reset)}
    if isinstance(tree, list):
        return [_plain(v) for v in tree if not isinstance(v, Reset)]
    return tree


_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "a boolean", "object": "a mapping", "array": "a list", "null": "null"}


def _describe_types(types: Any) -> str:
    names = [_TYPE_NAMES.get(t, t) for t in (types if isinstance(types, list) else [types])]
    return " or ".join(names)


def _best(error: Any) -> Any:
    """The most telling error inside a oneOf/anyOf failure."""
    from jsonschema.exceptions import best_match, relevance

    while error.context:
        deeper = [e for e in error.context if e.validator not in ("type",)]
        candidate = best_match(deeper or error.context, key=relevance)
        if candidate is None or len(candidate.absolute_path) < len(error.absolute_path):
            break
        if candidate.validator in ("oneOf", "anyOf") and not candidate.context:
            break
        # a sub-error at the same place that only says "wrong type" is no better than ours
        if candidate.validator == "type" and len(candidate.absolute_path) == len(error.absolute_path):
            break
        error = candidate
    return error


def _message(error: Any) -> tuple[tuple, str]:
    path = tuple(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties":
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})
                 and not k.startswith("x-")]
        key = extra[0] if extra else "?"
        return path + (key,), f"unknown key {key!r}" if path else f"unknown top-level key {key!r}"
    if kind == "type":
        return path, f"must be {_describe_types(error.validator_value)}, not {_found(error.instance)}"
    if kind == "enum":
        choices = ", ".join(repr(c) for c in error.validator_value)
        return path, f"{error.instance!r} is not one of {choices}"
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return path, f"missing required key {missing!r}"
    if kind == "propertyNames" or kind == "pattern":
        bad = error.instance if kind == "pattern" else "?"
        if kind == "propertyNames":
            for sub in error.context or ():
                bad = sub.instance
        return path, f"invalid name {bad!r}: use only letters, digits, '.', '_' and '-'"
    if kind == "uniqueItems":
        return path, "contains duplicate entries"
    if kind in ("oneOf", "anyOf"):
        return path, f"invalid value {_short(error.instance)}"
    return path, error.message


def _found(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def check_schema(tree: Any, file: str) -> None:
    """Raise ComposeError for the first schema violation in one file's (interpolated) tree."""
    if not isinstance(tree, dict):
        raise ComposeError(f"top level must be a mapping, not {_found(tree)}", file=file)
    errors = sorted(_validator().iter_errors(_plain(tree)),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return
    path, message = _message(_best(errors[0]))
    raise ComposeError(message, file=file, path=path)


# --- semantic checks on the typed model ------------------------------------------------

Check = Callable[[Project], Iterator[ComposeError]]

_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:[0-9]+)?)$")


def _service_refs(svc: Service) -> Iterator[tuple[str, tuple]]:
    """Services that `svc` names: (service, path of the reference)."""
    base = ("services", svc.name)
    for dep in svc.depends_on:
        yield dep, base + ("depends_on", dep)
    for index, link in enumerate(svc.links):
        yield link.split(":")[0], base + ("links", index)
    for index, source in enumerate(svc.volumes_from):
        if not source.startswith("container:"):
            yield source.split(":")[0], base + ("volumes_from", index)
    for key in ("network_mode", "ipc", "pid"):
        value = getattr(svc, key)
        if value and value.startswith("service:"):
            yield value[len("service:"):], base + (key,)


def check_references(project: Project) -> Iterator[ComposeError]:
    for svc in project.services.values():
        for ref, path in _service_refs(svc):
            if ref in project.services:
                continue
            dep = svc.depends_on.get(ref)
            if path[2] == "depends_on" and dep is not None and not dep.required:
                continue
            if ref in project.disabled:
                profiles = ", ".join(project.disabled[ref].profiles)
                yield ComposeError(f"service {svc.name!r} depends on {ref!r}, which is only in "
                                   f"profile(s) {profiles} (enable with --profile)", path=path)
            else:
                yield ComposeError(f"service {svc.name!r} refers to undefined service {ref!r}",
                                   path=path)


def check_resources(project: Project) -> Iterator[ComposeError]:
    for svc in project.services.values():
        base = ("services", svc.name)
        for net in svc.networks:
            if net not in project.networks:
                yield ComposeError(f"service {svc.name!r} refers to undefined network {net!r}",
                                   path=base + ("networks", net))
        for index, mount in enumerate(svc.volumes):
            if mount.type == "volume" and mount.source and mount.source not in project.volumes:
                yield ComposeError(f"service {svc.name!r} refers to undefined volume "
                                   f"{mount.source!r}", path=base + ("volumes", index))
        for kind, grants, known in (("secret", svc.secrets, project.secrets),
                                    ("config", svc.configs, project.configs)):
            for index, grant in enumerate(grants):
                if grant.source not in known:
                    yield ComposeError(f"service {svc.name!r} refers to undefined {kind} "
                                       f"{grant.source!r}", path=base + (kind + "s", index))


def check_service_basics(project: Project) -> Iterator[ComposeError]:
    for svc in project.services.values():
        base = ("services", svc.name)
        written = project.tree.get("services", {}).get(svc.name) or {}
        if not svc.image and not svc.build and "provider" not in written:
            yield ComposeError(f"service {svc.name!r} has neither an image nor a build context",
                               path=base)
        if svc.network_mode and svc.networks:
            yield ComposeError("'network_mode' and 'networks' cannot be used together",
                               path=base + ("network_mode",))
        if svc.container_name and svc.scale > 1:
            yield ComposeError(f"'container_name' {svc.container_name!r} cannot be used with "
                               f"{svc.scale} replicas", path=base + ("container_name",))
        restart = written.get("restart")
        if restart is not None and not _RESTART.match(str(restart)):
            yield ComposeError(f"invalid restart policy {restart!r}: use no, always, "
                               "on-failure[:N] or unless-stopped", path=base + ("restart",))
        try:
            pullpolicy.parse(svc.pull_policy, svc.pull_refresh_after)
        except pullpolicy.PolicyError as err:
            yield ComposeError(str(err), path=base + (err.key,))
        if svc.scale < 0:
            yield ComposeError("scale cannot be negative", path=base + ("scale",))
        for index, port in enumerate(svc.ports):
            if not 0 < port.target <= 65535:
                yield ComposeError(f"invalid container port {port.target}",
                                   path=base + ("ports", index))
        for index, rule in enumerate(svc.watch):
            needs_target = rule.action in ("sync", "sync+restart", "sync+exec")
            if needs_target and not rule.target:
                yield ComposeError(f"watch action {rule.action!r} needs a 'target'",
                                   path=base + ("develop", "watch", index))
            if rule.action == "sync+exec" and rule.exec is None:
                yield ComposeError("watch action 'sync+exec' needs 'exec'",
                                   path=base + ("develop", "watch", index))


def check_cycles(project: Project) -> Iterator[ComposeError]:
    from .graph import find_cycle

    cycle = find_cycle(project)
    if cycle:
        if len(cycle) == 1:
            yield ComposeError(f"service {cycle[0]!r} depends on itself",
                               path=("services", cycle[0]))
        else:
            chain = " -> ".join(cycle + [cycle[0]])
            yield ComposeError(f"dependency cycle: {chain}", path=("services", cycle[0]))


CHECKS: tuple[Check, ...] = (check_service_basics, check_references, check_resources, check_cycles)


def check_project(project: Project) -> None:
    """Run every semantic check; raise the first error found."""
    for check in CHECKS:
        for error in check(project):
            raise error


# keys of the compose spec that berth reads but does not act on (Windows, swarm, other
# runtimes, user namespaces...): `up` says so instead of ignoring them silently
IGNORED_KEYS = ("annotations", "cgroup_parent", "cpu_count", "cpu_percent", "cpu_rt_period",
                "cpu_rt_runtime", "credential_spec", "isolation", "runtime", "storage_opt",
                "userns_mode")
# Docker-only features, and what berth does instead
DOCKER_ONLY = {
    "models": "berth runs no model runner (Docker Model Runner): the service gets no model "
              "endpoint variables; run the model as a service of its own",
    "use_api_socket": "berth has no Docker API socket to share: the container gets none",
}
KEPT_LOG_DRIVERS = ("json-file", "local")


def ignored(project: Project, services: list[str]) -> list[str]:
    """One line for each key of the selected services (and their networks) that berth
    leaves aside."""
    lines = []
    for name in services:
        tree = project.tree.get("services", {}).get(name, {})
        for key in IGNORED_KEYS:
            if tree.get(key) not in (None, [], {}):
                lines.append(f"service {name!r}: {key!r} is not supported by berth; ignored")
        for key, instead in DOCKER_ONLY.items():
            if tree.get(key) not in (None, [], {}, False):
                lines.append(f"service {name!r}: {key!r}: {instead}")
        driver = project.services[name].logging.driver
        if driver not in KEPT_LOG_DRIVERS:
            lines.append(f"service {name!r}: logging driver {driver!r} is not supported by "
                         "berth; output is kept as JSON lines, shown by `berth logs`")
    used = {key for name in services for key in project.services[name].networks}
    for key in sorted(used):
        if project.networks[key].enable_ipv6:
            lines.append(f"network {key!r}: enable_ipv6 is not supported by berth (IPv4 only)")
    return lines
