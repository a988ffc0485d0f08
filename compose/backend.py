"""The one seam between the compose layer and what runs containers: the Backend protocol.

The compose layer decides; a backend does. Everything crossing the seam is a compose-side
type (the model, ContainerInfo, the requests below): a backend converts them to its own.
compose/adapter/ holds the backend on berth's own runtime; tests use an in-memory one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ContextManager, Iterator, Mapping, Protocol

from .errors import ComposeError

if TYPE_CHECKING:  # annotations only: the seam's users need not load the model
    from .devices import HostGpus
    from .labels import ContainerInfo, ResourceInfo
    from .model import Project, Service


class DependencyFailed(ComposeError):
    """A dependency did not reach the state its dependent waits for."""


@dataclass(frozen=True)
class ContainerRequest:
    """One container to create: `service` as this container runs it (for `run`, the
    service with the command line's changes), and what the plan decided for it."""

    service: Service
    name: str
    number: int
    labels: Mapping[str, str]  # compose's labels, the config hash among them
    inherited_volumes: Mapping[str, str] = field(default_factory=dict)  # target -> volume
    oneoff: bool = False  # `run`: its own name only (no aliases, no static address)
    use_aliases: bool = False  # `run --use-aliases`: the service's names too
    tty: bool | None = None  # None: as the service says
    stdin_open: bool | None = None
    auto_remove: bool = False


@dataclass(frozen=True)
class NetworkRequest:
    name: str
    labels: Mapping[str, str]
    subnet: str | None = None
    gateway: str | None = None
    ip_range: str | None = None
    internal: bool = False


@dataclass(frozen=True)
class BuildRequest:
    no_cache: bool = False
    pull: bool = False
    args: Mapping[str, str | None] = field(default_factory=dict)  # --build-arg, on top


@dataclass(frozen=True)
class ImageConfig:
    """What compose reads of an image's configuration."""

    exposed_ports: tuple[str, ...] = ()  # EXPOSE, as "80/tcp"


@dataclass(frozen=True)
class ExecRequest:
    argv: list[str]
    user: str | None = None
    workdir: str | None = None
    env: list[str] = field(default_factory=list)
    privileged: bool = False
    tty: bool = False
    stdio: tuple[int, int, int] | None = None  # fds for the process's stdin/out/err


class LogLine(Protocol):
    time: str  # RFC 3339, UTC
    stream: str  # stdout or stderr
    text: str

    @property
    def timestamp(self) -> float: ...


# what an attachment yields: output, an error message, or the exit code
STDOUT, STDERR, ERROR, EXIT = "stdout", "stderr", "error", "exit"


class Attachment(Protocol):
    """A live connection to a container's stdio (select()-able)."""

    def fileno(self) -> int: ...
    def send(self, data: bytes) -> None: ...
    def close_stdin(self) -> None: ...
    def resize(self, rows: int, cols: int) -> None: ...
    def has_frames(self) -> bool: ...
    def read_frames(self) -> Iterator[tuple[str, bytes]]: ...
    def close(self) -> None: ...


class Process(Protocol):
    """A process started in a running container."""

    pid: int  # a local process standing for it: signals sent to it are passed on
    terminal: int  # the terminal's master fd with `tty`, else -1

    def resize(self, rows: int, cols: int) -> None: ...  # its terminal
    def wait(self) -> tuple[int, str | None]: ...  # exit code, and why it didn't start


# a pull's or push's progress: layer digest, status, bytes done, bytes in all
LayerProgress = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class ContainerStats:
    cpu_ns: int
    memory: int
    memory_limit: int
    pids: int


@dataclass(frozen=True)
class PastEvent:
    """A container's event from the record the backend keeps (`events --since`)."""
    cid: str
    name: str
    service: str
    event: dict  # as `events` yields them: {"event": "die", "time": 1.5, "exit_code": 3}


class Backend(Protocol):
    # --- what exists ---------------------------------------------------------------------
    def containers(self, project: str | None, all: bool = True) -> list[ContainerInfo]: ...
    def container(self, ref: str) -> ContainerInfo: ...
    def networks(self, project: str) -> list[ResourceInfo]: ...
    def network_exists(self, name: str) -> bool: ...
    def volumes(self, project: str) -> list[ResourceInfo]: ...
    def volume_exists(self, name: str) -> bool: ...
    def image_id(self, ref: str) -> str | None: ...
    def image_config(self, ref: str) -> ImageConfig | None: ...  # None: not present here
    def last_pulled(self, ref: str) -> float | None: ...  # when `pull` last got it (unix time)
    def history(self, project: str, since: float,
                until: float | None) -> list[PastEvent]: ...  # oldest first

    # --- what it can do (preflight) ------------------------------------------------------
    def check_service(self, project: Project, service: Service) -> None: ...
    def port_taken(self, host_ip: str, port: int, protocol: str) -> str | None: ...
    def host_gpus(self) -> HostGpus: ...

    # --- changes -------------------------------------------------------------------------
    def project_lock(self, project: str) -> ContextManager[None]: ...
    def create_network(self, request: NetworkRequest) -> None: ...
    def remove_network(self, name: str) -> None: ...
    def create_volume(self, name: str | None, labels: Mapping[str, str]) -> str: ...
    def remove_volume(self, name: str) -> None: ...
    def create(self, project: Project, request: ContainerRequest) -> ContainerInfo: ...
    def start(self, cid: str, attach: bool = False) -> None: ...
    def stop(self, cid: str, timeout: float | None) -> str: ...  # why it did not wait, or ""
    def kill(self, cid: str, signal: str) -> None: ...
    def restart(self, cid: str, timeout: float | None = None) -> None: ...
    def remove(self, cid: str, force: bool = False, volumes: bool = False) -> None: ...
    def pause(self, cid: str, pause: bool) -> None: ...

    # --- waiting -------------------------------------------------------------------------
    def wait_until(self, cid: str, condition: str,
                   timeout: float | None = None) -> ContainerInfo: ...
    def wait_exit(self, cid: str) -> int: ...
    def wait_finished(self, cid: str) -> None: ...

    # --- images --------------------------------------------------------------------------
    def pull(self, ref: str, platform: str | None,
             progress: LayerProgress | None = None) -> str: ...
    def push(self, ref: str, progress: LayerProgress | None = None) -> str: ...
    def build(self, project: Project, service: Service, request: BuildRequest,
              output: Callable[[str], None]) -> str: ...
    def check_build(self, project: Project, service: Service) -> list[str]: ...  # warnings
    def remove_image(self, ref: str) -> None: ...
    def prune_images(self) -> None: ...
    def image_digest(self, ref: str) -> str: ...  # what its registry pins it to
    def push_blobs(self, ref: str, blobs: Mapping[str, bytes], manifest: bytes,
                   media_type: str) -> str: ...  # an OCI artifact; its manifest's digest

    # --- containers as files and images ----------------------------------------------------
    def export(self, cid: str, dest: str) -> None: ...  # its filesystem as a tar
    def commit(self, cid: str, ref: str | None, author: str, message: str,
               changes: list[str], pause: bool) -> str: ...  # the new image's id

    # --- inside containers ---------------------------------------------------------------
    def exec(self, cid: str, request: ExecRequest) -> Process: ...
    def attach(self, cid: str, stdin: bool) -> Attachment: ...
    def logs(self, cid: str, tail: int | None = None, since: float | None = None,
             follow: bool = False) -> Iterator[LogLine]: ...
    def events(self, cid: str) -> Iterator[dict]: ...
    def stats(self, cid: str) -> ContainerStats: ...
    def processes(self, cid: str) -> list[int]: ...
    def copy_in(self, cid: str, source: str, dest: str, archive: bool = False,
                follow_link: bool = False) -> None: ...
    def copy_out(self, cid: str, source: str, dest: str) -> None: ...
    def sync_files(self, cid: str, changes: list[tuple[str | None, str]]) -> bool: ...
