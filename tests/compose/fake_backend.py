"""An in-memory Backend: what the compose layer decides and does, tested without root.

Containers don't run; what they do once started is set per service with `behave`
(exit with a code, become healthy or unhealthy, fail to start), hooks and execs answer
with the code `exec_codes` says (pre_start hooks' containers too, by their command's first
word). Every change is logged in `calls`, in order, as text
(`start demo-web-1`), so tests read what happened the way they read a plan.
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Mapping

from compose.backend import (BuildRequest, ContainerRequest, ContainerStats, ExecRequest,
                             ImageConfig, NetworkRequest)
from compose.conditions import failure, judge
from compose.devices import HostGpus
from compose.backend import DependencyFailed
from compose.errors import ComposeError
from compose.labels import ContainerInfo, ResourceInfo, PROJECT, image_ref
from compose.model import Project, Service


@dataclass
class Behaviour:
    """What a service's containers do once started."""

    exit_code: int | None = None  # exits at once with this code (None: keeps running)
    health: str | None = None  # healthy or unhealthy (None: no healthcheck)
    start_error: str | None = None  # the start fails with this message
    output: list[str] = field(default_factory=list)  # its log lines


@dataclass
class FakeLine:
    time: str
    stream: str
    text: str

    @property
    def timestamp(self) -> float:
        return 0.0


@dataclass
class FakeProcess:
    pid: int
    terminal: int
    code: int

    def resize(self, rows: int, cols: int) -> None:
        pass

    def wait(self) -> tuple[int, str | None]:
        return self.code, None


