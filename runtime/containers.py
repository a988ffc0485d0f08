"""Containers: the runtime's public API (create, start, stop, kill, remove, list, ...).

    containers/<id>/config.json   the ContainerSpec
    containers/<id>/rootfs.json   which unpacked layers make its root filesystem
    containers/<id>/state.json    status, pids, exit code, health (runtime.state)
    containers/<id>/upper, work   its overlayfs writable layer
    containers/<id>/container.log its output, JSON lines
    names/<name> -> <id>          a symlink: creating it reserves the name atomically

Starting forks the container's monitor (runtime.monitor) and waits until the
container's command has been exec'd or has failed to start; the other commands talk
to the monitor (runtime.client) or, when it is gone, free what it held themselves
(runtime.teardown).
"""
from __future__ import annotations

import dataclasses
import gc
import json
import os
import re
import secrets
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

from common import timings
from common.units import human_duration

from . import cgroups, client, eventlog, logs, rootless
from .create import RunOptions, SpecError, anonymous_volume_targets, build_spec, merge_env
from .errors import BerthError
from .fsutil import locked, make_dir, read_json, write_json
from .images.store import Image, ImageStore
from .paths import Paths
from .protocol import Op
from .spec import ContainerSpec, Mount
from .state import State, Status, monitor_alive, pid_alive
from . import state as statefile
from .teardown import release_network, remove_files
from .volumes import Volumes

_ADJECTIVES = ("brave", "calm", "eager", "fond", "keen", "lucid", "merry", "nifty", "quiet",
               "sharp", "stoic", "swift", "tidy", "vivid", "witty", "zen")
_NOUNS = ("anchor", "buoy", "cove", "dock", "ferry", "harbor", "jetty", "keel", "lagoon",
          "marina", "pier", "quay", "reef", "skiff", "tide", "wharf")


class ContainerError(BerthError):
    """A container operation that failed; the message says why."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # for a failed start: 125, 126 or 127, as docker exits


class ContainerNotFound(ContainerError, LookupError):
    pass


class NameConflict(ContainerError):
    pass


@dataclass
class Container:
    id: str
    dir: Path
    spec: ContainerSpec
    state: State
    warnings: tuple[str, ...] = ()  # what create could not honour, as docker warns

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def status(self) -> Status:
        """The recorded status, corrected when the monitor died without recording it."""
        if self.state.status in (Status.RUNNING, Status.RESTARTING, Status.PAUSED) \
                and not monitor_alive(self.state):
            return Status.DEAD
        return self.state.status

    @property
    def running(self) -> bool:
        return self.status in (Status.RUNNING, Status.PAUSED, Status.RESTARTING)

    def describe_status(self) -> str:
        """docker ps's STATUS column: "Up 3 seconds (healthy)", "Exited (0) 2 minutes ago"."""
        status = self.status
        now = time.time()
        if status in (Status.RUNNING, Status.PAUSED):
            text = f"Up {human_duration(now - self.state.started_at)}"
            if status == Status.PAUSED:
                text += " (Paused)"
            elif self.state.health:
                health = self.state.health.status
                text += f" (health: {health})" if health == "starting" else f" ({health})"
            return text
        if status == Status.RESTARTING:
            return f"Restarting ({self.state.exit_code}) {human_duration(now - self.state.finished_at)} ago"
        if status == Status.EXITED:
            return f"Exited ({self.state.exit_code}) {human_duration(now - self.state.finished_at)} ago"
        if status == Status.DEAD:
            return "Dead"
        return "Created"


