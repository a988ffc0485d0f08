"""What a build is asked for (BuildOptions) and how it fails (BuildError)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import BerthError


class BuildError(BerthError):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class BuildOptions:
    context: str
    dockerfile: str = "Dockerfile"
    dockerfile_inline: str | None = None
    tags: list[str] = field(default_factory=list)
    args: dict[str, str | None] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    pull: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    network: str = "default"  # default (a private network with a way out), host, none, or
    # a berth network
    contexts: dict[str, str] = field(default_factory=dict)  # named contexts for COPY --from
    environ: dict[str, str] = field(default_factory=dict)  # for `--build-arg NAME` alone
