"""`${VAR}` substitution in one string; knows nothing about compose files.

Supported: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
`${VAR?error}`, `${VAR:+replacement}`, `${VAR+replacement}`, nested templates inside
the default/error/replacement text, and `$$` for a literal `$`.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

Lookup = Callable[[str], "str | None"]


class TemplateError(ValueError):
    """The template is malformed, or a required variable is missing."""


def _is_name_start(ch: str) -> bool:
    return ch == "_" or ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _is_name_char(ch: str) -> bool:
    return _is_name_start(ch) or ch.isdigit()


def _read_name(text: str, start: int) -> int:
    end = start
    while end < len(text) and _is_name_char(text[end]):
        end += 1
    return end


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` closing the `${` whose body starts at `start`, or -1."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def substitute(text: str, lookup: Lookup) -> str:
    """Return `text` with every template replaced; raise TemplateError on a bad one."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "$":
            j = text.find("$", i)
            j = len(text) if j < 0 else j
            out.append(text[i:j])
            i = j
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            if end < 0:
                raise TemplateError(f"invalid template {text!r}: unclosed '${{'")
            out.append(_braced(text[i + 2:end], lookup, text))
            i = end + 1
        elif nxt and _is_name_start(nxt):
            end = _read_name(text, i + 1)
            out.append(lookup(text[i + 1:end]) or "")
            i = end
        else:
            raise TemplateError(f"invalid template {text!r}: '$' must be followed by a "
                                "variable name or '{'; write '$$' for a literal '$'")
    return "".join(out)


def _braced(body: str, lookup: Lookup, whole: str) -> str:
    if not body or not _is_name_start(body[0]):
        raise TemplateError(f"invalid template {whole!r}: '${{{body}}}' is not a variable")
    end = _read_name(body, 0)
    name, rest = body[:end], body[end:]
    value = lookup(name)
    if not rest:
        return value or ""
    op = rest[:2] if rest[0] == ":" else rest[:1]
    arg = rest[len(op):]
    if op not in (":-", "-", ":?", "?", ":+", "+"):
        raise TemplateError(f"invalid template {whole!r}: unexpected {rest[0]!r} after {name}")
    missing = value is None or (op[0] == ":" and value == "")
    if op in (":-", "-"):
        return substitute(arg, lookup) if missing else value  # type: ignore[return-value]
    if op in (":+", "+"):
        return "" if missing else substitute(arg, lookup)
    if missing:
        message = substitute(arg, lookup)
        raise TemplateError(f"required variable {name} is missing a value"
                            + (f": {message}" if message else ""))
    return value  # type: ignore[return-value]


class Variable(NamedTuple):
    """A variable a template uses: `${NAME:?...}` requires it, `${NAME:-d}` defaults it
    to d, `${NAME:+a}` gives a when it is set."""

    name: str
    required: bool = False
    default: str = ""
    alternate: str = ""


def variables(text: str) -> list[Variable]:
    """The variables `text`'s templates use, in order (nested ones too); nothing for a
    malformed template (interpolation reports those)."""
    found: list[Variable] = []
    i = 0
    while True:
        i = text.find("$", i)
        if i < 0 or i + 1 >= len(text):
            return found
        nxt = text[i + 1]
        if nxt == "$":
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            if end < 0:
                return found
            found += _braced_variables(text[i + 2:end])
            i = end + 1
        elif _is_name_start(nxt):
            end = _read_name(text, i + 1)
            found.append(Variable(text[i + 1:end]))
            i = end
        else:
            i += 1


def _braced_variables(body: str) -> list[Variable]:
    if not body or not _is_name_start(body[0]):
        return []
    end = _read_name(body, 0)
    name, rest = body[:end], body[end:]
    if not rest:
        return [Variable(name)]
    op = rest[:2] if rest[0] == ":" else rest[:1]
    arg = rest[len(op):]
    own = {":-": Variable(name, default=arg), "-": Variable(name, default=arg),
           ":?": Variable(name, required=True), "?": Variable(name, required=True),
           ":+": Variable(name, alternate=arg), "+": Variable(name, alternate=arg)}.get(op)
    return ([own] if own else []) + variables(arg)
