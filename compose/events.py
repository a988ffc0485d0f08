"""What the service API tells its caller while it works: typed events, nothing printed.

A `Step` is the progress of one object (a container, network, volume or image), as
docker compose shows it line by line; a `Note` is a message for the user; an `Output` a
line a build printed. The CLI renders them (compose.cli.progress); tests collect them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

WORKING, DONE, FAILED = "working", "done", "failed"


@dataclass(frozen=True)
class Step:
    kind: str  # Container, Network, Volume, Image
    name: str
    status: str  # Creating, Started, Stopping, ...
    state: str = WORKING  # working, done or failed

    def render(self) -> str:
        return f"{self.kind} {self.name}  {self.status}"


@dataclass(frozen=True)
class Note:
    text: str

    def render(self) -> str:
        return self.text


@dataclass(frozen=True)
class Output:
    """A line a build printed, for service `source`."""

    source: str
    text: str

    def render(self) -> str:
        return f"{self.source}  {self.text}"


Event = Union[Step, Note, Output]
Reporter = Callable[[Event], None]


def quiet(event: Event) -> None:
    """A reporter that lets everything go."""
