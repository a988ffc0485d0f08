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


def split_words(text: str) -> list[str]:
    """Split like a Dockerfile does for ENV/LABEL: quotes group, backslash escapes."""
    words, current, quote, has = [], [], None, False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and quote != "'":
            current.append(text[i + 1])
            has = True
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = None
            else:
                current.append(ch)
        elif ch in "\"'":
            quote, has = ch, True
        elif ch.isspace():
            if has:
                words.append("".join(current))
                current, has = [], False
        else:
            current.append(ch)
            has = True
        i += 1
    if quote:
        raise InstructionError(f"unterminated quote in {text!r}")
    if has:
        words.append("".join(current))
    return words


def parse_pairs(text: str, keyword: str) -> list[tuple[str, str]]:
    """`a=1 b="x y"` -> [(a, 1), (b, x y)]; the legacy `KEY value...` form too."""
    words = split_words(text)
    if not words:
        raise InstructionError(f"{keyword} needs at least one argument")
    if "=" not in words[0]:
        if keyword != "ENV" and keyword != "LABEL":
            raise InstructionError(f"{keyword}: expected KEY=VALUE")
        key, _, rest = text.strip().partition(" ")
        return [(key, rest.strip())]
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InstructionError(f"{keyword}: expected KEY=VALUE, got {word!r}")
        pairs.append((key, value))
    return pairs


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


def apply(config: dict, keyword: str, text: str, shell: list[str] | None = None) -> bool:
    """Apply one config-only instruction; return False if `keyword` is not one."""
    keyword = keyword.upper()
    cfg = config.setdefault("config", {})
    shell = shell or cfg.get("Shell") or ["/bin/sh", "-c"]
    handlers: dict[str, Callable[[], None]] = {
        "CMD": lambda: cfg.__setitem__("Cmd", json_or_shell(text, shell)),
        "ENTRYPOINT": lambda: cfg.__setitem__("Entrypoint", json_or_shell(text, shell)),
        "ENV": lambda: _set_env(cfg, parse_pairs(text, "ENV")),
        "LABEL": lambda: cfg.setdefault("Labels", {}).update(parse_pairs(text, "LABEL")),
        "EXPOSE": lambda: cfg.setdefault("ExposedPorts", {}).update(
            {(p if "/" in p else f"{p}/tcp"): {} for p in split_words(text)}),
        "VOLUME": lambda: cfg.setdefault("Volumes", {}).update(
            {v: {} for v in (json_or_shell(text, []) if text.strip().startswith("[")
                             else split_words(text))}),
        "USER": lambda: cfg.__setitem__("User", text.strip()),
        "WORKDIR": lambda: cfg.__setitem__("WorkingDir", text.strip()),
        "STOPSIGNAL": lambda: cfg.__setitem__("StopSignal", text.strip()),
        "SHELL": lambda: cfg.__setitem__("Shell", _json_array(text, "SHELL")),
        "HEALTHCHECK": lambda: cfg.__setitem__("Healthcheck", _healthcheck(text)),
        "ONBUILD": lambda: cfg.setdefault("OnBuild", []).append(text.strip()),
    }
    handler = handlers.get(keyword)
    if handler is None:
        return False
    handler()
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
