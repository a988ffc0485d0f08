"""Turn every short syntax of a (schema-valid) compose tree into its long form.

One function per attribute, in the TRANSFORMS table keyed by attribute name; the tree
stays plain dicts and lists. Merging and the model both work on the long form only.
"""
from __future__ import annotations

import ipaddress
import re
import shlex
from typing import Any, Callable

from .errors import ComposeError
from .tags import Override, Reset


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _dict_from_list(items: list, path: tuple, sep: str = "=") -> dict:
    out: dict[str, Any] = {}
    for item in items:
        key, has, value = str(item).partition(sep)
        out[key.strip() if sep != "=" else key] = value if has else None
    return out


def list_or_dict(value: Any, path: tuple) -> dict:
    """`[A=1, B]` or `{A: 1, B: null}` -> {"A": "1", "B": None}."""
    if isinstance(value, list):
        return _dict_from_list(value, path)
    return {str(k): v if v is None or isinstance(v, (Reset, Override)) else _text(v)
            for k, v in (value or {}).items()}


def _string_list(value: Any, path: tuple) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [_text(v) for v in value]
    return [_text(value)]


def command(value: Any, path: tuple) -> list[str] | None:
    """A string command is split like a shell would (no shell runs it), as compose does."""
    if value is None or isinstance(value, list):
        return value
    try:
        return shlex.split(value)
    except ValueError as err:
        raise ComposeError(f"cannot split command {value!r}: {err}", path=path) from None


def build(value: Any, path: tuple) -> dict:
    if isinstance(value, str):
        return {"context": value}
    out = dict(value)
    out.setdefault("context", ".")
    for key in ("args", "labels", "additional_contexts", "ssh"):
        if key in out and not isinstance(out[key], (Reset, Override)):
            out[key] = list_or_dict(out[key], path + (key,))
    if isinstance(out.get("ssh"), dict):
        out["ssh"] = {k: v for k, v in out["ssh"].items()}
    if "extra_hosts" in out:
        out["extra_hosts"] = extra_hosts(out["extra_hosts"], path + ("extra_hosts",))
    if "ulimits" in out:
        out["ulimits"] = ulimits(out["ulimits"], path + ("ulimits",))
    if "secrets" in out:
        out["secrets"] = file_grants(out["secrets"], path + ("secrets",))
    return out


def depends_on(value: Any, path: tuple) -> dict:
    if isinstance(value, list):
        return {name: {"condition": "service_started", "required": True} for name in value}
    out = {}
    for name, dep in value.items():
        dep = dict(dep)
        dep.setdefault("required", True)
        out[name] = dep
    return out


def env_file(value: Any, path: tuple) -> list[dict]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append({"path": item, "required": True})
        else:
            entry = dict(item)
            entry.setdefault("required", True)
            out.append(entry)
    return out


def extra_hosts(value: Any, path: tuple) -> dict[str, list[str]]:
    """`["host:1.2.3.4", "h=::1"]` or `{host: ip}` -> {"host": ["1.2.3.4"], ...}."""
    out: dict[str, list[str]] = {}
    if isinstance(value, dict):
        for host, ips in value.items():
            out.setdefault(host, []).extend(ips if isinstance(ips, list) else [_text(ips)])
        return out
    for index, item in enumerate(value):
        if "=" in item:
            host, _, ip = item.partition("=")
        elif ":" in item:
            host, _, ip = item.partition(":")
        else:
            raise ComposeError(f"invalid extra host {item!r}: expected HOST=IP or HOST:IP",
                               path=path + (index,))
        ip = ip.strip()
        if ip.startswith("[") and ip.endswith("]"):
            ip = ip[1:-1]
        out.setdefault(host.strip(), []).append(ip)
    return out


def networks(value: Any, path: tuple) -> dict:
    if isinstance(value, list):
        return {name: None for name in value}
    return dict(value)


def file_grants(value: Any, path: tuple) -> list[dict]:
    """secrets/configs: `[name]` -> `[{source: name}]`."""
    return [{"source": item} if isinstance(item, str) else dict(item) for item in value]


def ulimits(value: Any, path: tuple) -> dict:
    out = {}
    for name, limit in value.items():
        if isinstance(limit, dict):
            out[name] = dict(limit)
        else:
            out[name] = {"soft": limit, "hard": limit}
    return out


def healthcheck(value: Any, path: tuple) -> dict:
    out = dict(value)
    test = out.get("test")
    if isinstance(test, str):
        out["test"] = ["CMD-SHELL", test]
    return out


def devices(value: Any, path: tuple) -> list[dict]:
    out = []
    for item in value:
        if isinstance(item, dict):
            out.append(dict(item))
            continue
        parts = item.split(":")
        entry = {"source": parts[0], "target": parts[1] if len(parts) > 1 else parts[0],
                 "permissions": parts[2] if len(parts) > 2 else "rwm"}
        out.append(entry)
    return out


