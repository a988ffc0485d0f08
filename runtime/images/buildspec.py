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
    platform: str | None = None  # os/arch[/variant]: the host's, or one binfmt can run
    secrets: dict[str, bytes] = field(default_factory=dict)  # RUN --mount=type=secret, by id
    ssh: dict[str, str] = field(default_factory=dict)  # RUN --mount=type=ssh: id -> agent socket
    no_cache_filter: list[str] = field(default_factory=list)  # stages built without the cache
    allow: list[str] = field(default_factory=list)  # entitlements: network.host, security.insecure
    add_hosts: list[tuple[str, str]] = field(default_factory=list)  # (name, address) for RUN
    shm_size: int | None = None  # RUN's /dev/shm
    ulimits: dict[str, list[int]] = field(default_factory=dict)  # RUN's, name -> [soft, hard]
    outputs: list[str] = field(default_factory=list)  # type=local,dest=DIR | type=tar,dest=FILE
    cache_from: list[str] = field(default_factory=list)  # type=local,src=DIR
    cache_to: str | None = None  # type=local,dest=DIR
