"""The adapter: the Backend (compose.backend) on berth's own runtime. The only part of
the compose layer that imports the runtime (besides the docker-like commands, which use
its public facade, runtime.api)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .runtime_backend import RuntimeBackend

__all__ = ["RuntimeBackend"]


def __getattr__(name: str):
    """RuntimeBackend on first use: its parts (attachment) load without the whole of it."""
    if name == "RuntimeBackend":
        from .runtime_backend import RuntimeBackend

        return RuntimeBackend
    raise AttributeError(name)