def expose(value: Any, path: tuple) -> list[str]:
    return [_text(v) for v in value]


# --- ports -----------------------------------------------------------------------------

_PORT_SPEC = re.compile(r"[0-9]+(?:-[0-9]+)?")


def _split_port(spec: str) -> tuple[str | None, str | None, str]:
    """`[IP:][HOST:]CONTAINER` -> (ip, host, container); IPv6 may be in brackets."""
    if spec.startswith("["):
        ip, _, rest = spec[1:].partition("]")
        host, _, target = rest.lstrip(":").rpartition(":")
        return ip, host or None, target
    parts = spec.split(":")
    if len(parts) == 1:
        return None, None, parts[0]
    if len(parts) == 2:
        return None, parts[0] or None, parts[1]
    return ":".join(parts[:-2]) or None, parts[-2] or None, parts[-1]


def _port_range(text: str, path: tuple, item: Any) -> tuple[int, int]:
    low, _, high = text.partition("-")
    start, end = int(low), int(high or low)
    if end < start or not (0 <= start <= 65535 and 0 <= end <= 65535):
        raise ComposeError(f"invalid port range {text!r} in {item!r}", path=path)
    return start, end


def parse_port(item: Any, path: tuple) -> list[dict]:
    """One `ports:` entry (any syntax) -> one or more long-syntax dicts."""
    if isinstance(item, dict):
        entry = dict(item)
        entry.setdefault("mode", "ingress")
        entry.setdefault("protocol", "tcp")
        if "published" in entry and entry["published"] is not None:
            entry["published"] = _text(entry["published"])
        if isinstance(entry.get("target"), str):
            if not entry["target"].isdigit():
                raise ComposeError(f"invalid container port {entry['target']!r}", path=path)
            entry["target"] = int(entry["target"])
        return [entry]
    text = _text(item)
    spec, _, proto = text.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise ComposeError(f"invalid protocol {proto!r} in port {text!r}", path=path)
    ip, host, target = _split_port(spec)
    if not _PORT_SPEC.fullmatch(target) or (host is not None and not _PORT_SPEC.fullmatch(host)):
        raise ComposeError(f"invalid port {text!r}: expected [[IP:]HOST:]CONTAINER[/PROTOCOL]",
                           path=path)
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ComposeError(f"invalid host IP {ip!r} in port {text!r}", path=path) from None
    t_start, t_end = _port_range(target, path, text)
    base = {"mode": "ingress"}
    if ip:
        base["host_ip"] = ip
    if host is None:
        return [{**base, "target": port, "protocol": proto} for port in range(t_start, t_end + 1)]
    h_start, h_end = _port_range(host, path, text)
    if t_start == t_end:
        published = host if h_start != h_end else str(h_start)
        return [{**base, "target": t_start, "published": published, "protocol": proto}]
    if (h_end - h_start) != (t_end - t_start):
        raise ComposeError(f"port ranges don't match in {text!r}", path=path)
    return [{**base, "target": t_start + i, "published": str(h_start + i), "protocol": proto}
            for i in range(t_end - t_start + 1)]


def ports(value: Any, path: tuple) -> list[dict]:
    out = []
    for index, item in enumerate(value):
        out.extend(parse_port(item, path + (index,)))
    return out


# --- volumes ---------------------------------------------------------------------------

_PROPAGATION = {"shared", "slave", "private", "rshared", "rslave", "rprivate"}
_CONSISTENCY = {"consistent", "cached", "delegated"}


