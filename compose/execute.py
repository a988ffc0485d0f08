"""Carry out plans concurrently. No decisions here: reconcile made them.

`up`: networks and volumes first (in parallel), then one task per service, started in
level order; each waits for its own dependencies' conditions only (pushed by the
monitors), then removes, recreates, creates and starts its replicas in parallel.
A failure names the service, the phase and the dependency chain, with the last log
lines of the dependency that failed.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from common.errors import BerthError

from .backend import VOLUME, Backend, ContainerInfo, DependencyFailed, NETWORK, PROJECT, VERSION, BERTH_VERSION
from .convert import compose_labels, config_hash, image_ref, run_options
from .errors import ComposeError
from .hooks import run_hooks, stop_after_hooks
from .model import Project
from .progress import Progress
from .reconcile import Action, UpPlan


class UpError(BerthError):
    """`up` could not bring every service up; the message lists what failed and why."""


def _last_lines(backend: Backend, cid: str, count: int = 5) -> str:
    try:
        lines = [line.text.rstrip("\n") for line in backend.logs(cid, tail=count)]
    except Exception:  # noqa: BLE001 - the container may be gone
        return ""
    return "".join(f"\n    | {line}" for line in lines)


class Executor:
    def __init__(self, project: Project, backend: Backend, progress: Progress,
                 image_ids: dict[str, str], runtime_dir: str, timeout: float | None = None,
                 renew_anon_volumes: bool = False) -> None:
        self.project = project
        self.backend = backend
        self.progress = progress
        self.image_ids = image_ids
        self.runtime_dir = runtime_dir
        self.timeout = timeout
        self.renew_anon_volumes = renew_anon_volumes  # recreated containers get new ones
        self.lock = threading.Lock()
        self.current: dict[str, list[ContainerInfo]] = {}  # service -> its containers now

    # --- resources ---------------------------------------------------------------------

    def create_network(self, key: str) -> None:
        net = self.project.networks[key]
        self.progress.update("Network", net.name, "Creating")
        ipam = net.ipam[0] if net.ipam else None
        self.backend.create_network(
            net.name, {**{k: v or "" for k, v in net.labels.items()}, PROJECT: self.project.name,
                       NETWORK: key, VERSION: BERTH_VERSION},
            subnet=ipam.subnet if ipam else None, gateway=ipam.gateway if ipam else None,
            ip_range=ipam.ip_range if ipam else None, internal=net.internal)
        self.progress.update("Network", net.name, "Created", done=True)

    def create_volume(self, key: str) -> None:
        vol = self.project.volumes[key]
        self.progress.update("Volume", vol.name, "Creating")
        self.backend.create_volume(vol.name, {**{k: v or "" for k, v in vol.labels.items()},
                                              PROJECT: self.project.name, VOLUME: key,
                                              VERSION: BERTH_VERSION})
        self.progress.update("Volume", vol.name, "Created", done=True)

    # --- containers --------------------------------------------------------------------

    def container_of(self, service: str) -> str:
        with self.lock:
            running = [c for c in self.current.get(service, []) if c.running]
        if not running:
            raise ComposeError(f"service {service!r} has no running container to share")
        return running[0].id

    def create_container(self, action: Action, inherited: dict[str, str] | None = None) -> ContainerInfo:
        svc = self.project.services[action.service]
        image_id = self.image_ids[action.service]
        labels = compose_labels(self.project, svc, action.number,
                                config_hash(self.project, svc.name, image_id), image_id)
        options = run_options(
            self.project, svc, action.number, action.name, labels,
            volume_path=self.backend.volume_path,
            anonymous_volume=lambda: self.backend.create_volume(None, {PROJECT: self.project.name}),
            container_of=self.container_of, mounts_of=self.backend.mounts,
            runtime_dir=os.path.join(self.runtime_dir, self.project.name), inherited=inherited)
        return self.backend.create(image_ref(self.project, svc), options)

    def stop(self, info: ContainerInfo) -> None:
        """Stop a container this run replaces or removes, after its pre_stop hooks (a
        failing hook is reported; the container goes all the same)."""
        failure = stop_after_hooks(self.backend, info, None)
        if failure:
            self.progress.note(failure)

    def _do(self, action: Action, start: bool = True) -> ContainerInfo | None:
        progress = lambda text, **kw: self.progress.update("Container", action.name, text, **kw)  # noqa: E731
        backend = self.backend
        existing = action.existing
        if action.kind == "remove":
            progress("Stopping")
            self.stop(existing)
            backend.remove(existing.id)
            progress("Removed", done=True)
            return None
        if action.kind == "keep":
            progress("Running", done=True)
            return existing
        if action.kind == "restart":
            progress("Restarting")
            backend.restart(existing.id)
            progress("Started", done=True)
            return backend.container(existing.id)
        if action.kind == "recreate":
            progress("Recreate")
            self.stop(existing)
            keep = {} if self.renew_anon_volumes else backend.anonymous_volumes(existing.id)
            backend.remove(existing.id)
            info = self.create_container(action, keep)
            progress("Recreated")
        elif action.kind == "create":
            progress("Creating")
            info = self.create_container(action)
            progress("Created")
        else:
            info = existing
        if not start:
            progress("Created", done=True)
            return info
        progress("Starting")
        backend.start(info.id)
        info = backend.container(info.id)
        run_hooks(backend, info, "post_start")
        progress("Started", done=True)
        return info

    def wait_for_dependencies(self, service: str, failed: dict[str, str]) -> None:
        svc = self.project.services[service]
        for dep, condition in svc.depends_on.items():
            if dep not in self.current and dep not in failed:
                continue  # not part of this run (--no-deps, or not selected)
            if dep in failed:
                if condition.required:
                    raise DependencyFailed(f"dependency {dep!r} failed: {failed[dep]}")
                continue
            for info in self.current.get(dep, []):
                if condition.condition == "service_started" and info.running:
                    continue
                label = {"service_healthy": "Waiting", "service_completed_successfully": "Waiting"}
                self.progress.update("Container", info.name, label.get(condition.condition, "Waiting"))
                try:
                    reached = self.backend.wait_until(info.id, condition.condition, self.timeout)
                except DependencyFailed as err:
                    self.progress.update("Container", info.name, "Error", failed=True)
                    if condition.required:
                        raise DependencyFailed(f"dependency {dep!r} failed: {err}"
                                               f"{_last_lines(self.backend, info.id)}") from None
                    continue
                text = {"service_healthy": "Healthy",
                        "service_completed_successfully": "Exited"}.get(condition.condition, "Started")
                self.progress.update("Container", reached.name, text, done=True)

    def run(self, plan: UpPlan, start: bool = True) -> None:
        for service, actions in plan.actions.items():
            self.current[service] = [a.existing for a in actions
                                     if a.existing is not None and a.kind in ("keep", "start", "restart")]
        with ThreadPoolExecutor(max_workers=16) as pool:
            work = [pool.submit(self.create_network, k) for k in plan.networks]
            work += [pool.submit(self.create_volume, k) for k in plan.volumes]
            for future in work:
                future.result()
            if plan.remove_orphans:
                for orphan in plan.orphans:
                    work.append(pool.submit(self._remove_orphan, orphan))
        failed: dict[str, str] = {}
        done: dict[str, threading.Event] = {name: threading.Event() for name in plan.actions}
        threads = []
        for level in plan.levels:
            for service in level:
                thread = threading.Thread(target=self._service,
                                          args=(service, plan, done, failed, start), daemon=True)
                thread.start()
                threads.append(thread)
        for thread in threads:
            thread.join()
        if failed:
            raise UpError("\n".join(f"service {name!r}: {why}" for name, why in failed.items()))

    def _remove_orphan(self, orphan: ContainerInfo) -> None:
        self.progress.update("Container", orphan.name, "Removing")
        self.stop(orphan)
        self.backend.remove(orphan.id)
        self.progress.update("Container", orphan.name, "Removed", done=True)

    def _service(self, service: str, plan: UpPlan, done: dict[str, threading.Event],
                 failed: dict[str, str], start: bool) -> None:
        try:
            for dep in self.project.services[service].depends_on:
                if dep in done:
                    done[dep].wait()
            if start:
                self.wait_for_dependencies(service, failed)
            actions = plan.actions[service]
            removals = [a for a in actions if a.kind == "remove"]  # scale down first: they
            rest = [a for a in actions if a.kind != "remove"]       # may hold ports and names
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda a: self._do(a, start), removals))
                results = list(pool.map(lambda a: self._do(a, start), rest))
            with self.lock:
                self.current[service] = [r for r in results if r is not None]
        except Exception as err:  # noqa: BLE001 - reported with the service's name
            failed[service] = str(err)
            for action in plan.actions[service]:
                line = self.progress.lines.get(("Container", action.name))
                if line is None or line.ended is None:
                    self.progress.update("Container", action.name, "Error", failed=True)
        finally:
            done[service].set()


def run_parallel(items: list, fn: Callable, workers: int = 16) -> list:
    """Call fn on every item in parallel; raise the first error after all are done."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures: list[Future] = [pool.submit(fn, item) for item in items]
    return [f.result() for f in futures]
