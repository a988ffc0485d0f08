"""The `docker run` conformance probes (probes/*.yaml): a command run in the suite's base
image with given flags, under `docker run` and under `berth container run`, its output
compared once ids, addresses and ports are masked.

    cap-add:
      flags: [--cap-add, NET_ADMIN]
      command: [sh, -c, "grep CapEff /proc/self/status"]
      files: {env.list: "A=1\\n"}   # written in the probe's directory, {dir} in flags
      before: [[volume, create, "{name}"]]  # docker/berth commands run first
      after: [[volume, rm, "{name}"]]       # and after, whatever happened
      stdin: "text"                # fed to the container (with -i)
      stderr: false                # the runtime's own messages differ: compare the exit
                                   # code and stdout only
      by_hand: "why"               # docker cannot run it here: written from its docs

`{name}` is a name of the probe's own (for containers, volumes, networks).
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .cases import EXPECTED, HERE

PROBES = HERE / "probes"
_ID = re.compile(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b")
_IPV4 = re.compile(r"\b(?!127\.)(?!0\.0\.0\.0)(?:\d{1,3}\.){3}\d{1,3}\b")
_MAC = re.compile(r"\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b")


@dataclass
class Probe:
    group: str
    name: str
    command: list[str]
    flags: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    before: list[list[str]] = field(default_factory=list)
    after: list[list[str]] = field(default_factory=list)
    stdin: str | None = None
    stderr: bool = True
    by_hand: str | None = None

    @property
    def id(self) -> str:
        return f"{self.group}/{self.name}"

    @property
    def resource(self) -> str:
        return f"probe-{self.name}"

    def fill(self, words: list[str], directory: Path) -> list[str]:
        return [w.replace("{dir}", str(directory)).replace("{name}", self.resource)
                for w in words]

    def run(self, tool: list[str], directory: Path, env: dict | None = None) -> dict:
        """Run under `tool` (["docker"] or berth's command line), which `translate`
        turns docker's words into; the normalized result."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in self.files.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(text)
        for words in self.before:
            subprocess.run(tool + translate(tool, self.fill(words, directory)), env=env,
                           capture_output=True, check=True, timeout=120)
        try:
            argv = translate(tool, ["run", "--rm"] + self.fill(self.flags, directory) +
                             ["conformance-base:1"] + self.fill(self.command, directory))
            done = subprocess.run(tool + argv, input=self.stdin, capture_output=True, text=True,
                                  env=env, timeout=120)
        finally:
            for words in self.after:
                subprocess.run(tool + translate(tool, self.fill(words, directory)), env=env,
                               capture_output=True, timeout=120)
        out = {"exit": done.returncode, "stdout": normalize(done.stdout)}
        if self.stderr:
            out["stderr"] = normalize(done.stderr)
        return out


def translate(tool: list[str], words: list[str]) -> list[str]:
    """docker's words for berth: `run ...` is `container run ...`, and so on."""
    if tool and Path(tool[0]).name == "docker":
        return words
    if words and words[0] in ("run", "create", "rm", "start", "stop", "kill", "exec", "inspect",
                              "cp", "commit", "export", "diff", "rename", "update", "wait",
                              "logs", "attach", "port", "top"):
        return ["container"] + words
    return words


def normalize(text: str) -> str:
    text = _ID.sub("<id>", text)
    text = _MAC.sub("<mac>", text)
    return _IPV4.sub("<ip>", text)


def load_probes() -> list[Probe]:
    probes = []
    for path in sorted(PROBES.glob("*.yaml")):
        for name, raw in (yaml.safe_load(path.read_text()) or {}).items():
            probes.append(Probe(group=path.stem, name=name, **raw))
    return probes


def expected(group: str) -> dict:
    path = EXPECTED / f"probes-{group}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def write_expected(group: str, values: dict) -> None:
    (EXPECTED / f"probes-{group}.json").write_text(
        json.dumps(dict(sorted(values.items())), indent=1, sort_keys=True) + "\n")