def _is_host_path(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or re.match(r"^[A-Za-z]:[\\/]", source) is not None


def parse_volume(item: Any, path: tuple) -> dict:
    """One short `volumes:` entry `[SOURCE:]TARGET[:MODE]` -> the long form."""
    if isinstance(item, dict):
        entry = dict(item)
        if entry.get("type") == "bind":
            entry.setdefault("bind", {}).setdefault("create_host_path", True)
        return entry
    parts = item.split(":")
    # a Windows drive letter is not a separator: "C:\data:/data"
    if len(parts) > 1 and len(parts[0]) == 1 and parts[0].isalpha() and parts[1][:1] == "\\":
        parts = [parts[0] + ":" + parts[1]] + parts[2:]
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    if len(parts) > 3 or not parts[0] or not parts[1]:
        raise ComposeError(f"invalid volume {item!r}: expected [SOURCE:]TARGET[:MODE]", path=path)
    source, target = parts[0], parts[1]
    entry: dict[str, Any] = {"type": "bind" if _is_host_path(source) else "volume",
                             "source": source, "target": target}
    if entry["type"] == "bind":
        entry["bind"] = {"create_host_path": True}
    for mode in (parts[2].split(",") if len(parts) == 3 else []):
        if mode == "ro":
            entry["read_only"] = True
        elif mode == "rw":
            entry["read_only"] = False
        elif mode in ("z", "Z"):
            entry.setdefault("bind", {})["selinux"] = mode
        elif mode in _PROPAGATION:
            entry.setdefault("bind", {})["propagation"] = mode
        elif mode in _CONSISTENCY:
            entry["consistency"] = mode
        elif mode == "nocopy":
            entry["volume"] = {"nocopy": True}
        else:
            raise ComposeError(f"invalid mode {mode!r} in volume {item!r}", path=path)
    return entry


def volumes(value: Any, path: tuple) -> list[dict]:
    return [parse_volume(item, path + (index,)) for index, item in enumerate(value)]


def develop(value: Any, path: tuple) -> dict:
    out = dict(value or {})
    if "watch" in out:
        rules = []
        for rule in out["watch"]:
            rule = dict(rule)
            for key in ("ignore", "include"):
                if key in rule:
                    rule[key] = _string_list(rule[key], path)
            if "exec" in rule:
                rule["exec"] = hook(rule["exec"], path)
            rules.append(rule)
        out["watch"] = rules
    return out


def hook(value: Any, path: tuple) -> dict:
    out = dict(value)
    if "command" in out:
        out["command"] = command(out["command"], path + ("command",))
    if "environment" in out:
        out["environment"] = list_or_dict(out["environment"], path + ("environment",))
    return out


def hooks(value: Any, path: tuple) -> list[dict]:
    return [hook(item, path + (index,)) for index, item in enumerate(value)]


def deploy(value: Any, path: tuple) -> dict:
    out = dict(value or {})
    if "labels" in out:
        out["labels"] = list_or_dict(out["labels"], path + ("labels",))
    return out


def logging(value: Any, path: tuple) -> dict:
    out = dict(value)
    if "options" in out and out["options"] is not None:
        out["options"] = {k: (None if v is None else _text(v)) for k, v in out["options"].items()}
    return out


SERVICE_TRANSFORMS: dict[str, Callable[[Any, tuple], Any]] = {
    "annotations": list_or_dict,
    "build": build,
    "command": command,
    "configs": file_grants,
    "depends_on": depends_on,
    "deploy": deploy,
    "develop": develop,
    "devices": devices,
    "dns": _string_list,
    "dns_search": _string_list,
    "entrypoint": command,
    "env_file": env_file,
    "environment": list_or_dict,
    "expose": expose,
    "extra_hosts": extra_hosts,
    "healthcheck": healthcheck,
    "label_file": _string_list,
    "labels": list_or_dict,
    "logging": logging,
    "networks": networks,
    "ports": ports,
    "post_start": hooks,
    "pre_start": hooks,
    "pre_stop": hooks,
    "secrets": file_grants,
    "sysctls": list_or_dict,
    "tmpfs": _string_list,
    "ulimits": ulimits,
    "volumes": volumes,
}


def _external(value: dict) -> dict:
    """Legacy `external: {name: x}` -> `external: true, name: x`."""
    ext = value.get("external")
    if isinstance(ext, dict):
        value = dict(value)
        value["external"] = True
        if "name" in ext:
            value["name"] = ext["name"]
    return value


def _resource(value: Any, path: tuple) -> dict:
    out = _external(dict(value or {}))
    if "labels" in out:
        out["labels"] = list_or_dict(out["labels"], path + ("labels",))
    return out


TOP_LEVEL_TRANSFORMS: dict[str, Callable[[Any, tuple], Any]] = {
    "networks": _resource,
    "volumes": _resource,
    "secrets": _resource,
    "configs": _resource,
}


def _apply(table: dict, key: str, value: Any, path: tuple) -> Any:
    if isinstance(value, Reset):
        return value
    if isinstance(value, Override):
        return Override(_apply(table, key, value.value, path))
    fn = table.get(key)
    return fn(value, path) if fn else value


def canonical_service(service: Any, path: tuple) -> Any:
    if isinstance(service, Reset):
        return service
    if isinstance(service, Override):
        return Override(canonical_service(service.value, path))
    return {key: _apply(SERVICE_TRANSFORMS, key, value, path + (key,))
            for key, value in (service or {}).items()}


def canonical(tree: dict) -> dict:
    """Return the long form of a whole compose file tree."""
    out = dict(tree)
    services = tree.get("services")
    if isinstance(services, dict):
        out["services"] = {name: canonical_service(svc, ("services", name))
                           for name, svc in services.items()}
    for section, fn in TOP_LEVEL_TRANSFORMS.items():
        entries = tree.get(section)
        if isinstance(entries, dict):
            out[section] = {name: _apply({section: fn}, section, value, (section, name))
                            for name, value in entries.items()}
    if isinstance(tree.get("include"), list):
        out["include"] = [_include(item) for item in tree["include"]]
    return out


def _include(item: Any) -> dict:
    if isinstance(item, str):
        return {"path": [item]}
    out = dict(item)
    out["path"] = _string_list(out["path"], ())
    if "env_file" in out:
        out["env_file"] = _string_list(out["env_file"], ())
    return out