class Containers:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths.ensure()
        self.images = ImageStore(paths)
        self.volumes = Volumes(paths)

    # --- lookup ------------------------------------------------------------------------

    def _load(self, cid: str) -> Container:
        cdir = self.paths.container(cid)
        config = read_json(cdir / "config.json")
        if config is None:
            raise ContainerNotFound(f"no such container: {cid}")
        return Container(cid, cdir, ContainerSpec.from_dict(config), statefile.load(cdir))

    def get(self, ref: str) -> Container:
        """By name, full id, or unique id prefix."""
        link = self.paths.names / ref
        if ref and "/" not in ref and os.path.islink(link):
            return self._load(os.readlink(link))
        if len(ref) >= 3 and all(c in "0123456789abcdef" for c in ref):
            matches = [d.name for d in self.paths.containers.iterdir() if d.name.startswith(ref)]
            if len(matches) == 1:
                return self._load(matches[0])
            if len(matches) > 1:
                raise ContainerError(f"container id prefix {ref!r} is ambiguous")
        raise ContainerNotFound(f"no such container: {ref}")

    def list(self, all: bool = True, labels: dict[str, str] | None = None) -> list[Container]:
        out = []
        for entry in self.paths.containers.iterdir():
            try:
                container = self._load(entry.name)
            except (ContainerNotFound, ValueError, TypeError):
                continue  # half-created or being removed
            if labels and any(container.spec.labels.get(k) != v for k, v in labels.items()):
                continue
            if all or container.running:
                out.append(container)
        return sorted(out, key=lambda c: c.state.created_at, reverse=True)

    # --- create ------------------------------------------------------------------------

    def _reserve_name(self, name: str, cid: str) -> None:
        try:
            os.symlink(cid, self.paths.names / name)
        except FileExistsError:
            owner = os.readlink(self.paths.names / name)
            if not (self.paths.container(owner) / "config.json").exists():
                os.unlink(self.paths.names / name)  # left over by a crash: take it
                return self._reserve_name(name, cid)
            raise NameConflict(f'the container name "{name}" is already in use by container '
                               f'"{owner[:12]}"') from None

    def _random_name(self) -> str:
        while True:
            name = f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}_{secrets.randbelow(1000)}"
            if not os.path.lexists(self.paths.names / name):
                return name

    def create(self, image: Image, opts: RunOptions) -> Container:
        """Create (not start) a container from `image`."""
        cid = secrets.token_hex(32)
        name = opts.name or self._random_name()
        if not _valid_name(name):
            raise ContainerError(f"invalid container name {name!r}: use [a-zA-Z0-9][a-zA-Z0-9_.-]*")
        spec = build_spec(image, opts, name, cid)
        for attr, holder in (("mode", spec.network), ("ipc", spec), ("pid_mode", spec)):
            value = getattr(holder, attr)
            if value.startswith("container:"):  # by id: the monitor needs no name lookups
                setattr(holder, attr, "container:" + self.get(value[len("container:"):]).id)
        self._reserve_name(name, cid)
        cdir = self.paths.container(cid)
        try:
            layer_dirs = self.images.layer_dirs(image)
            for target in anonymous_volume_targets(image, spec.mounts):
                volume = self.volumes.create(labels={"berth.anonymous": "true"})
                spec.mounts.append(Mount(type="bind", source=str(volume.path), target=target,
                                         volume=volume.name))
            make_dir(cdir, 0o700)
            # upper gives the container's / its mode; the others are the overlay's own
            for sub, mode in (("upper", 0o755), ("work", 0o700), ("rootfs", 0o755),
                              ("empty", 0o755)):
                make_dir(cdir / sub, mode)
            write_json(cdir / "rootfs.json", {"layers_root": str(self.images.layers),
                                             "layers": [os.path.basename(d) for d in layer_dirs]})
            statefile.save(cdir, State())
            write_json(cdir / "config.json", spec.to_dict())  # last: now it exists for readers
        except BaseException:
            shutil.rmtree(cdir, ignore_errors=True)
            os.unlink(self.paths.names / name)
            raise
        eventlog.record(self.paths.root, "container", "create", cid,
                        {"image": spec.image, "name": name, **spec.labels})
        return dataclasses.replace(self._load(cid), warnings=cgroups.unsupported(spec.resources))

    def rename(self, ref: str, new_name: str) -> None:
        """docker rename: the new name is reserved before the old one is let go."""
        container = self.get(ref)
        if not _valid_name(new_name):
            raise ContainerError(f"invalid container name {new_name!r}: use "
                                 "[a-zA-Z0-9][a-zA-Z0-9_.-]*")
        if new_name == container.name:
            raise ContainerError(f"renaming a container with the same name ({new_name})")
        self._reserve_name(new_name, container.id)
        with locked(container.dir / "start.lock"):
            config = read_json(container.dir / "config.json")
            config["name"] = new_name
            write_json(container.dir / "config.json", config)
        os.unlink(self.paths.names / container.name)
        eventlog.record(self.paths.root, "container", "rename", container.id,
                        {"name": new_name, "oldName": container.name})
        if container.running:
            from .network.api import Networks

            Networks(self.paths).rename(container.id, new_name)

    def update(self, ref: str, resources: dict, restart: str | None = None) -> Container:
        """docker update: new limits (Resources fields) for the container, applied to its
        cgroup at once when it runs; a new restart policy from its next exit on."""
        container = self.get(ref)
        with locked(container.dir / "start.lock"):
            config = read_json(container.dir / "config.json")
            config["resources"] = {**config.get("resources", {}), **resources}
            if restart is not None:
                config["restart"] = restart
            write_json(container.dir / "config.json", config)
            container = self._load(container.id)
            if container.running:
                cgroup = cgroups.for_container(container.id)
                cgroup.create(container.spec.resources,
                              cgroups.device_rules(container.spec.devices,
                                                   container.spec.privileged)
                              + list(container.spec.device_cgroup_rules))
        return container

    # --- start -------------------------------------------------------------------------

    def start(self, ref: str, wait_attach: bool = False) -> Container:
        """Start a created or stopped container; return once its command runs."""
        container = self.get(ref)
        with locked(container.dir / "start.lock"):
            container = self._load(container.id)
            if container.status in (Status.RUNNING, Status.RESTARTING, Status.PAUSED):
                return container
            if container.status == Status.DEAD:
                self._cleanup_dead(container)
            try:
                reply = self._spawn_monitor(container, wait_attach)
            except BaseException:
                self._release(container)
                raise
            if not reply.get("ok"):
                self._release(container)
                raise ContainerError(f"container {container.name}: "
                                     f"{reply.get('error', 'failed to start')}",
                                     reply.get("exit_code", 125))
        for name, began, ended in reply.get("timings", ()):  # the monitor's (on one clock)
            timings.span(f"  {container.name}: {name}", began, ended)
        return self._load(container.id)

    def _release(self, container: Container) -> None:
        release_network(self.paths, container.id, container.spec)

    def _spawn_monitor(self, container: Container, wait_attach: bool) -> dict:
        from .monitor import run_detached  # here, not in the fork: loaded once per command

        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        gc.freeze()  # keep the pages the forked monitor shares with us untouched by its GC
        try:
            pid = os.fork()
            if pid == 0:
                if os.fork() == 0:
                    os.close(read_fd)
                    run_detached(self.paths, container.id, write_fd, wait_attach)
                os._exit(0)
        finally:
            gc.unfreeze()
        os.close(write_fd)
        os.waitpid(pid, 0)
        data = b""
        with os.fdopen(read_fd, "rb") as pipe:
            while b"\n" not in data:
                chunk = pipe.read1(4096)
                if not chunk:
                    break
                data += chunk
        if not data:
            return {"ok": False, "error": f"the monitor exited; see {container.dir}/monitor.log"}
        return json.loads(data.split(b"\n", 1)[0])

    # --- stop, kill, pause -------------------------------------------------------------

    def stop(self, ref: str, timeout: float | None = None) -> Stopped:
        """Stop gracefully (stop signal, then SIGKILL after the timeout)."""
        container = self.get(ref)
        if container.status == Status.DEAD:
            self._cleanup_dead(container)
            return Stopped(None)
        if not container.running:
            return Stopped(container.state.exit_code)
        try:
            grace = container.spec.stop_timeout if timeout is None else timeout
            reply = client.request(self.paths.monitor_socket(container.id),
                                   {"op": Op.STOP, "timeout": timeout}, timeout=grace + 30)
            self._wait_monitor(container.id)
            return Stopped(reply.get("exit_code"), reply.get("note", ""))
        except client.MonitorGone:
            return Stopped(self._load(container.id).state.exit_code)

    def _wait_monitor(self, cid: str, limit: float = 30.0) -> None:
        """Until the monitor has finished (its state written, resources freed; the
        container removed if it was to be)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not monitor_alive(statefile.load(self.paths.container(cid))):
                return
            time.sleep(0.005)

    def wait_finished(self, cid: str) -> None:
        """After the container exited: until its monitor is gone."""
        self._wait_monitor(cid)

    def restart(self, ref: str, timeout: float | None = None) -> Container:
        """Restart a running container in place (same network, ports, cgroup); start a
        stopped one."""
        container = self.get(ref)
        if container.status in (Status.RUNNING, Status.PAUSED, Status.RESTARTING):
            grace = container.spec.stop_timeout if timeout is None else timeout
            try:
                reply = client.request(self.paths.monitor_socket(container.id),
                                       {"op": Op.RESTART, "timeout": timeout}, timeout=grace + 30)
                if reply.get("ok"):
                    return self._load(container.id)
            except client.MonitorGone:
                pass
            self._wait_monitor(container.id)
        return self.start(container.id)

    def kill(self, ref: str, sig: str = "SIGKILL") -> None:
        container = self.get(ref)
        if not container.running:
            raise ContainerError(f"container {container.name} is not running")
        try:
            client.request(self.paths.monitor_socket(container.id), {"op": Op.KILL, "signal": sig})
        except client.MonitorGone:
            raise ContainerError(f"container {container.name} is not running") from None
        eventlog.record(self.paths.root, "container", "kill", container.id,
                        {"image": container.spec.image, "name": container.name, "signal": sig})

    def pause(self, ref: str, pause: bool = True) -> None:
        container = self.get(ref)
        if not container.running:
            raise ContainerError(f"container {container.name} is not running")
        if rootless.active():
            raise ContainerError("pause needs a cgroup freezer: containers have none without root")
        client.request(self.paths.monitor_socket(container.id),
                       {"op": Op.PAUSE if pause else Op.UNPAUSE})

    def wait(self, ref: str) -> int:
        """Block until the container exits; its exit code."""
        container = self.get(ref)
        if container.running:
            try:
                reply = client.request(self.paths.monitor_socket(container.id), {"op": Op.WAIT},
                                       timeout=None)
                self._wait_monitor(container.id)
                return int(reply.get("exit_code", -1))
            except client.MonitorGone:
                pass
        state = self._load(container.id).state
        return -1 if state.exit_code is None else state.exit_code

    def _cleanup_dead(self, container: Container) -> None:
        """The monitor died (kill -9): kill what is left and free its resources."""
        if pid_alive(container.state.pid):
            try:
                os.kill(container.state.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        cgroups.for_container(container.id).destroy()
        self._release(container)
        statefile.update(container.dir, status=Status.EXITED, pid=0,
                         exit_code=container.state.exit_code if container.state.exit_code
                         is not None else 137, finished_at=time.time())

    # --- remove ------------------------------------------------------------------------

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        container = self.get(ref)
        if container.running or container.status == Status.DEAD:
            if not force and container.status != Status.DEAD:
                raise ContainerError(f"container {container.name} is running: stop it first or "
                                     "remove it with force")
            if container.status == Status.DEAD:
                self._cleanup_dead(container)
            else:
                try:
                    client.request(self.paths.monitor_socket(container.id),
                                   {"op": Op.STOP, "timeout": 0}, timeout=30)
                except client.MonitorGone:
                    pass
        self._wait_monitor(container.id)  # an exited container's monitor may still be tidying up
        remove_files(self.paths, container.id, container.spec, volumes)

    # --- output and processes ----------------------------------------------------------

    def logs(self, ref: str, tail: int | None = None, since: float | None = None,
             follow: bool = False) -> Iterator[logs.LogLine]:
        container = self.get(ref)
        return logs.read(container.dir / "container.log", tail=tail, since=since, follow=follow,
                         running=lambda: monitor_alive(statefile.load(container.dir)))

    def attach(self, ref: str, stdin: bool = False) -> client.Attachment:
        container = self.get(ref)
        return client.Attachment(self.paths.monitor_socket(container.id), stdin)

    def exec_process(self, ref: str, argv: list[str], *, user: str | None = None,
                     workdir: str | None = None, env: list[str] = (), stdio=None,
                     tty: bool = False, privileged: bool = False) -> tuple[int, int, int]:
        """Start `argv` in a running container (see runtime.nsexec); `privileged` gives
        it every capability and no seccomp filter, as `docker exec --privileged` does.

        Returns (relay pid, error fd, terminal master fd or -1 without `tty`)."""
        container = self.get(ref)
        if container.status != Status.RUNNING:
            raise ContainerError(f"container {container.name} is not running")
        from . import nsexec, ptys, seccomp
        from .capabilities import container_caps
        from .init import env_dict

        spec = container.spec
        privileged = privileged or spec.privileged
        caps = container_caps(spec.cap_add, spec.cap_drop, privileged,
                              device_filter=cgroups.filters_devices())
        parent, child = socket.socketpair() if tty else (None, None)
        try:
            relay, err_fd = nsexec.spawn(
                container.state.pid, argv, env_dict(merge_env(spec.env, list(env))),
                spec.user if user is None else user, workdir or spec.working_dir, caps,
                spec.no_new_privileges and not privileged, spec.ulimits, spec.group_add,
                stdio=stdio, tty_socket=child.fileno() if child else -1,
                cgroup_procs=cgroups.for_container(container.id).procs_files(),
                syscall_filter=seccomp.for_container(caps, privileged, spec.seccomp))
            if child:
                child.close()
            master = ptys.recv_fd(parent) if parent else None
        finally:
            if parent:
                parent.close()
        return relay, err_fd, -1 if master is None else master

    def processes(self, ref: str) -> list[int]:
        container = self.get(ref)
        if not container.running:
            raise ContainerError(f"container {container.name} is not running")
        return sorted(cgroups.for_container(container.id).pids())

    def stats(self, ref: str) -> dict[str, int]:
        return cgroups.for_container(self.get(ref).id).stats()


class Stopped(NamedTuple):
    """How a stop ended: the exit code, and why it did not wait for the grace period when
    it did not ("killed at once: PID 1 has no handler for SIGTERM"), else ""."""
    exit_code: int | None
    note: str = ""


def _valid_name(name: str) -> bool:
    return re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name) is not None


__all__ = ["Containers", "Container", "ContainerError", "ContainerNotFound", "NameConflict",
           "RunOptions", "SpecError", "Stopped"]
