"""The Backend on berth's own runtime: compose's requests in, runtime calls out."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, ContextManager, Iterator, Mapping

from runtime import client
from runtime.containers import Containers
from runtime.network.api import Networks
from runtime.paths import Paths
from runtime.volumes import VolumeNotFound

from .. import backend as seam
from ..backend import (BuildRequest, ContainerRequest, ContainerStats, DependencyFailed,
                       ExecRequest, NetworkRequest, PastEvent)
from ..conditions import failure, judge
from ..devices import HostGpus
from ..errors import ComposeError
from ..labels import ONEOFF, PROJECT, SERVICE, ContainerInfo, ResourceInfo, image_ref
from ..model import Project, Service
from .attachment import FramedAttachment
from .files import remove_files
from .imagemounts import ImageMounts
from .pulls import PullRecord
from .runspec import Lookups, run_options

_WAKE_EVENTS = ("start", "die", "health_status", "gone", "restart")


class RuntimeBackend:
    """`environ` is the caller's environment: BERTH_ROOT, registry credentials."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = dict(environ)
        self.paths = Paths.from_env(self.environ)
        self.api = Containers(self.paths)
        self.nets = Networks(self.paths)

    # --- what exists -------------------------------------------------------------------

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
            status_text=container.describe_status(), ports=ports, error=state.error,
            anonymous_volumes=self._anonymous_volumes(container.spec.mounts),
            tty=container.spec.tty, warnings=tuple(container.warnings))

    def history(self, project: str, since: float, until: float | None) -> list[PastEvent]:
        """The project's container events in the runtime's event log."""
        from runtime import eventlog

        out = []
        for record in eventlog.read(self.paths.root, since, until):
            attributes = record["Actor"]["Attributes"]
            if record["Type"] != "container" or attributes.get(PROJECT) != project:
                continue
            action, _, status = record["Action"].partition(": ")
            event: dict = {"event": action, "time": record["timeNano"] / 1e9}
            if status:
                event["status"] = status
            if "exitCode" in attributes:
                event["exit_code"] = int(attributes["exitCode"])
            out.append(PastEvent(record["Actor"]["ID"], attributes.get("name", ""),
                                 attributes.get(SERVICE, ""), event))
        return out

    def _anonymous_volumes(self, mounts) -> dict[str, str]:
        found = {}
        for mount in mounts:
            try:
                if mount.volume and self.api.volumes.get(mount.volume).anonymous:
                    found[mount.target] = mount.volume
            except VolumeNotFound:
                continue
        return found

    def containers(self, project: str | None, all: bool = True) -> list[ContainerInfo]:
        if project is None:
            return [self._info(c) for c in self.api.list(all=all) if PROJECT in c.spec.labels]
        return [self._info(c) for c in self.api.list(all=all, labels={PROJECT: project})]

    def container(self, ref: str) -> ContainerInfo:
        return self._info(self.api.get(ref))

    def networks(self, project: str) -> list[ResourceInfo]:
        return [ResourceInfo(n.name, n.labels) for n in self.nets.list({PROJECT: project})]

    def network_exists(self, name: str) -> bool:
        return self.nets.exists(name)

    def volumes(self, project: str) -> list[ResourceInfo]:
        return [ResourceInfo(v.name, v.labels) for v in self.api.volumes.list()
                if v.labels.get(PROJECT) == project]

    def volume_exists(self, name: str) -> bool:
        return self.api.volumes.exists(name)

    def image_id(self, ref: str) -> str | None:
        from runtime.images.store import ImageNotFound

        try:
            return self.api.images.get(ref).id
        except ImageNotFound:
            return None

    def image_config(self, ref: str) -> seam.ImageConfig | None:
        from runtime.images.store import ImageNotFound

        try:
            config = self.api.images.get(ref).config.get("config") or {}
        except (ImageNotFound, OSError):
            return None
        return seam.ImageConfig(exposed_ports=tuple(sorted(config.get("ExposedPorts") or ())))

    # --- preflight -----------------------------------------------------------------------

    def check_service(self, project: Project, service: Service) -> None:
        from runtime.securityopts import SecurityOptError, security_options

        try:
            security_options(list(service.security_opt))
        except SecurityOptError as err:
            raise ComposeError(f"security_opt {err}") from None

    def host_gpus(self) -> HostGpus:
        """The NVIDIA GPUs' device nodes (/dev/nvidia0...) and the driver's shared ones."""
        import glob
        import re

        gpus = sorted((p for p in glob.glob("/dev/nvidia*") if re.fullmatch(r"/dev/nvidia\d+", p)),
                      key=lambda p: int(p[len("/dev/nvidia"):]))
        shared = [p for p in ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools",
                              "/dev/nvidia-modeset") if os.path.exists(p)]
        return HostGpus(tuple(gpus), tuple(shared))

    def port_taken(self, host_ip: str, port: int, protocol: str) -> str | None:
        from runtime.errors import BerthError
        from runtime.network.api import claim_port
        from runtime.spec import PortMapping

        try:
            sock, _ = claim_port(self.paths.run, PortMapping(0, protocol, host_ip, port))
        except BerthError as err:  # NetworkError, or the rootless agent's PortError
            return str(err)
        sock.close()
        return None

    # --- changes -------------------------------------------------------------------------

    def project_lock(self, project: str) -> ContextManager[None]:
        """Held while a command changes a project (up, down): they take turns."""
        from runtime.fsutil import locked

        return locked(self.paths.run / "compose" / f"{project}.lock")

    def create_network(self, request: NetworkRequest) -> None:
        self.nets.create(request.name, subnet=request.subnet, gateway=request.gateway,
                         ip_range=request.ip_range, internal=request.internal,
                         labels=dict(request.labels), exist_ok=True)

    def remove_network(self, name: str) -> None:
        self.nets.remove(name)

    def create_volume(self, name: str | None, labels: Mapping[str, str]) -> str:
        return self.api.volumes.create(name, dict(labels), exist_ok=True).name

    def remove_volume(self, name: str) -> None:
        self.api.volumes.remove(name)

    def create(self, project: Project, request: ContainerRequest) -> ContainerInfo:
        def container_of(service: str) -> str:
            running = self.api.list(all=False, labels={PROJECT: project.name, SERVICE: service,
                                                       ONEOFF: "False"})
            if not running:
                raise ComposeError(f"service {service!r} has no running container to share")
            return running[0].id

        lookups = Lookups(
            volume_path=lambda name: str(self.api.volumes.create(name, exist_ok=True).path),
            anonymous_volume=lambda: self.create_volume(None, {PROJECT: project.name}),
            container_of=container_of, mounts_of=lambda cid: list(self.api.get(cid).spec.mounts),
            runtime_dir=self._runtime_dir(project.name),
            image_root=ImageMounts(self.api.images, self.paths.run).root,
            host_gpus=self.host_gpus)
        options = run_options(project, request, lookups)
        image = self.api.images.get(image_ref(project, request.service))
        return self._info(self.api.create(image, options))

    def start(self, cid: str, attach: bool = False) -> None:
        self.api.start(cid, wait_attach=attach)

    def stop(self, cid: str, timeout: float | None) -> str:
        return self.api.stop(cid, timeout).note

    def kill(self, cid: str, signal: str) -> None:
        self.api.kill(cid, signal)

    def restart(self, cid: str, timeout: float | None = None) -> None:
        self.api.restart(cid, timeout)

    def remove(self, cid: str, force: bool = False, volumes: bool = False) -> None:
        """Remove a container, its secrets' and configs' files, and the image mounts no
        container uses any more."""
        container = self.api.get(cid)
        self.api.remove(cid, force=force, volumes=volumes)
        project = container.spec.labels.get(PROJECT)
        if project:
            remove_files(self._runtime_dir(project), container.name)
        mounts = ImageMounts(self.api.images, self.paths.run)
        if mounts.any():  # (those of containers removed otherwise go too)
            mounts.release(m.source for c in self.api.list() for m in c.spec.mounts if m.source)

    def _runtime_dir(self, project: str) -> str:
        """Where a project's containers' secrets and configs are written."""
        return str(self.paths.run / "compose" / project)

    def pause(self, cid: str, pause: bool) -> None:
        self.api.pause(cid, pause)

    # --- waiting -------------------------------------------------------------------------

    def wait_until(self, cid: str, condition: str, timeout: float | None = None) -> ContainerInfo:
        """Block until a container is started, healthy or exited as `condition` says,
        woken by its monitor's events (no polling); raise DependencyFailed when it can
        no longer get there."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            stream = client.events(self.paths.monitor_socket(cid))
            try:
                next(stream)  # subscribed first, then look: no change can slip in between
            except (client.MonitorGone, StopIteration):
                stream = None
            try:
                info = self.container(cid)
                verdict = judge(info, condition)
                if verdict is True:
                    return info
                if verdict is False:
                    raise DependencyFailed(failure(info, condition))
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

    def wait_finished(self, cid: str) -> None:
        self.api.wait_finished(cid)

    # --- images --------------------------------------------------------------------------

    def _registry(self):
        from runtime import settings
        from runtime.images.registry import Registry

        conf = settings.load(self.paths)
        return Registry(self.api.images, self.environ, conf.insecure_registries,
                        conf.max_concurrent_downloads)

    def pull(self, ref: str, platform: str | None, progress=None) -> str:
        image_id = self._registry().pull(ref, platform, progress).id
        PullRecord(self.paths.root, self.paths.locks).note(ref)
        return image_id

    def last_pulled(self, ref: str) -> float | None:
        return PullRecord(self.paths.root, self.paths.locks).last(ref)

    def push(self, ref: str, progress=None) -> str:
        return self._registry().push(ref, progress)

    def build(self, project: Project, service: Service, request: BuildRequest,
              output: Callable[[str], None]) -> str:
        from runtime.images.build import Builder

        from .buildspec import build_options

        registry = self._registry()
        builder = Builder(self.api, pull=lambda name, platform: registry.pull(name, platform),
                          output=output)
        return builder.build(build_options(project, service, request, self.environ)).id

    def check_build(self, project: Project, service: Service) -> list[str]:
        from .buildcheck import check_build

        return check_build(project, service)

    def remove_image(self, ref: str) -> None:
        in_use = {c.spec.image_id for c in self.api.list()}
        self.api.images.remove(ref, in_use)

    def prune_images(self) -> None:
        self.api.images.prune(False, {c.spec.image_id for c in self.api.list()})

    def image_digest(self, ref: str) -> str:
        from . import artifacts  # registries, layers: only for these

        return artifacts.registry_digest(self._registry(), ref)

    def push_blobs(self, ref: str, blobs: Mapping[str, bytes], manifest: bytes,
                   media_type: str) -> str:
        from . import artifacts

        return artifacts.push_blobs(self._registry(), ref, blobs, manifest, media_type)

    def export(self, cid: str, dest: str) -> None:
        from . import artifacts

        artifacts.export(self.api, cid, dest)

    def commit(self, cid: str, ref: str | None, author: str, message: str,
               changes: list[str], pause: bool) -> str:
        from . import artifacts

        return artifacts.commit(self.api, cid, ref, author, message, changes, pause)

    # --- inside containers ---------------------------------------------------------------

    def exec(self, cid: str, request: ExecRequest) -> "RelayProcess":
        null = os.open(os.devnull, os.O_RDWR) if request.stdio is None else -1
        try:
            relay, err_fd, master = self.api.exec_process(
                cid, request.argv, user=request.user, workdir=request.workdir,
                env=request.env, stdio=request.stdio or (null, null, null), tty=request.tty,
                privileged=request.privileged)
        finally:
            if null >= 0:
                os.close(null)
        return RelayProcess(relay, master, err_fd)

    def attach(self, cid: str, stdin: bool) -> "FramedAttachment":
        return FramedAttachment(self.api.attach(cid, stdin=stdin))

    def logs(self, cid: str, tail: int | None = None, since: float | None = None,
             follow: bool = False) -> Iterator:
        return self.api.logs(cid, tail=tail, since=since, follow=follow)

    def events(self, cid: str) -> Iterator[dict]:
        try:
            yield from client.events(self.paths.monitor_socket(cid))
        except client.MonitorGone:
            return

    def stats(self, cid: str) -> ContainerStats:
        return ContainerStats(**self.api.stats(cid))

    def processes(self, cid: str) -> list[int]:
        return self.api.processes(cid)

    def copy_in(self, cid: str, source: str, dest: str, archive: bool = False,
                follow_link: bool = False) -> None:
        from .copying import copy_into

        copy_into(self.api, cid, source, dest, archive, follow_link)

    def copy_out(self, cid: str, source: str, dest: str) -> None:
        from runtime.filecopy import copy_out

        copy_out(self.api, cid, source, dest)

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


@dataclass
class RelayProcess:
    pid: int  # the relay: it passes signals on and exits with the command's code
    terminal: int
    err_fd: int

    def resize(self, rows: int, cols: int) -> None:
        from runtime.ptys import set_size

        set_size(self.terminal, rows, cols)

    def wait(self) -> tuple[int, str | None]:
        from runtime.nsexec import wait_relay

        return wait_relay(self.pid, self.err_fd)
