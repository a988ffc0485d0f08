"""--dry-run: a Backend that reads through to a real one and changes nothing.

What exists is the real backend's; every change is only remembered, so the rest of a
command sees what it would have made (a container created and then started, a volume
created, an image pulled) and the executor reports each step as it would do it. Waiting
succeeds at once; processes and pulls, builds and pushes "succeed" with nothing done.
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from typing import Callable, Iterator, Mapping

from .backend import Backend, BuildRequest, ContainerRequest, ExecRequest, NetworkRequest
from .errors import ComposeError
from .labels import ContainerInfo, ResourceInfo, image_ref
from .model import Project, Service

_FAKE_ID = "sha256:" + "0" * 64


@dataclasses.dataclass
class _Done:
    """A process that "ran": exit 0."""

    pid: int = 0
    terminal: int = -1

    def resize(self, rows: int, cols: int) -> None:
        pass

    def wait(self) -> tuple[int, str | None]:
        return 0, None


class DryRunBackend:
    def __init__(self, real: Backend) -> None:
        self.real = real
        self.made: dict[str, ContainerInfo] = {}  # containers it would have created
        self.changed: dict[str, ContainerInfo] = {}  # real ones as they would be now
        self.gone: set[str] = set()  # real ones it would have removed
        self.networks_made: dict[str, Mapping[str, str]] = {}
        self.volumes_made: dict[str, Mapping[str, str]] = {}
        self.images_made: dict[str, str] = {}
        self.ids = itertools.count(1)

    def __getattr__(self, name: str):  # what only reads (logs, stats, image config...)
        return getattr(self.real, name)

    # --- what exists, as it would be -------------------------------------------------------

    def _view(self, info: ContainerInfo) -> ContainerInfo:
        return self.changed.get(info.id, info)

    def containers(self, project: str | None, all: bool = True) -> list[ContainerInfo]:
        real = [self._view(c) for c in self.real.containers(project, all=True)
                if c.id not in self.gone]
        made = [c for c in self.made.values()
                if project is None or c.labels.get("com.docker.compose.project") == project]
        return [c for c in real + made if all or c.running]

    def container(self, ref: str) -> ContainerInfo:
        for info in self.made.values():
            if ref in (info.id, info.name):
                return info
        info = self._view(self.real.container(ref))
        if info.id in self.gone:
            raise ComposeError(f"no such container: {ref}")
        return info

    def networks(self, project: str) -> list[ResourceInfo]:
        return self.real.networks(project) + [
            ResourceInfo(n, labels) for n, labels in self.networks_made.items()]

    def network_exists(self, name: str) -> bool:
        return name in self.networks_made or self.real.network_exists(name)

    def volumes(self, project: str) -> list[ResourceInfo]:
        return self.real.volumes(project) + [
            ResourceInfo(v, labels) for v, labels in self.volumes_made.items()]

    def volume_exists(self, name: str) -> bool:
        return name in self.volumes_made or self.real.volume_exists(name)

    def image_id(self, ref: str) -> str | None:
        return self.images_made.get(ref) or self.real.image_id(ref)

    # --- changes, remembered ---------------------------------------------------------------

    def project_lock(self, project: str):
        return contextlib.nullcontext()

    def create_network(self, request: NetworkRequest) -> None:
        self.networks_made[request.name] = dict(request.labels)

    def remove_network(self, name: str) -> None:
        self.networks_made.pop(name, None)

    def create_volume(self, name: str | None, labels: Mapping[str, str]) -> str:
        name = name or f"dry-run-volume-{next(self.ids)}"
        self.volumes_made[name] = dict(labels)
        return name

    def remove_volume(self, name: str) -> None:
        self.volumes_made.pop(name, None)

    def create(self, project: Project, request: ContainerRequest) -> ContainerInfo:
        cid = f"dry-run-{next(self.ids)}"
        svc = request.service
        self.made[cid] = ContainerInfo(
            id=cid, name=request.name, labels=dict(request.labels), status="created",
            exit_code=None, health=None, image=image_ref(project, svc),
            image_id=self.image_id(image_ref(project, svc)) or _FAKE_ID,
            command=list(svc.command or ()), created=time.time(), started=0, finished=0)
        return self.made[cid]

    def _set(self, cid: str, **changes) -> None:
        info = self.container(cid)
        new = dataclasses.replace(info, **changes)
        if cid in self.made:
            self.made[cid] = new
        else:
            self.changed[cid] = new

    def start(self, cid: str, attach: bool = False) -> None:
        self._set(cid, status="running", exit_code=None)

    def stop(self, cid: str, timeout: float | None) -> str:
        self._set(cid, status="exited", exit_code=0)
        return ""

    def kill(self, cid: str, signal: str) -> None:
        self._set(cid, status="exited", exit_code=137)

    def restart(self, cid: str, timeout: float | None = None) -> None:
        self._set(cid, status="running", exit_code=None)

    def remove(self, cid: str, force: bool = False, volumes: bool = False) -> None:
        if self.made.pop(cid, None) is None:
            self.gone.add(cid)

    def pause(self, cid: str, pause: bool) -> None:
        self._set(cid, status="paused" if pause else "running")

    # --- waiting: what it waits for is there at once ------------------------------------

    def wait_until(self, cid: str, condition: str, timeout: float | None = None) -> ContainerInfo:
        return self.container(cid)

    def wait_exit(self, cid: str) -> int:
        return 0

    def wait_finished(self, cid: str) -> None:
        pass

    # --- images, processes, files: nothing done --------------------------------------------

    def pull(self, ref: str, platform: str | None, progress=None) -> str:
        self.images_made[ref] = self.real.image_id(ref) or _FAKE_ID
        return self.images_made[ref]

    def push(self, ref: str, progress=None) -> str:
        return self.image_id(ref) or _FAKE_ID

    def build(self, project: Project, service: Service, request: BuildRequest,
              output: Callable[[str], None]) -> str:
        ref = image_ref(project, service)
        self.images_made[ref] = self.real.image_id(ref) or _FAKE_ID
        return self.images_made[ref]

    def remove_image(self, ref: str) -> None:
        self.images_made.pop(ref, None)

    def prune_images(self) -> None:
        pass

    def push_blobs(self, ref: str, blobs: Mapping[str, bytes], manifest: bytes,
                   media_type: str) -> str:
        import hashlib

        return "sha256:" + hashlib.sha256(manifest).hexdigest()

    def export(self, cid: str, dest: str) -> None:
        pass

    def commit(self, cid: str, ref: str | None, author: str, message: str,
               changes: list[str], pause: bool) -> str:
        return _FAKE_ID

    def exec(self, cid: str, request: ExecRequest) -> _Done:
        return _Done()

    def logs(self, cid: str, tail: int | None = None, since: float | None = None,
             follow: bool = False) -> Iterator:
        if cid in self.made:
            return iter(())
        return self.real.logs(cid, tail, since, follow)

    def copy_in(self, cid: str, source: str, dest: str, archive: bool = False,
                follow_link: bool = False) -> None:
        pass

    def copy_out(self, cid: str, source: str, dest: str) -> None:
        pass

    def sync_files(self, cid: str, changes: list[tuple[str | None, str]]) -> bool:
        return True
