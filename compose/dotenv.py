"""Parse `.env` files (and a service's `env_file`) with compose's syntax.

`KEY=value`, `KEY: value`, `export KEY=value`, comments, blank lines, single quotes
(literal, may span lines, `\\'` escapes a quote), double quotes (escapes, may span
lines), inline ` # comments` after unquoted values, and interpolation of `${VAR}` in
unquoted and double-quoted values: first from keys defined above in the same file,
then from `lookup`. A line with only `KEY` takes KEY from `lookup`, if it is set.
"""
from __future__ import annotations

import re
from typing import Callable

from .template import TemplateError, substitute

_KEY = re.compile(r"[A-Za-z0-9_.\-\[\]]+")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "$$", "'": "'"}


class DotenvError(ValueError):
    """A malformed line; `line` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def parse_dotenv(text: str, lookup: Callable[[str], str | None] = lambda _: None,
                 raw: bool = False) -> dict[str, str]:
    """Parse env-file text into an ordered mapping."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    values: dict[str, str] = {}

    def resolve(name: str) -> str | None:
        return values[name] if name in values else lookup(name)

    pos = 0
    line_no = 1
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        stripped = line.strip()
        start_line = line_no
        if not stripped or stripped.startswith("#"):
            pos, line_no = end + 1, line_no + 1
            continue
        if raw:
            key, sep, value = stripped.partition("=")
            if not sep:
                raise DotenvError(f"line {start_line}: expected KEY=VALUE", start_line)
            values[key.strip()] = value
            pos, line_no = end + 1, line_no + 1
            continue
        body = stripped[7:].lstrip() if stripped.startswith("export ") else stripped
        delim = min((i for i in (body.find("="), body.find(":")) if i >= 0), default=-1)
        key = (body if delim < 0 else body[:delim]).strip()
        if not _KEY.fullmatch(key):
            raise DotenvError(f"line {start_line}: unexpected character in variable name "
                              f"{key!r}", start_line)
        if delim < 0:
            inherited = lookup(key)
            if inherited is not None:
                values[key] = inherited
            pos, line_no = end + 1, line_no + 1
            continue
        # The value starts after the delimiter, within the original text (it may span lines).
        value_start = pos + line.index(body) + delim + 1
        while value_start < len(text) and text[value_start] in " \t":
            value_start += 1
        quote = text[value_start] if value_start < len(text) else ""
        try:
            if quote in ("'", '"'):
                value, after = _quoted(text, value_start, quote, start_line)
                line_no += text.count("\n", pos, after)
                rest_end = text.find("\n", after)
                rest_end = len(text) if rest_end < 0 else rest_end
                rest = text[after:rest_end].strip()
                if rest and not rest.startswith("#"):
                    raise DotenvError(f"line {start_line}: unexpected text after quoted value",
                                      start_line)
                if quote == '"':
                    value = substitute(value, resolve)
                pos = rest_end + 1
            else:
                value = text[value_start:end]
                comment = re.search(r"\s#", value)
                if comment:
                    value = value[:comment.start()]
                value = substitute(value.strip(), resolve)
                pos = end + 1
        except TemplateError as err:
            raise DotenvError(f"line {start_line}: {err}", start_line) from None
        values[key] = value
        line_no += 1
    return values


def _quoted(text: str, start: int, quote: str, line: int) -> tuple[str, int]:
    """Read a quoted value starting at text[start] == quote; return (value, index after it)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if quote == "'":
                if nxt == "'":
                    out.append("'")
                    i += 2
                    continue
                out.append(ch)
                i += 1
                continue
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise DotenvError(f"line {line}: unterminated quoted value", line)
