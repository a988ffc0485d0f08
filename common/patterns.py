"""`.dockerignore`: which files of a build context a build may use.

Patterns are relative to the context root: `*` and `?` stay within a path component,
`**` spans any number of them, a leading `!` re-includes, and the last pattern that
matches a path decides. A pattern matching a directory covers everything inside it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass


def _regex(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + "(?:/.*)?$")


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern
    negate: bool


class Ignore:
    def __init__(self, patterns: list[str]) -> None:
        self.rules = []
        for raw in patterns:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = line[1:].strip() if negate else line
            line = os.path.normpath(line.lstrip("/")) if line.lstrip("/") else "."
            if line == ".":
                continue
            self.rules.append(Rule(_regex(line), negate))

    @classmethod
    def from_context(cls, context: str) -> "Ignore":
        try:
            with open(os.path.join(context, ".dockerignore")) as handle:
                return cls(handle.read().splitlines())
        except FileNotFoundError:
            return cls([])

    def ignored(self, rel: str) -> bool:
        """Whether a context-relative path (e.g. `src/app.py`) is excluded."""
        rel = rel.strip("/")
        excluded = False
        for rule in self.rules:
            if rule.regex.match(rel):
                excluded = not rule.negate
        return excluded

    def may_contain_included(self, rel_dir: str) -> bool:
        """Whether an excluded directory could still hold re-included files (a later `!`)."""
        return any(rule.negate for rule in self.rules)
