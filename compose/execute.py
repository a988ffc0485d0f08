"""Carry out plans concurrently. No decisions here: compose.reconcile made them.

`up`: networks and volumes first (in parallel), then one task per service, started in
level order; each waits for its own dependencies' conditions only (pushed by the
monitors), then removes, recreates, creates and starts its replicas in parallel.
A failure names the service, the phase and the dependency chain, with the last log
lines of the dependency that failed. The other plans: level by level, each level's
containers in parallel.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from common.errors import BerthError

from .backend import Backend, ContainerRequest, DependencyFailed, NetworkRequest
from .errors import ComposeError
from .events import DONE, FAILED, WORKING, Note, Reporter, Step
from .hooks import run_hooks, run_pre_start, stop_after_hooks
from .labels import NETWORK, VOLUME, ContainerInfo, resource_labels
from .model import Project
from .plan import Action, Change, ContainersPlan, DownPlan, UpPlan


class UpError(BerthError):
    """`up` could not bring every service up; the message lists what failed and why."""


def _last_lines(backend: Backend, cid: str, count: int = 5) -> str:
    try:
        lines = [line.text.rstrip("\n") for line in backend.logs(cid, tail=count)]
    except Exception:  # noqa: BLE001 - the container may be gone
        return ""
    return "".join(f"\n    | {line}" for line in lines)


class Executor:
    def __init__(self, backend: Backend, report: Reporter, project: Project | None = None,
                 timeout: float | None = None) -> None:
        self.project = project
        self.backend = backend
        self.report = report
        self.timeout = timeout  # waiting for a dependency's condition
        self.lock = threading.Lock()
        self.ended: set[tuple[str, str]] = set()  # (kind, name) whose step is over
        self.current: dict[str, list[ContainerInfo]] = {}  # service -> its containers now

    def step(self, kind: str, name: str, status: str, state: str = WORKING) -> None:
        if state != WORKING:
            with self.lock:
                self.ended.add((kind, name))
        self.report(Step(kind, name, status, state))

    # --- up: resources -------------------------------------------------------------------

    def create_network(self, key: str) -> None:
        project = self.project
        assert project is not None
        net = project.networks[key]
        self.step("Network", net.name, "Creating")
        ipam = net.ipam[0] if net.ipam else None
        self.backend.create_network(NetworkRequest(
            net.name, resource_labels(project, NETWORK, key, net.labels),
            subnet=ipam.subnet if ipam else None, gateway=ipam.gateway if ipam else None,
            ip_range=ipam.ip_range if ipam else None, internal=net.internal))
        self.step("Network", net.name, "Created", DONE)

    def create_volume(self, key: str) -> None:
        project = self.project
        assert project is not None
        vol = project.volumes[key]
        self.step("Volume", vol.name, "Creating")
        self.backend.create_volume(vol.name, resource_labels(project, VOLUME, key, vol.labels))
        self.step("Volume", vol.name, "Created", DONE)

    # --- up: containers ------------------------------------------------------------------

    def create_container(self, action: Action) -> ContainerInfo:
        assert self.project is not None
        info = self.backend.create(self.project, ContainerRequest(
            self.project.services[action.service], action.name, action.number, action.labels,
            action.inherited))
        for warning in info.warnings:  # what the runtime could not apply (limits without root)
            self.report(Note(f"WARN container {info.name}: {warning}"))
        return info

    def stop(self, info: ContainerInfo, timeout: float | None = None) -> None:
        """Stop a container after its pre_stop hooks (a failing hook is reported; the
        container goes all the same)."""
        for note in stop_after_hooks(self.backend, info, timeout):
            if note:
                self.report(Note(note))

    def _prepare(self, action: Action) -> ContainerInfo | None:
        """An action up to where its container would start: removed, kept, restarted,
        or (re)created; None for a removal."""
        progress = lambda text, state=WORKING: self.step("Container", action.name, text, state)  # noqa: E731
        backend = self.backend
        existing = action.existing
        if action.kind == "remove":
            progress("Stopping")
            self.stop(existing)
            backend.remove(existing.id)
            progress("Removed", DONE)
            return None
        if action.kind == "keep":
            progress("Running", DONE)
            return existing
        if action.kind == "restart":
            progress("Restarting")
            backend.restart(existing.id)
            progress("Started", DONE)
            return backend.container(existing.id)
        if action.kind == "recreate":
            progress("Recreate")
            self.stop(existing)
            backend.remove(existing.id)
            info = self.create_container(action)
            progress("Recreated")
            return info
        if action.kind == "create":
            progress("Creating")
            info = self.create_container(action)
            progress("Created")
            return info
        return existing

    def _start(self, action: Action, info: ContainerInfo | None) -> ContainerInfo | None:
        """Start a prepared container (with its post_start hooks)."""
        if info is None or action.kind in ("keep", "restart"):
            return info
        self.step("Container", action.name, "Starting")
        self.backend.start(info.id)
        info = self.backend.container(info.id)
        run_hooks(self.backend, info, "post_start")
        self.step("Container", action.name, "Started", DONE)
        return info

    def _created(self, action: Action, info: ContainerInfo | None) -> ContainerInfo | None:
        if info is not None and action.kind not in ("keep", "restart"):
            self.step("Container", action.name, "Created", DONE)
        return info

    def _pre_start(self, service: str, plan: UpPlan, prepared: list[ContainerInfo]) -> None:
        """Remove what an earlier failure of the service's pre_start hooks kept, then run
        them (they share the volumes of its lowest-numbered container)."""
        assert self.project is not None
        for stale in plan.pre_start[service]:
            self.backend.remove(stale.id, force=True, volumes=True)
        first = min(prepared, key=lambda info: info.number)
        self.step("Hook", f"{service} pre_start", "Running")
        try:
            run_pre_start(self.backend, self.project, service, first, self.report)
        except ComposeError:
            self.step("Hook", f"{service} pre_start", "Error", FAILED)
            raise
        self.step("Hook", f"{service} pre_start", "Done", DONE)

    def wait_for_dependencies(self, service: str, failed: dict[str, str]) -> None:
        assert self.project is not None
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
                self.step("Container", info.name, "Waiting")
                try:
                    reached = self.backend.wait_until(info.id, condition.condition, self.timeout)
                except DependencyFailed as err:
                    self.step("Container", info.name, "Error", FAILED)
                    if condition.required:
                        raise DependencyFailed(f"dependency {dep!r} failed: {err}"
                                               f"{_last_lines(self.backend, info.id)}") from None
                    continue
                text = {"service_healthy": "Healthy",
                        "service_completed_successfully": "Exited"}.get(condition.condition, "Started")
                self.step("Container", reached.name, text, DONE)

    def up(self, plan: UpPlan, start: bool = True) -> None:
        for service, actions in plan.actions.items():
            self.current[service] = [a.existing for a in actions
                                     if a.existing is not None and a.kind in ("keep", "start", "restart")]
        resources = [lambda k=k: self.create_network(k) for k in plan.networks]
        resources += [lambda k=k: self.create_volume(k) for k in plan.volumes]
        run_parallel(resources, lambda create: create())
        if plan.remove_orphans:
            run_parallel(plan.orphans, self._remove_orphan)
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
        self.step("Container", orphan.name, "Removing")
        self.stop(orphan)
        self.backend.remove(orphan.id)
        self.step("Container", orphan.name, "Removed", DONE)

    def _service(self, service: str, plan: UpPlan, done: dict[str, threading.Event],
                 failed: dict[str, str], start: bool) -> None:
        assert self.project is not None
        try:
            for dep in self.project.services[service].depends_on:
                if dep in done:
                    done[dep].wait()
            if start:
                self.wait_for_dependencies(service, failed)
            actions = plan.actions[service]
            removals = [a for a in actions if a.kind == "remove"]  # scale down first: they
            rest = [a for a in actions if a.kind != "remove"]       # may hold ports and names
            run_parallel(removals, self._prepare, workers=8)
            prepared = run_parallel(rest, self._prepare, workers=8)
            if not start:
                results = [self._created(a, i) for a, i in zip(rest, prepared)]
            else:
                if service in plan.pre_start:
                    self._pre_start(service, plan, [i for i in prepared if i is not None])
                results = run_parallel(list(zip(rest, prepared)),
                                       lambda pair: self._start(*pair), workers=8)
            with self.lock:
                self.current[service] = [r for r in results if r is not None]
        except Exception as err:  # noqa: BLE001 - reported with the service's name
            failed[service] = str(err)
            for action in plan.actions[service]:
                if ("Container", action.name) not in self.ended:
                    self.step("Container", action.name, "Error", FAILED)
        finally:
            done[service].set()

    # --- the other plans -----------------------------------------------------------------

    def containers(self, plan: ContainersPlan) -> list[str]:
        """Carry out `plan`; the hooks that failed, for the caller to report once all is
        done (the containers were stopped all the same). A stopped container's removal
        goes on while the next level stops: nothing depends on a container once stopped."""
        failed: list[str] = []
        removals: list[Future] = []
        with ThreadPoolExecutor(max_workers=16) as pool:
            def later(work: Callable[[], None]) -> None:
                removals.append(pool.submit(work))

            for level in plan.levels:
                run_parallel(level, lambda change: self._change(change, plan, failed, later))
        for removal in removals:
            removal.result()  # the first error, once all are done
        return failed

    def _change(self, change: Change, plan: ContainersPlan, failed: list[str],
                later: Callable[[Callable[[], None]], None]) -> None:
        info, backend = change.container, self.backend
        step = lambda status, state=WORKING: self.step("Container", info.name, status, state)  # noqa: E731
        verb = change.verb
        if verb in ("stop", "remove") and info.running:
            step("Stopping")
            failure, note = stop_after_hooks(backend, info, plan.timeout)
            if failure:
                failed.append(failure)
            if note:
                self.report(Note(note))
            step("Stopped", WORKING if verb == "remove" else DONE)
        if verb == "remove":
            def remove() -> None:
                step("Removing")
                backend.remove(info.id, force=True, volumes=plan.volumes)
                step("Removed", DONE)

            later(remove)
        elif verb in ("start", "keep"):
            step("Starting")
            if verb == "start":
                backend.start(info.id)
                try:
                    run_hooks(backend, info, "post_start")
                except ComposeError as err:
                    step("Error", FAILED)
                    raise ComposeError(f"service {info.service!r}: {err}") from None
            step("Started", DONE)
        elif verb == "restart":
            step("Restarting")
            backend.restart(info.id, plan.timeout)
            step("Started", DONE)
        elif verb == "kill":
            backend.kill(info.id, plan.signal)
        elif verb in ("pause", "unpause"):
            backend.pause(info.id, verb == "pause")

    def down(self, plan: DownPlan) -> list[str]:
        """Carry out `plan`; the hooks that failed (see `containers`)."""
        failed = self.containers(plan.containers)
        for name in plan.networks:
            self.step("Network", name, "Removing")
            try:
                self.backend.remove_network(name)
                self.step("Network", name, "Removed", DONE)
            except BerthError as err:  # still in use by an orphan
                self.step("Network", name, f"Error: {err}", FAILED)
        for name in plan.volumes:
            self.step("Volume", name, "Removing")
            self.backend.remove_volume(name)
            self.step("Volume", name, "Removed", DONE)
        for ref in plan.images:
            self.step("Image", ref, "Removing")
            try:
                self.backend.remove_image(ref)
                self.step("Image", ref, "Removed", DONE)
            except BerthError as err:  # e.g. still used by another project
                self.step("Image", ref, str(err), FAILED)
        return failed


def run_parallel(items: list, fn: Callable, workers: int = 16) -> list:
    """Call fn on every item in parallel; raise the first error after all are done."""
    if not items:
        return []
    if len(items) == 1:
        return [fn(items[0])]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures: list[Future] = [pool.submit(fn, item) for item in items]
    return [f.result() for f in futures]