class FakeBackend:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.calls: list[str] = []
        self.infos: dict[str, ContainerInfo] = {}
        self.requests: dict[str, ContainerRequest] = {}  # id -> what created it
        self.nets: dict[str, Mapping[str, str]] = {}
        self.vols: dict[str, Mapping[str, str]] = {}
        self.anonymous: set[str] = set()
        self.images: dict[str, str] = {}
        self.exposed: dict[str, tuple[str, ...]] = {}  # image ref -> its EXPOSE ports
        self.behaviours: dict[str, Behaviour] = {}
        self.exec_codes: dict[str, int] = {}  # a command's first word -> its exit code
        self.stop_notes: dict[str, str] = {}  # container name -> what stopping it says
        self.taken_ports: set[tuple[str, int, str]] = set()
        self.unpullable: set[str] = set()
        self.pulled: dict[str, float] = {}  # image ref -> when it was last pulled
        self.gpus = HostGpus()  # the host's GPUs (none)
        self.artifacts: dict[str, tuple] = {}  # ref -> (blobs, manifest, media type) pushed
        self.build_warnings: dict[str, list[str]] = {}  # service -> what `build --check` finds
        self.ids = itertools.count(1)
        self.locks: dict[str, threading.Lock] = {}

    # --- set-up for tests ----------------------------------------------------------------

    def behave(self, service: str, **behaviour) -> "FakeBackend":
        self.behaviours[service] = Behaviour(**behaviour)
        return self

    def has_image(self, ref: str) -> "FakeBackend":
        self.images[ref] = "sha256:" + hashlib.sha256(ref.encode()).hexdigest()
        return self

    def log(self, text: str) -> None:
        with self.lock:
            self.calls.append(text)

    def changes(self, verb: str | None = None) -> list[str]:
        """The calls made (those starting with `verb`)."""
        return [c for c in self.calls if verb is None or c.split()[0] == verb]

    def by_name(self, name: str) -> ContainerInfo:
        return next(info for info in self.infos.values() if info.name == name)

    def _set(self, cid: str, **changes) -> ContainerInfo:
        with self.lock:
            self.infos[cid] = replace(self.infos[cid], **changes)
            return self.infos[cid]

    # --- what exists ---------------------------------------------------------------------

    def containers(self, project: str | None, all: bool = True) -> list[ContainerInfo]:
        with self.lock:
            return [i for i in self.infos.values()
                    if (project is None and PROJECT in i.labels or i.labels.get(PROJECT) == project)
                    and (all or i.running)]

    def container(self, ref: str) -> ContainerInfo:
        with self.lock:
            for info in self.infos.values():
                if ref in (info.id, info.name):
                    return info
        raise ComposeError(f"no such container: {ref}")

    def networks(self, project: str) -> list[ResourceInfo]:
        return [ResourceInfo(n, labels) for n, labels in self.nets.items()
                if labels.get(PROJECT) == project]

    def network_exists(self, name: str) -> bool:
        return name in self.nets

    def volumes(self, project: str) -> list[ResourceInfo]:
        return [ResourceInfo(v, labels) for v, labels in self.vols.items()
                if labels.get(PROJECT) == project]

    def volume_exists(self, name: str) -> bool:
        return name in self.vols

    def image_id(self, ref: str) -> str | None:
        return self.images.get(ref)

    def image_config(self, ref: str) -> ImageConfig | None:
        if ref not in self.images:
            return None
        return ImageConfig(exposed_ports=self.exposed.get(ref, ()))

    def last_pulled(self, ref: str) -> float | None:
        return self.pulled.get(ref)

    # --- preflight -----------------------------------------------------------------------

    def check_service(self, project: Project, service: Service) -> None:
        for opt in service.security_opt:
            if opt.startswith("seccomp=") and opt != "seccomp=unconfined":
                raise ComposeError(f"security_opt {opt!r}: profile files are not supported")

    def host_gpus(self) -> HostGpus:
        return self.gpus

    def port_taken(self, host_ip: str, port: int, protocol: str) -> str | None:
        if (host_ip, port, protocol) in self.taken_ports:
            return f"cannot publish port {host_ip}:{port}/{protocol}: already in use"
        return None

    # --- changes -------------------------------------------------------------------------

    def project_lock(self, project: str):
        with self.lock:
            lock = self.locks.setdefault(project, threading.Lock())

        @contextlib.contextmanager
        def held():
            with lock:
                yield
        return held()

    def create_network(self, request: NetworkRequest) -> None:
        self.log(f"create network {request.name}")
        self.nets[request.name] = dict(request.labels)

    def remove_network(self, name: str) -> None:
        self.log(f"remove network {name}")
        self.nets.pop(name, None)

    def create_volume(self, name: str | None, labels: Mapping[str, str]) -> str:
        if name is None:
            name = f"anon{next(self.ids)}"
            self.anonymous.add(name)
        if name not in self.vols:
            self.log(f"create volume {name}")
            self.vols[name] = dict(labels)
        return name

    def remove_volume(self, name: str) -> None:
        if name not in self.vols:
            raise ComposeError(f"no such volume: {name}")
        self.log(f"remove volume {name}")
        del self.vols[name]

    def create(self, project: Project, request: ContainerRequest) -> ContainerInfo:
        svc = request.service
        ref = image_ref(project, svc)
        if ref not in self.images:
            raise ComposeError(f"no such image: {ref}")
        with self.lock:
            if any(i.name == request.name for i in self.infos.values()):
                raise ComposeError(f"the container name {request.name!r} is already in use")
            cid = f"c{next(self.ids)}"
            anonymous = dict(request.inherited_volumes)
            for mount in svc.volumes:
                if mount.type == "volume" and not mount.source and mount.target not in anonymous:
                    anonymous[mount.target] = self.create_volume(None, {PROJECT: project.name})
            self.infos[cid] = ContainerInfo(
                id=cid, name=request.name, labels={**request.labels}, status="created",
                exit_code=None, health=None, image=ref, image_id=self.images[ref],
                command=list(svc.command or ()), created=0, started=0, finished=0,
                anonymous_volumes=anonymous, tty=bool(request.tty))
            self.requests[cid] = request
        self.log(f"create {request.name}")
        return self.infos[cid]

    def start(self, cid: str, attach: bool = False) -> None:
        info = self.container(cid)
        if info.running:
            return
        self.log(f"start {info.name}")
        self._run(info)

    def _run(self, info: ContainerInfo) -> None:
        """The container's command starts: it does what its service's behaviour says."""
        cid = info.id
        if info.hook:  # a pre_start hook: exits at once, with the code its command gets
            self._set(cid, status="exited", exit_code=self.exec_codes.get(
                (info.command or ["?"])[0], 0))
            return
        behaviour = self.behaviours.get(info.service, Behaviour())
        if behaviour.start_error:
            self._set(cid, status="exited", exit_code=125, error=behaviour.start_error)
            raise ComposeError(f"container {info.name}: {behaviour.start_error}")
        if behaviour.exit_code is not None:
            self._set(cid, status="exited", exit_code=behaviour.exit_code)
        else:
            self._set(cid, status="running", exit_code=None, health=behaviour.health)

    def stop(self, cid: str, timeout: float | None) -> str:
        info = self.container(cid)
        if info.running:
            self.log(f"stop {info.name}")
            self._set(cid, status="exited", exit_code=0)
        return self.stop_notes.get(info.name, "")

    def kill(self, cid: str, signal: str) -> None:
        info = self.container(cid)
        self.log(f"kill {info.name} {signal}")
        self._set(cid, status="exited", exit_code=137)

    def restart(self, cid: str, timeout: float | None = None) -> None:
        info = self.container(cid)
        self.log(f"restart {info.name}")
        self._run(info)

    def remove(self, cid: str, force: bool = False, volumes: bool = False) -> None:
        info = self.container(cid)
        if info.running and not force:
            raise ComposeError(f"container {info.name} is running")
        self.log(f"remove {info.name}")
        with self.lock:
            del self.infos[cid]
        if volumes:
            for name in info.anonymous_volumes.values():
                self.vols.pop(name, None)

    def pause(self, cid: str, pause: bool) -> None:
        info = self.container(cid)
        self.log(f"{'pause' if pause else 'unpause'} {info.name}")
        self._set(cid, status="paused" if pause else "running")

    # --- waiting -------------------------------------------------------------------------

    def wait_until(self, cid: str, condition: str, timeout: float | None = None) -> ContainerInfo:
        info = self.container(cid)
        verdict = judge(info, condition)
        if verdict is True:
            return info
        if verdict is False:
            raise DependencyFailed(failure(info, condition))
        raise DependencyFailed(f"container {info.name} did not become "
                               f"{condition.removeprefix('service_')} in {timeout}s")

    def wait_exit(self, cid: str) -> int:
        info = self.container(cid)
        return info.exit_code if info.exit_code is not None else -1

    def wait_finished(self, cid: str) -> None:
        pass

    # --- images --------------------------------------------------------------------------

    def pull(self, ref: str, platform: str | None, progress=None) -> str:
        if ref in self.unpullable:
            raise ComposeError(f"cannot reach registry for {ref}")
        self.log(f"pull {ref}")
        self.pulled[ref] = time.time()
        return self.has_image(ref).images[ref]

    def push(self, ref: str, progress=None) -> str:
        self.log(f"push {ref}")
        return self.images[ref]

    def build(self, project: Project, service: Service, request: BuildRequest,
              output: Callable[[str], None]) -> str:
        ref = image_ref(project, service)
        output(f"building {ref}")
        self.log(f"build {ref}")
        for tag in service.build.tags if service.build else ():
            self.images[tag] = self.has_image(ref).images[ref]
        return self.has_image(ref).images[ref]

    def check_build(self, project: Project, service: Service) -> list[str]:
        self.log(f"check {image_ref(project, service)}")
        return list(self.build_warnings.get(service.name, ()))

    def remove_image(self, ref: str) -> None:
        self.log(f"remove image {ref}")
        self.images.pop(ref, None)

    def prune_images(self) -> None:
        self.log("prune images")

    def image_digest(self, ref: str) -> str:
        if ref in self.unpullable:
            raise ComposeError(f"cannot reach registry for {ref}")
        return "sha256:" + hashlib.sha256(f"remote {ref}".encode()).hexdigest()

    def push_blobs(self, ref: str, blobs: Mapping[str, bytes], manifest: bytes,
                   media_type: str) -> str:
        self.log(f"push artifact {ref} ({len(blobs)} blobs)")
        self.artifacts[ref] = (dict(blobs), manifest, media_type)
        return "sha256:" + hashlib.sha256(manifest).hexdigest()

    def export(self, cid: str, dest: str) -> None:
        self.log(f"export {self.container(cid).name} to {dest}")

    def commit(self, cid: str, ref: str | None, author: str, message: str,
               changes: list[str], pause: bool) -> str:
        self.log(f"commit {self.container(cid).name} as {ref}")
        return self.has_image(ref or cid).images[ref or cid]

    # --- inside containers ---------------------------------------------------------------

    def exec(self, cid: str, request: ExecRequest) -> FakeProcess:
        info = self.container(cid)
        if info.status != "running":
            raise ComposeError(f"container {info.name} is not running")
        self.log(f"exec {info.name} {' '.join(request.argv)}")
        return FakeProcess(0, -1, self.exec_codes.get(request.argv[0], 0))

    def attach(self, cid: str, stdin: bool):
        raise NotImplementedError("no terminals here")

    def logs(self, cid: str, tail: int | None = None, since: float | None = None,
             follow: bool = False) -> Iterator[FakeLine]:
        info = self.container(cid)
        lines = self.behaviours.get(info.service, Behaviour()).output
        if info.hook:
            lines = [f"ran {' '.join(info.command)}"]
        yield from (FakeLine("2026-01-01T00:00:00Z", "stdout", f"{text}\n")
                    for text in (lines[-tail:] if tail else lines))
        while follow and cid in self.infos and self.infos[cid].running:
            time.sleep(0.005)  # followed output ends when the container does

    def events(self, cid: str) -> Iterator[dict]:
        return iter(())

    def history(self, project: str, since: float, until: float | None) -> list:
        return []

    def stats(self, cid: str) -> ContainerStats:
        return ContainerStats(0, 0, 0, 1)

    def processes(self, cid: str) -> list[int]:
        return [1]

    def copy_in(self, cid: str, source: str, dest: str, archive: bool = False,
                follow_link: bool = False) -> None:
        how = " (archive)" if archive else ""
        self.log(f"copy {source} into {self.container(cid).name}:{dest}{how}")

    def copy_out(self, cid: str, source: str, dest: str) -> None:
        self.log(f"copy {self.container(cid).name}:{source} to {dest}")

    def sync_files(self, cid: str, changes: list[tuple[str | None, str]]) -> bool:
        info = self.container(cid)
        self.log(f"sync {len(changes)} into {info.name}")
        return info.status == "running"
