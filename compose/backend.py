"""The one interface between the compose layer and the runtime.

The compose layer decides; the backend does. `Backend` lists what it needs; the
`RuntimeBackend` below implements it with berth's runtime. Nothing else in compose/
imports the runtime's container, network or image modules.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import ContextManager, Iterator, Protocol

from runtime.create import RunOptions
from common.errors import BerthError

# docker compose's labels, so that tools that know them read berth's objects too
PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"
CONFIG_HASH = "com.docker.compose.config-hash"
CONFIG_FILES = "com.docker.compose.project.config_files"
WORKING_DIR = "com.docker.compose.project.working_dir"
DEPENDS_ON = "com.docker.compose.depends_on"
IMAGE = "com.docker.compose.image"
NETWORK = "com.docker.compose.network"
VOLUME = "com.docker.compose.volume"
VERSION = "com.docker.compose.version"
BERTH_VERSION = "2.0.0-berth"

_WAKE_EVENTS = ("start", "die", "health_status", "gone", "restart")


class DependencyFailed(BerthError):
    """A dependency did not reach the state its dependent waits for."""


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    labels: dict[str, str]
    status: str  # created, running, restarting, paused, exited, dead
    exit_code: int | None
    health: str | None  # starting, healthy, unhealthy, or None without a healthcheck
    image: str
    image_id: str
    command: list[str]
    created: float
    started: float
    finished: float
    status_text: str = ""
    ports: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def service(self) -> str:
        return self.labels.get(SERVICE, "")

    @property
    def number(self) -> int:
        return int(self.labels.get(NUMBER, "0") or 0)

    @property
    def oneoff(self) -> bool:
        return self.labels.get(ONEOFF) == "True"

    @property
    def config_hash(self) -> str:
        return self.labels.get(CONFIG_HASH, "")

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting", "paused")


@dataclass(frozen=True)
class ResourceInfo:
    """A network or volume."""

    name: str
    labels: dict[str, str]


class Backend(Protocol):
    def containers(self, project: str, all: bool = True) -> list[ContainerInfo]: ...
    def container(self, ref: str) -> ContainerInfo: ...
    def create(self, image: str, options: RunOptions) -> ContainerInfo: ...
    def start(self, cid: str) -> None: ...
    def stop(self, cid: str, timeout: float | None) -> None: ...
    def kill(self, cid: str, signal: str) -> None: ...
    def restart(self, cid: str, timeout: float | None = None) -> None: ...
    def remove(self, cid: str, force: bool = False, volumes: bool = False) -> None: ...
    def pause(self, cid: str, pause: bool) -> None: ...
    def wait_until(self, cid: str, condition: str, timeout: float | None = None) -> ContainerInfo: ...
    def wait_exit(self, cid: str) -> int: ...
    def logs(self, cid: str, **kwargs) -> Iterator: ...
    def mounts(self, cid: str) -> list: ...
    def project_lock(self, project: str) -> ContextManager[None]: ...
    def anonymous_volumes(self, cid: str) -> dict[str, str]: ...
    def networks(self, project: str) -> list[ResourceInfo]: ...
    def network_exists(self, name: str) -> bool: ...
    def create_network(self, name: str, labels: dict[str, str], *, subnet: str | None,
                       gateway: str | None, ip_range: str | None, internal: bool) -> None: ...
    def remove_network(self, name: str) -> None: ...
    def volumes(self, project: str) -> list[ResourceInfo]: ...
    def volume_path(self, name: str) -> str | None: ...
    def create_volume(self, name: str | None, labels: dict[str, str]) -> str: ...
    def remove_volume(self, name: str) -> None: ...
    def image_id(self, ref: str) -> str | None: ...
    def remove_image(self, ref: str) -> None: ...
    def pull(self, ref: str, platform: str | None, progress) -> str: ...
    def sync_files(self, cid: str, changes: list[tuple[str | None, str]]) -> bool: ...
    def exec_wait(self, cid: str, argv: list[str], user: str | None, workdir: str | None,
                  env: list[str], privileged: bool = False) -> int: ...
    def build(self, options, output) -> str: ...


class RuntimeBackend:
    """The Backend on berth's own runtime."""

    def __init__(self, paths) -> None:
        from runtime.containers import Containers
        from runtime.network.api import Networks

        self.paths = paths
        self.api = Containers(paths)
        self.nets = Networks(paths)

    # --- containers --------------------------------------------------------------------

    def _info(self, container) -> ContainerInfo:
        state = container.state
        endpoints = self.nets.endpoints(container.id) if container.running else None
        ports = [f"{p.host_ip or '0.0.0.0'}:{p.host_port}->{p.container_port}/{p.protocol}"
                 for p in (endpoints.ports if endpoints else [])]
        return ContainerInfo(
            id=container.id, name=container.name, labels=dict(container.spec.labels),
            status=container.status.value, exit_code=state.exit_code,
            health=state.health.status if state.health else None, image=container.spec.image,
            image_id=container.spec.image_id, command=list(container.spec.args),
            created=state.created_at, started=state.started_at, finished=state.finished_at,
            status_text=container.describe_status(), ports=ports, error=state.error)

    def containers(self, project: str, all: bool = True) -> list[ContainerInfo]:
        return [self._info(c) for c in self.api.list(all=all, labels={PROJECT: project})]

    def container(self, ref: str) -> ContainerInfo:
        return self._info(self.api.get(ref))

    def create(self, image: str, options: RunOptions) -> ContainerInfo:
        return self._info(self.api.create(self.api.images.get(image), options))

    def start(self, cid: str) -> None:
        self.api.start(cid)

    def stop(self, cid: str, timeout: float | None) -> None:
        self.api.stop(cid, timeout)

    def kill(self, cid: str, signal: str) -> None:
        self.api.kill(cid, signal)

    def restart(self, cid: str, timeout: float | None = None) -> None:
        self.api.restart(cid, timeout)

    def remove(self, cid: str, force: bool = False, volumes: bool = False) -> None:
        self.api.remove(cid, force=force, volumes=volumes)

    def pause(self, cid: str, pause: bool) -> None:
        self.api.pause(cid, pause)

    def wait_until(self, cid: str, condition: str, timeout: float | None = None) -> ContainerInfo:
        """Block until a container is started, healthy or exited as `condition` says,
        woken by its monitor's events (no polling); raise DependencyFailed when it can
        no longer get there."""
        from runtime import client

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            stream = client.events(self.paths.monitor_socket(cid))
            try:
                next(stream)  # subscribed first, then look: no change can slip in between
            except (client.MonitorGone, StopIteration):
                stream = None
            try:
                info = self.container(cid)
                verdict = _judge(info, condition)
                if verdict is True:
                    return info
                if verdict is False:
                    raise DependencyFailed(_failure(info, condition))
                if deadline is not None and time.monotonic() > deadline:
                    raise DependencyFailed(f"container {info.name} did not become "
                                           f"{condition.removeprefix('service_')} in {timeout:g}s")
                if stream is None:
                    time.sleep(0.01)  # between its monitor's exit and the final state
                    continue
                for event in stream:
                    if event.get("event") in _WAKE_EVENTS:
                        break
            finally:
                if stream is not None:
                    stream.close()

    def wait_exit(self, cid: str) -> int:
        return self.api.wait(cid)

    def logs(self, cid: str, **kwargs) -> Iterator:
        return self.api.logs(cid, **kwargs)

    def mounts(self, cid: str) -> list:
        return list(self.api.get(cid).spec.mounts)

    def project_lock(self, project: str) -> ContextManager[None]:
        """Held while a command changes a project (up, down): they take turns."""
        from runtime.fsutil import locked

        return locked(self.paths.run / "compose" / f"{project}.lock")

    def anonymous_volumes(self, cid: str) -> dict[str, str]:
        """Target -> name of each anonymous volume the container mounts."""
        from runtime.volumes import VolumeNotFound

        found = {}
        for mount in self.api.get(cid).spec.mounts:
            try:
                if mount.volume and self.api.volumes.get(mount.volume).anonymous:
                    found[mount.target] = mount.volume
            except VolumeNotFound:
                continue
        return found

    # --- networks, volumes, images -----------------------------------------------------

    def networks(self, project: str) -> list[ResourceInfo]:
        return [ResourceInfo(n.name, n.labels) for n in self.nets.list({PROJECT: project})]

    def network_exists(self, name: str) -> bool:
        return self.nets.exists(name)

    def create_network(self, name: str, labels: dict[str, str], *, subnet: str | None,
                       gateway: str | None, ip_range: str | None, internal: bool) -> None:
        self.nets.create(name, subnet=subnet, gateway=gateway, ip_range=ip_range,
                         internal=internal, labels=labels, exist_ok=True)

    def remove_network(self, name: str) -> None:
        self.nets.remove(name)

    def volumes(self, project: str) -> list[ResourceInfo]:
        return [ResourceInfo(v.name, v.labels) for v in self.api.volumes.list()
                if v.labels.get(PROJECT) == project]

    def volume_path(self, name: str) -> str | None:
        from runtime.volumes import VolumeNotFound

        try:
            return str(self.api.volumes.get(name).path)
        except VolumeNotFound:
            return None

    def create_volume(self, name: str | None, labels: dict[str, str]) -> str:
        return self.api.volumes.create(name, labels, exist_ok=True).name

    def remove_volume(self, name: str) -> None:
        self.api.volumes.remove(name)

    def image_id(self, ref: str) -> str | None:
        from runtime.images.store import ImageNotFound

        try:
            return self.api.images.get(ref).id
        except ImageNotFound:
            return None

    def remove_image(self, ref: str) -> None:
        in_use = {c.spec.image_id for c in self.api.list()}
        self.api.images.remove(ref, in_use)

    def sync_files(self, cid: str, changes: list[tuple[str | None, str]]) -> bool:
        """Write host files straight into a running container's filesystem (no tar or
        shell needed in the image), owned by the container's user; (None, path) deletes.
        False if the container is not running."""
        from runtime.filecopy import copy_tree_in, remove_path
        from runtime.users import UserError, resolve_in

        container = self.api.get(cid)
        if container.status.value != "running" or not container.state.pid:
            return False
        root = f"/proc/{container.state.pid}/root"
        try:
            user = resolve_in(root, container.spec.user)
            uid, gid = user.uid, user.gid
        except UserError:
            uid, gid = 0, 0
        for host, inner in changes:
            if host is None:
                remove_path(root, inner)
            else:
                copy_tree_in(root, inner, host, uid, gid)
        return True

    def exec_wait(self, cid: str, argv: list[str], user: str | None, workdir: str | None,
                  env: list[str], privileged: bool = False) -> int:
        """Run a command in the container to its end, output discarded; its exit code."""
        import os

        from runtime.nsexec import wait_relay

        null = os.open(os.devnull, os.O_RDWR)
        try:
            relay, err_fd, _ = self.api.exec_process(cid, argv, user=user, workdir=workdir,
                                                     env=env, stdio=(null, null, null),
                                                     privileged=privileged)
        finally:
            os.close(null)
        return wait_relay(relay, err_fd)[0]

    def registry(self):
        import os

        from runtime import settings
        from runtime.images.registry import Registry

        conf = settings.load(self.paths)
        return Registry(self.api.images, dict(os.environ), conf.insecure_registries,
                        conf.max_concurrent_downloads)

    def pull(self, ref: str, platform: str | None, progress) -> str:
        return self.registry().pull(ref, platform, progress).id

    def build(self, options, output) -> str:
        """Build an image (runtime.images.build.BuildOptions); its id."""
        from runtime.images.build import Builder

        registry = self.registry()
        builder = Builder(self.api, pull=lambda name: registry.pull(name), output=output)
        return builder.build(options).id


def _judge(info: ContainerInfo, condition: str) -> bool | None:
    """True: reached; False: can no longer reach it; None: not yet."""
    if condition == "service_completed_successfully":
        if info.status in ("exited", "dead"):
            return info.exit_code == 0
        return None
    if info.status in ("exited", "dead"):
        return False
    if condition == "service_healthy":
        if info.health is None or info.health == "unhealthy":
            return False
        return True if info.health == "healthy" else None
    return True if info.status in ("running", "paused") else None


def _failure(info: ContainerInfo, condition: str) -> str:
    if condition == "service_healthy" and info.health is None and info.status == "running":
        return f"container {info.name} has no healthcheck, so it can never be healthy"
    if info.health == "unhealthy":
        return f"container {info.name} is unhealthy"
    if condition == "service_completed_successfully":
        return f"container {info.name} exited with code {info.exit_code}"
    detail = f": {info.error}" if info.error else ""
    return f"container {info.name} exited with code {info.exit_code}{detail}"
