"""Dockerfile parsing: directives, comments, line continuations, heredocs, JSON and
shell forms, flags, build stages, and ${VAR} substitution as the builder applies it."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import BerthError

INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
                "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
                "HEALTHCHECK", "SHELL"}
_FLAG = re.compile(r"--([a-z-]+)(?:=(\S*))?")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


class DockerfileError(BerthError):
    def __init__(self, message: str, line: int | None = None, file: str = "Dockerfile") -> None:
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")
        self.line = line


@dataclass
class Instruction:
    keyword: str
    args: str  # the text after the keyword and its flags
    line: int
    flags: dict[str, str] = field(default_factory=dict)
    heredocs: list[tuple[str, str]] = field(default_factory=list)  # (name, body)
    original: str = ""

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


def _directives(lines: list[str]) -> tuple[str, int]:
    """The escape character from `# escape=`; and the line where directives end."""
    escape = "\\"
    for index, line in enumerate(lines):
        match = re.match(r"^\s*#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$", line)
        if not match:
            return escape, index
        if match.group(1).lower() == "escape":
            if match.group(2) not in ("\\", "`"):
                raise DockerfileError(f"invalid escape character {match.group(2)!r}", index + 1)
            escape = match.group(2)
    return escape, len(lines)


def parse(text: str, file: str = "Dockerfile") -> Dockerfile:
    lines = text.replace("\r\n", "\n").split("\n")
    escape, _ = _directives(lines)
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
        flags: dict[str, str] = {}
        rest = rest.strip()
        if keyword in ("FROM", "COPY", "ADD", "RUN"):
            while rest.startswith("--"):
                word, _, rest = rest.partition(" ")
                match = _FLAG.fullmatch(word)
                if not match:
                    raise DockerfileError(f"invalid flag {word!r}", start + 1, file)
                flags[match.group(1)] = match.group(2) or ""
                rest = rest.strip()
        heredocs = []
        if keyword in ("RUN", "COPY", "ADD"):
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
                heredocs.append((name, "\n".join(body) + "\n"))
        if keyword not in ("RUN", "CMD", "ENTRYPOINT") and not rest:
            raise DockerfileError(f"{keyword} requires at least one argument", start + 1, file)
        instructions.append(Instruction(keyword, rest, start + 1, flags, heredocs,
                                        logical.strip()))
    return _stages(instructions, escape, file)


def _stages(instructions: list[Instruction], escape: str, file: str) -> Dockerfile:
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    for instr in instructions:
        if instr.keyword == "FROM":
            words = instr.args.split()
            if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
                raise DockerfileError("FROM needs IMAGE [AS NAME]", instr.line, file)
            stages.append(Stage(words[0], words[2].lower() if len(words) == 3 else None,
                                instr.line, instr.flags.get("platform")))
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


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def substitute(text: str, values: dict[str, str], escape: str = "\\") -> str:
    """${VAR}, $VAR, ${VAR:-default}, ${VAR-default}, ${VAR:+alt}, ${VAR+alt}; an escaped
    $ stays literal."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == escape and i + 1 < len(text) and text[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if text[i] == "$":
            match = _VAR.match(text, i)
            if match:
                name = match.group(1) or match.group(4)
                op, word = match.group(2), match.group(3) or ""
                value = values.get(name)
                if op in (":-", "-"):
                    missing = value is None or (op == ":-" and value == "")
                    out.append(substitute(word, values, escape) if missing else value)  # type: ignore[arg-type]
                elif op in (":+", "+"):
                    present = value is not None and (op == "+" or value != "")
                    out.append(substitute(word, values, escape) if present else "")
                else:
                    out.append(value or "")
                i = match.end()
                continue
        out.append(text[i])
        i += 1
    return "".join(out)
