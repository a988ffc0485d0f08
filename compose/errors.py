"""The one error type of the compose layer: a user mistake, located as precisely as we can."""
from __future__ import annotations

from typing import Iterable

from common.errors import BerthError

Path = tuple  # a path into the compose tree: ("services", "web", "ports", 0)


def render_path(path: Iterable) -> str:
    """("services", "web", "ports", 0) -> "services.web.ports[0]"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class ComposeError(BerthError):
    """A mistake in compose input. The CLI prints `str(err)` and exits 1."""

    def __init__(self, message: str, *, file: str | None = None, path: Path = (),
                 line: int | None = None, col: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.path = tuple(path)
        self.line = line
        self.col = col

    def located(self, file: str | None, line: int | None = None, col: int | None = None) -> "ComposeError":
        """Fill in the location where it is still unknown."""
        if self.file is None:
            self.file = file
        if self.line is None:
            self.line, self.col = line, col
        return self

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.col is not None:
                    where += f":{self.col}"
            where += ": "
        what = f"{render_path(self.path)}: " if self.path else ""
        return f"{where}{what}{self.message}"
