"""Dockerfile parsing: directives, comments, line continuations, heredocs, JSON and
shell forms, flags and build stages (words and ${VAR}: runtime.images.shellwords)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import BerthError
from .shellwords import split_raw

INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
                "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
                "HEALTHCHECK", "SHELL"}
# the flags each instruction takes (HEALTHCHECK's are read with its arguments)
FLAGS = {"FROM": {"platform"}, "RUN": {"mount", "network", "security"},
         "COPY": {"from", "chown", "chmod", "link", "parents", "exclude"},
         "ADD": {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"}}
_FLAG = re.compile(r"--([a-z-]+)(?:=(.*))?", re.S)
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z0-9_.-]+)\2")
# `# syntax=` names the frontend image; berth's own frontend is BuildKit's dockerfile one
_OWN_FRONTEND = re.compile(r"^(docker\.io/)?docker/dockerfile(-upstream)?(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$")


class DockerfileError(BerthError):
    def __init__(self, message: str, line: int | None = None, file: str = "Dockerfile") -> None:
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")
        self.line = line


@dataclass
class Heredoc:
    name: str
    body: str
    expand: bool = True  # an unquoted delimiter: $VAR in the body is expanded (COPY)


@dataclass
class Instruction:
    keyword: str
    args: str  # the text after the keyword and its flags
    line: int
    flags: dict[str, list[str]] = field(default_factory=dict)  # raw values, not yet expanded
    heredocs: list[Heredoc] = field(default_factory=list)
    original: str = ""

    def flag(self, name: str) -> str | None:
        """The flag's value (the last one given); "" for a flag given without one."""
        values = self.flags.get(name)
        return values[-1] if values else None

    def json_args(self) -> list[str] | None:
        """The exec form's list, or None for the shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None


@dataclass
class Stage:
    base: str
    name: str | None
    line: int
    platform: str | None = None
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    global_args: list[Instruction]  # ARGs before the first FROM
    stages: list[Stage]
    escape: str = "\\"
    checks: str = ""  # the `# check=` directive (berth runs no build checks)


def _directives(lines: list[str], file: str) -> dict[str, tuple[str, int]]:
    """The parser directives at the top (`# escape=`, `# syntax=`, `# check=`): they end
    at the first line that is not one, blank lines and comments included."""
    found: dict[str, tuple[str, int]] = {}
    for index, line in enumerate(lines):
        match = re.match(r"^\s*#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$", line)
        if not match or not match.group(2):
            break
        name = match.group(1).lower()
        if name in found:
            raise DockerfileError(f"only one {name} directive can be used", index + 1, file)
        found[name] = (match.group(2), index + 1)
    escape, line = found.get("escape", ("\\", 0))
    if escape not in ("\\", "`"):
        raise DockerfileError(f"invalid escape character {escape!r} (use \\ or `)", line, file)
    syntax, line = found.get("syntax", ("", 0))
    if syntax and not _OWN_FRONTEND.match(syntax):
        raise DockerfileError(f"# syntax={syntax}: berth builds with its own Dockerfile "
                              "frontend (docker/dockerfile) and runs no other frontend image",
                              line, file)
    return found


def _split_flags(keyword: str, rest: str, line: int, file: str) -> tuple[dict[str, list[str]], str]:
    flags: dict[str, list[str]] = {}
    allowed = FLAGS.get(keyword, set())
    while rest.startswith("--") and allowed:
        word = split_raw(rest)[0]
        rest = rest[len(word):].strip()
        match = _FLAG.fullmatch(word)
        if not match:
            raise DockerfileError(f"{keyword}: invalid flag {word!r}", line, file)
        name = match.group(1)
        if name not in allowed:
            known = ", ".join(f"--{f}" for f in sorted(allowed))
            raise DockerfileError(f"{keyword}: unknown flag --{name} (it takes {known})", line, file)
        if name not in ("mount", "exclude") and name in flags:
            raise DockerfileError(f"{keyword}: --{name} given twice", line, file)
        flags.setdefault(name, []).append(match.group(2) if match.group(2) is not None else "")
    return flags, rest


def parse(text: str, file: str = "Dockerfile") -> Dockerfile:
    lines = text.replace("\r\n", "\n").split("\n")
    directives = _directives(lines, file)
    escape = directives.get("escape", ("\\", 0))[0]
    instructions: list[Instruction] = []
    index = 0
    while index < len(lines):
        start = index
        line = lines[index]
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        logical = line.rstrip()
        while logical.endswith(escape) and index <= len(lines):
            logical = logical[:-1]
            while index < len(lines) and (not lines[index].strip() or
                                          lines[index].lstrip().startswith("#")):
                index += 1  # comments and blank lines inside a continuation vanish
            if index >= len(lines):
                break
            logical += lines[index].rstrip()
            index += 1
        keyword, _, rest = logical.strip().partition(" ")
        keyword = keyword.upper()
        if keyword not in INSTRUCTIONS:
            raise DockerfileError(f"unknown instruction: {keyword}", start + 1, file)
        flags, rest = _split_flags(keyword, rest.strip(), start + 1, file)
        heredocs = []
        if keyword in ("RUN", "COPY", "ADD") and not rest.startswith("["):
            for match in _HEREDOC.finditer(rest):
                strip_tabs, name = match.group(1) == "-", match.group(3)
                body = []
                while True:
                    if index >= len(lines):
                        raise DockerfileError(f"heredoc {name} is not terminated", start + 1, file)
                    current = lines[index]
                    index += 1
                    if (current.lstrip("\t") if strip_tabs else current) == name:
                        break
                    body.append(current.lstrip("\t") if strip_tabs else current)
                heredocs.append(Heredoc(name, "".join(f"{b}\n" for b in body),
                                        expand=not match.group(2)))
        if keyword not in ("RUN", "CMD", "ENTRYPOINT") and not rest:
            raise DockerfileError(f"{keyword} requires at least one argument", start + 1, file)
        instructions.append(Instruction(keyword, rest, start + 1, flags, heredocs,
                                        logical.strip()))
    dockerfile = _stages(instructions, escape, file)
    dockerfile.checks = directives.get("check", ("", 0))[0]
    return dockerfile


def _stages(instructions: list[Instruction], escape: str, file: str) -> Dockerfile:
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    for instr in instructions:
        if instr.keyword == "FROM":
            words = instr.args.split()
            if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
                raise DockerfileError("FROM needs IMAGE [AS NAME]", instr.line, file)
            name = words[2].lower() if len(words) == 3 else None
            if name is not None and not re.fullmatch(r"[a-z][a-z0-9_.-]*", name):
                raise DockerfileError(f"invalid stage name {words[2]!r}", instr.line, file)
            stages.append(Stage(words[0], name, instr.line, instr.flag("platform")))
        elif not stages:
            if instr.keyword != "ARG":
                raise DockerfileError(f"{instr.keyword} before the first FROM "
                                      "(only ARG may come first)", instr.line, file)
            global_args.append(instr)
        else:
            stages[-1].instructions.append(instr)
    if not stages:
        raise DockerfileError("no FROM instruction", None, file)
    return Dockerfile(global_args, stages, escape)
