"""The Dockerfile conformance cases (cases/*.yaml) and the base image they build on.

A case is a Dockerfile, the files of its context and the build's options:

    copy-chmod:
      dockerfile: |
        FROM base
        COPY --chmod=0640 a.txt /a.txt
      context: {a.txt: "hello\\n", run.sh: {content: "...", mode: 0o755}, link: {symlink: a.txt}}
      args: {NAME: value}        # --build-arg
      target: stage              # --target
      secrets: {tok: "value"}    # --secret id=tok,src=FILE (FILE holds the value)
      ssh: true                  # --ssh default (an ssh-agent is started for the build)
      fails: true                # the build must fail
      by_hand: "why"             # docker 20.10 cannot build it: expected/ holds what
                                 # docker's reference says, written by hand

`FROM base` names the suite's base image: a static busybox root (see
tests.helpers.busybox_rootfs) imported with CMD ["sh"] and a PATH, the same in docker
and in berth.
"""
from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
EXPECTED = HERE / "expected"
BASE_CHANGES = ('CMD ["sh"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
BASE_REF = "conformance-base:1"


@dataclass
class Case:
    group: str
    name: str
    dockerfile: str
    context: dict = field(default_factory=dict)
    archive: dict = field(default_factory=dict)  # tar files made in the context: {name: {path: text}}
    args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    ssh: bool = False
    platform: str | None = None
    fails: bool = False
    by_hand: str | None = None

    @property
    def id(self) -> str:
        return f"{self.group}/{self.name}"

    def dockerfile_for(self, base_ref: str) -> str:
        """The Dockerfile with `base` naming the given base image."""
        lines = []
        for line in self.dockerfile.splitlines(keepends=True):
            words = line.split()
            if words and words[0].upper() == "FROM":
                line = " ".join(base_ref if w == "base" else w for w in words) + "\n"
            lines.append(line)
        return "".join(lines)

    def write_context(self, directory: Path, base_ref: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for name, spec in self.context.items():
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(spec, str):
                path.write_text(spec)
            elif "symlink" in spec:
                path.symlink_to(spec["symlink"])
            elif spec.get("dir"):
                path.mkdir(exist_ok=True)
            else:
                path.write_text(spec.get("content", ""))
            if isinstance(spec, dict) and "mode" in spec:
                os.chmod(path, spec["mode"])
        for name, members in self.archive.items():
            with tarfile.open(directory / name, "w") as tar:
                for member, text in members.items():
                    info = tarfile.TarInfo(member)
                    info.size, info.mode, info.mtime = len(text.encode()), 0o644, 1700000000
                    tar.addfile(info, io.BytesIO(text.encode()))
        (directory / "Dockerfile").write_text(self.dockerfile_for(base_ref))
        return directory


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES.glob("*.yaml")):
        for name, raw in (yaml.safe_load(path.read_text()) or {}).items():
            cases.append(Case(group=path.stem, name=name, **raw))
    return cases


def expected(group: str) -> dict:
    path = EXPECTED / f"{group}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def write_expected(group: str, values: dict) -> None:
    EXPECTED.mkdir(exist_ok=True)
    (EXPECTED / f"{group}.json").write_text(json.dumps(dict(sorted(values.items())), indent=1,
                                                      sort_keys=True) + "\n")
