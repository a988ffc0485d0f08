"""`container inspect` compared with docker's, field by field (probes_inspect.yaml):
each case creates a container with its flags (after "--": its command) and reads the
listed fields of the inspect object."""
from __future__ import annotations

import json
import subprocess
from typing import Any

import yaml

from .cases import BASE_REF, EXPECTED, HERE
from .probes import translate

SPEC = yaml.safe_load((HERE / "probes_inspect.yaml").read_text())
FIELDS: list[str] = SPEC["fields"]
CASES: dict[str, list[str]] = SPEC["cases"]
EXPECTED_PATH = EXPECTED / "probes-inspect.json"


def pick(obj: dict, path: str) -> Any:
    for key in path.split("."):
        obj = (obj or {}).get(key)
    return obj


def inspect_case(tool: list[str], name: str, env: dict | None = None) -> dict[str, Any]:
    words = CASES[name]
    flags, command = (words[:words.index("--")], words[words.index("--") + 1:]) \
        if "--" in words else (words, [])
    container = f"probe-inspect-{name}"
    create = ["create", "--name", container] + flags + [BASE_REF] + command
    subprocess.run(tool + translate(tool, create), env=env, capture_output=True, check=True,
                   timeout=60)
    try:
        out = subprocess.run(tool + translate(tool, ["inspect", container]), env=env,
                             capture_output=True, text=True, check=True, timeout=60).stdout
    finally:
        subprocess.run(tool + translate(tool, ["rm", "-f", container]), env=env,
                       capture_output=True, timeout=60)
    return {field: pick(json.loads(out)[0], field) for field in FIELDS}


def expected() -> dict:
    return json.loads(EXPECTED_PATH.read_text()) if EXPECTED_PATH.exists() else {}
