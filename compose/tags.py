"""The markers the YAML tags `!reset` and `!override` leave in a loaded tree, for the
merge stage; kept apart from the YAML reader (compose.yamlsrc) so that the stages that
only look for them load no YAML library."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Reset:
    """`!reset`: drop what earlier files set here."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "!reset"


RESET = Reset()


@dataclass(frozen=True)
class Override:
    """`!override VALUE`: replace what earlier files set here instead of merging."""

    value: Any
