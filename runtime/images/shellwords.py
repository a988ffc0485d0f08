"""Words and `$VAR` expansion in a Dockerfile, as BuildKit's builder reads them (not as
a shell runs them: no globbing, no command substitution).

Quotes group and are removed: inside '...' everything is literal; inside "..." `$`
expands and the escape character escapes only `"`, `$` and itself. Outside quotes the
escape character (backslash, or the backtick `# escape=` chose) makes the next character
literal. `$NAME`, `${NAME}` and the modifiers `${NAME:-word}`, `-`, `:+`, `+`, `:?`, `?`,
`#`, `##`, `%`, `%%`, `/pattern/replacement` and `//` are expanded.
"""
from __future__ import annotations

import re

from ..errors import BerthError


class WordError(BerthError, ValueError):
    """A malformed word: an unterminated quote or a bad substitution."""


_SPECIAL = set("@*#?-$!0")


class _Scanner:
    def __init__(self, text: str, values: dict[str, str], escape: str, quotes: bool = True) -> None:
        self.text, self.pos, self.values, self.escape = text, 0, values, escape
        self.quotes = quotes  # False: quotes are plain characters (a heredoc's body)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    # --- one word, or words -------------------------------------------------------------

    def run(self, stop: str = "", raw_escapes: bool = False) -> tuple[str, list[str]]:
        """(the text with quotes and escapes processed, its whitespace-separated words),
        up to `stop` (consumed) or the end."""
        result: list[str] = []
        words = _Words()
        while self.peek():
            ch = self.peek()
            if stop and ch == stop:
                self.next()
                return "".join(result), words.done()
            if ch == "$":
                value = self.dollar()
                result.append(value)
                words.add(value)
            elif ch == "'" and self.quotes:
                value = self.single_quoted()
                result.append(value)
                words.add_raw(value)
            elif ch == '"' and self.quotes:
                value = self.double_quoted()
                result.append(value)
                words.add_raw(value)
            else:
                ch = self.next()
                if ch == self.escape:
                    if raw_escapes:
                        words.add_raw(ch)
                        result.append(ch)
                    ch = self.next()
                    if not ch:
                        break
                    words.add_raw(ch)
                else:
                    words.add(ch)
                result.append(ch)
        if stop:
            raise WordError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.done()

    def single_quoted(self) -> str:
        self.next()
        end = self.text.find("'", self.pos)
        if end < 0:
            raise WordError("unexpected end of statement while looking for matching single-quote")
        value, self.pos = self.text[self.pos:end], end + 1
        return value

    def double_quoted(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise WordError("unexpected end of statement while looking for matching "
                                "double-quote")
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.escape:
                if not self.peek():
                    continue
                if self.peek() in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    # --- $ ------------------------------------------------------------------------------

    def name(self) -> str:
        ch = self.peek()
        if ch.isdigit():
            start = self.pos
            while self.peek().isdigit():
                self.next()
            return self.text[start:self.pos]
        if ch and ch in _SPECIAL:
            return self.next()
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.next()
        return self.text[start:self.pos]

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            return self.values.get(name, "") if name else "$"
        self.next()
        if not self.peek():
            raise WordError("syntax error: missing '}'")
        if self.peek() in "{}:":
            raise WordError("syntax error: bad substitution")
        name = self.name()
        op = self.next()
        value, is_set = self.values.get(name, ""), name in self.values
        if op == "}":
            return value
        if not op:
            raise WordError("syntax error: missing '}'")
        null_is_unset = op == ":"
        if null_is_unset:
            op = self.next()
        if op in ("-", "+", "?", "#", "%"):
            word, _ = self._until("}", raw_escapes=op in "#%")
            missing = not is_set or (null_is_unset and value == "")
            if op == "-":
                return word if missing else value
            if op == "+":
                return "" if missing else word
            if op == "?":
                if missing:
                    empty = "is not allowed to be " + ("unset" if not is_set else "empty")
                    raise WordError(f"{name}: {word or empty}")
                return value
            greedy = word.startswith(op)
            return _trim(value, re.compile(_pattern(word[1:] if greedy else word)),
                         prefix=op == "#", longest=greedy)
        if op == "/" and not null_is_unset:
            every = self.peek() == "/"
            if every:
                self.next()
            pattern, _ = self._until("/", raw_escapes=True)
            replacement, _ = self._until("}", raw_escapes=True)
            regex = re.compile(_pattern(pattern))
            return regex.sub(lambda _: replacement, value, count=0 if every else 1)
        raise WordError(f"unsupported modifier ({':' if null_is_unset else ''}{op}) in "
                        "substitution")

    def _until(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        try:
            return self.run(stop, raw_escapes)
        except WordError:
            if not self.peek():
                raise WordError(f"syntax error: missing '{stop}'") from None
            raise


class _Words:
    """Splits what the scanner produces into words: unquoted whitespace separates."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.word: list[str] = []
        self.in_word = False

    def add(self, text: str) -> None:
        for ch in text:
            if ch.isspace():
                if self.in_word and self.word:
                    self.words.append("".join(self.word))
                    self.word, self.in_word = [], False
            else:
                self.add_raw(ch)

    def add_raw(self, text: str) -> None:
        self.word.append(text)
        self.in_word = True

    def done(self) -> list[str]:
        if self.word:
            self.words.append("".join(self.word))
            self.word, self.in_word = [], False
        return self.words


def _pattern(pattern: str) -> str:
    """A shell wildcard pattern (`*`, `?`, escapes) as a regular expression."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _trim(value: str, pattern: re.Pattern, prefix: bool, longest: bool) -> str:
    """`${VAR#pattern}` (a prefix) or `${VAR%pattern}` (a suffix): the shortest matching
    part removed, or the longest with `##`/`%%`."""
    cuts = range(len(value) + 1)
    if prefix == longest:
        cuts = range(len(value), -1, -1)
    for cut in cuts:
        if pattern.fullmatch(value[:cut] if prefix else value[cut:]):
            return value[cut:] if prefix else value[:cut]
    return value


def word(text: str, values: dict[str, str], escape: str = "\\", quotes: bool = True) -> str:
    """One word: quotes removed (unless `quotes` is False), variables expanded,
    whitespace kept."""
    return _Scanner(text, values, escape, quotes).run()[0]


def words(text: str, values: dict[str, str], escape: str = "\\") -> list[str]:
    """Words split on unquoted whitespace (after expansion), quotes removed."""
    return _Scanner(text, values, escape).run()[1]


def split_raw(text: str, escape: str = "\\") -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes for a later `word()`: how
    the parser cuts `ENV a="x y" b=z` or `ARG A B=2` into name=value pairs."""
    out: list[str] = []
    current: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == escape and quote != "'" and i + 1 < len(text):
            current += [ch, text[i + 1]]
            i += 2
            continue
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch.isspace():
            if current:
                out.append("".join(current))
                current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    if current:
        out.append("".join(current))
    return out
