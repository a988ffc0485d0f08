"""OCI image configs: a new one, and the Dockerfile instructions that only change it.

CMD, ENTRYPOINT, ENV, EXPOSE, USER, VOLUME, WORKDIR, LABEL, STOPSIGNAL, SHELL,
HEALTHCHECK and ONBUILD change the config but no files; `image import --change` and
the builder both apply them here.
"""
from __future__ import annotations

import json
import platform
import time
from typing import Callable

from ..errors import BerthError
from common.units import parse_duration

from .shellwords import WordError, split_raw, word, words

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
         "s390x": "s390x"}


class InstructionError(BerthError, ValueError):
    """A malformed instruction."""


def host_arch() -> str:
    return _ARCH.get(platform.machine(), platform.machine())


def now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_config(diff_ids: list[str] | None = None) -> dict:
    return {
        "architecture": host_arch(),
        "os": "linux",
        "created": now_rfc3339(),
        "config": {"Env": [f"PATH={DEFAULT_PATH}"]},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids or [])},
        "history": [],
    }


def parse_pairs(text: str, keyword: str, values: dict[str, str], escape: str = "\\"
                ) -> list[tuple[str, str]]:
    """`a=1 b="x y"` -> [(a, 1), (b, x y)], and the legacy `KEY value...` form (its value
    the rest of the line), both with quotes removed and variables expanded."""
    raw = split_raw(text, escape)
    if not raw:
        raise InstructionError(f"{keyword} needs at least one argument")
    if "=" not in raw[0]:
        key, _, rest = text.strip().partition(" ")
        if not rest.strip():
            raise InstructionError(f"{keyword} {key}: a value is needed (KEY=VALUE or KEY VALUE)")
        return [(word(key, values, escape), word(rest.strip(), values, escape))]
    pairs = []
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InstructionError(f"{keyword}: expected KEY=VALUE, got {item!r}")
        pairs.append((word(key, values, escape), word(value, values, escape)))
    return pairs


def exposed_ports(text: str, values: dict[str, str], escape: str = "\\") -> list[str]:
    """EXPOSE's ports as `port/proto`, a range (8000-8002) made one entry per port."""
    out = []
    for item in words(text, values, escape):
        ports, _, proto = item.partition("/")
        first, _, last = ports.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise InstructionError(f"EXPOSE: invalid port {item!r}")
        proto = (proto or "tcp").lower()
        out += [f"{port}/{proto}" for port in range(int(first), int(last or first) + 1)]
    return out


def json_or_shell(text: str, shell: list[str]) -> list[str]:
    """Exec form (a JSON array) as it is; shell form wrapped in the SHELL."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
        except json.JSONDecodeError:
            pass
    return shell + [stripped]


def env_dict(config: dict) -> dict[str, str]:
    out = {}
    for item in config.get("config", {}).get("Env") or []:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _set_env(cfg: dict, pairs: list[tuple[str, str]]) -> None:
    env = {}
    for item in cfg.get("Env") or []:
        key, _, value = item.partition("=")
        env[key] = value
    for key, value in pairs:
        env[key] = value
    cfg["Env"] = [f"{k}={v}" for k, v in env.items()]


def _healthcheck(text: str) -> dict:
    words = text.split()
    options: dict = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        field = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
                 "start-interval": "StartInterval", "retries": "Retries"}.get(key)
        if field is None:
            raise InstructionError(f"HEALTHCHECK: unknown option --{key}")
        if field == "Retries":
            options[field] = int(value)
        else:
            options[field] = int(parse_duration(value) * 1e9)
    rest = text[text.find(words[0]):] if words else ""
    if not words:
        raise InstructionError("HEALTHCHECK needs NONE or CMD")
    if words[0].upper() == "NONE":
        return {"Test": ["NONE"]}
    if words[0].upper() != "CMD":
        raise InstructionError("HEALTHCHECK needs NONE or CMD")
    command = rest[3:].strip()
    test = json_or_shell(command, [])
    options["Test"] = ["CMD"] + test if command.startswith("[") else ["CMD-SHELL", command]
    return options


def apply(config: dict, keyword: str, text: str, values: dict[str, str] | None = None,
          escape: str = "\\", cmd_set: bool = True) -> bool:
    """Apply one config-only instruction; return False if `keyword` is not one. `values`
    are what $VAR expands to; `cmd_set`: whether this stage set CMD (an ENTRYPOINT
    clears a CMD inherited from the base image, as BuildKit does)."""
    keyword = keyword.upper()
    cfg = config.setdefault("config", {})
    shell = cfg.get("Shell") or ["/bin/sh", "-c"]
    values = values or {}

    def one_word() -> str:
        return word(text.strip(), values, escape)

    def entrypoint() -> None:
        cfg["Entrypoint"] = json_or_shell(text, shell)
        if not cmd_set:
            cfg["Cmd"] = None

    def volumes() -> list[str]:
        if text.strip().startswith("["):
            return _json_array(text, "VOLUME")
        return [word(item, values, escape) for item in text.split()]

    handlers: dict[str, Callable[[], None]] = {
        "CMD": lambda: cfg.__setitem__("Cmd", json_or_shell(text, shell)),
        "ENTRYPOINT": entrypoint,
        "ENV": lambda: _set_env(cfg, parse_pairs(text, "ENV", values, escape)),
        "LABEL": lambda: cfg.setdefault("Labels", {}).update(
            parse_pairs(text, "LABEL", values, escape)),
        "EXPOSE": lambda: cfg.setdefault("ExposedPorts", {}).update(
            {port: {} for port in exposed_ports(text, values, escape)}),
        "VOLUME": lambda: cfg.setdefault("Volumes", {}).update({v: {} for v in volumes()}),
        "USER": lambda: cfg.__setitem__("User", one_word()),
        "WORKDIR": lambda: cfg.__setitem__("WorkingDir", one_word()),
        "STOPSIGNAL": lambda: cfg.__setitem__("StopSignal", one_word()),
        "SHELL": lambda: cfg.__setitem__("Shell", _json_array(text, "SHELL")),
        "HEALTHCHECK": lambda: cfg.__setitem__("Healthcheck", _healthcheck(text)),
        "ONBUILD": lambda: cfg.setdefault("OnBuild", []).append(text.strip()),
    }
    handler = handlers.get(keyword)
    if handler is None:
        return False
    try:
        handler()
    except WordError as err:
        raise InstructionError(f"{keyword}: {err}") from None
    return True


def _json_array(text: str, keyword: str) -> list[str]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InstructionError(f"{keyword} needs a JSON array of strings")
    return value


def apply_change(config: dict, change: str) -> None:
    """`image import --change 'CMD ["sh"]'`: one instruction line."""
    keyword, _, text = change.strip().partition(" ")
    if not apply(config, keyword, text):
        raise InstructionError(f"unsupported --change instruction {keyword!r} (use CMD, "
                               "ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, "
                               "VOLUME, WORKDIR)")
