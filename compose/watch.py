"""compose's `develop.watch`: when files change, sync them into the running containers,
restart, exec, or rebuild, as each rule says.

Files are written straight into the containers' filesystems by the runtime (no tar or
shell needed in the image, any USER), owned by the container's user. A burst of changes
(an editor's save, a `git checkout`) comes as one batch. Containers that (re)start are
synced again, so nothing changed while they were down is missed.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

from common.patterns import Ignore

from .backend import Backend, ExecRequest
from .errors import ComposeError
from .labels import ContainerInfo
from .model import Project, WatchRule

SYNC_ACTIONS = ("sync", "sync+restart", "sync+exec")
DEFAULT_IGNORES = [".git", ".git/**", "*~", "*.swp", "*.swx", ".#*", "#*#", "4913"]


@dataclass
class Trigger:
    service: str
    rule: WatchRule
    ignore: Ignore
    context_ignore: Ignore | None
    context: str | None
    include: Ignore | None = None

    def relative(self, path: str, directory: bool = False) -> str | None:
        """`path` relative to the rule's path, or None when the rule doesn't take it (a
        directory is taken whatever `include` says: what it holds may be included)."""
        base = self.rule.path.rstrip("/")
        if path != base and not path.startswith(base + "/"):
            return None
        rel = os.path.relpath(path, base) if path != base else os.path.basename(path)
        rel = "" if rel == "." else rel
        if rel and self.ignore.ignored(rel):
            return None
        if self.context_ignore is not None and self.context and \
                (path == self.context or path.startswith(self.context + "/")):
            in_context = os.path.relpath(path, self.context)
            if in_context != "." and self.context_ignore.ignored(in_context):
                return None
        if self.include is not None and rel and not directory and not self.include.ignored(rel):
            return None  # `include`: only what its patterns match
        return rel

    def target(self, rel: str) -> str:
        assert self.rule.target is not None
        if os.path.isfile(self.rule.path) or not rel:
            return self.rule.target
        return os.path.join(self.rule.target, rel)


def triggers(project: Project, services: list[str]) -> list[Trigger]:
    """The watch rules of `services`, checked as compose checks them."""
    out = []
    for name in services:
        svc = project.services[name]
        if not svc.watch:
            continue
        if svc.build is None:
            raise ComposeError(f"service {name!r} has develop.watch rules but no build "
                               "section: watch works on services berth builds")
        context = os.path.realpath(svc.build.context)
        for index, rule in enumerate(svc.watch):
            where = f"service {name!r}: develop.watch[{index}]"
            if not os.path.exists(rule.path):
                raise ComposeError(f"{where}: path {rule.path} does not exist")
            out.append(Trigger(name, rule, Ignore(DEFAULT_IGNORES + list(rule.ignore)),
                               Ignore.from_context(context), context,
                               Ignore(list(rule.include)) if rule.include else None))
    return out


class Watcher:
    def __init__(self, project: Project, backend: Backend, services: list[str],
                 say: Callable[[str], None], rebuild: Callable[[str], None]) -> None:
        self.project = project
        self.backend = backend
        self.triggers = triggers(project, services)
        if not self.triggers:
            raise ComposeError("none of the selected services is configured for watch: "
                               "add a 'develop.watch' section")
        self.say = say
        self.rebuild = rebuild
        self.seen: dict[str, tuple[str, float]] = {}  # service -> (container id, started) seen

    # --- the containers ------------------------------------------------------------------

    def containers(self, service: str) -> list[ContainerInfo]:
        return [c for c in self.backend.containers(self.project.name, all=False)
                if c.service == service and not c.oneoff and c.status == "running"]

    def full_sync(self, trigger: Trigger, containers: list[ContainerInfo]) -> int:
        """Everything under the rule's path, into `containers`; how many files."""
        changes = []
        root = trigger.rule.path
        if os.path.isfile(root):
            changes.append((root, trigger.target("")))
        else:
            for dirpath, dirnames, filenames in os.walk(root):
                for name in list(dirnames):
                    if trigger.relative(os.path.join(dirpath, name), directory=True) is None:
                        dirnames.remove(name)
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    rel = trigger.relative(path)
                    if rel is not None:
                        changes.append((path, trigger.target(rel)))
        for info in containers:
            self.backend.sync_files(info.id, changes)
        return len(changes)

    def initial(self) -> None:
        for trigger in self.triggers:
            if trigger.rule.initial_sync and trigger.rule.action in SYNC_ACTIONS:
                count = self.full_sync(trigger, self.containers(trigger.service))
                self.say(f"Synced {count} files into service {trigger.service!r} (initial sync)")
        self.note_containers()

    def note_containers(self) -> list[str]:
        """Services whose containers (re)started since last looked: they need a full sync."""
        fresh = []
        for service in {t.service for t in self.triggers}:
            current = sorted((c.id, c.started) for c in self.containers(service))
            key = tuple(current)
            if self.seen.get(service) is not None and self.seen[service] != key and current:
                fresh.append(service)
            self.seen[service] = key  # type: ignore[assignment]
        return fresh

    # --- changes ---------------------------------------------------------------------------

    def apply(self, changed: set[str]) -> None:
        """One batch of changed paths: every rule that takes some of them acts once."""
        by_service: dict[str, list[tuple[Trigger, list[tuple[str | None, str]]]]] = {}
        for trigger in self.triggers:
            changes = []
            for path in sorted(changed):
                rel = trigger.relative(path)
                if rel is None:
                    continue
                host = path if os.path.exists(path) else None
                changes.append((host, trigger.target(rel) if trigger.rule.target else path))
            if changes:
                by_service.setdefault(trigger.service, []).append((trigger, changes))
        for service, hits in by_service.items():
            try:
                self._act(service, hits)
            except Exception as err:  # noqa: BLE001 - reported; watching goes on
                self.say(f"Error in service {service!r}: {err}")
        for service in self.note_containers():
            self.resync(service)

    def _act(self, service: str, hits: list[tuple[Trigger, list]]) -> None:
        started = time.monotonic()
        actions = {t.rule.action for t, _ in hits}
        files = sum(len(changes) for _, changes in hits)
        if "rebuild" in actions:
            self.say(f"Rebuilding service {service!r} after {files} changed file(s)")
            self.rebuild(service)
            self.note_containers()
            self.say(f"Rebuilt and recreated service {service!r} in "
                     f"{(time.monotonic() - started) * 1000:.0f} ms")
            return
        containers = self.containers(service)
        if not containers:
            self.say(f"Service {service!r} has no running container: its files are synced "
                     "when it starts")
            return
        for trigger, changes in hits:
            if trigger.rule.action in SYNC_ACTIONS:
                for info in containers:
                    self.backend.sync_files(info.id, changes)
        if "sync+restart" in actions or "restart" in actions:
            for info in containers:
                self.backend.restart(info.id)
            self.note_containers()
        for trigger, _ in hits:
            if trigger.rule.action == "sync+exec" and trigger.rule.exec is not None:
                hook = trigger.rule.exec
                env = [f"{k}={v}" for k, v in hook.environment.items() if v is not None]
                for info in containers:
                    code, _ = self.backend.exec(info.id, ExecRequest(
                        list(hook.command), hook.user, hook.working_dir, env)).wait()
                    if code:
                        self.say(f"exec in {info.name} exited with code {code}")
        verb = {"sync": "Synced", "sync+restart": "Synced and restarted", "restart": "Restarted",
                "sync+exec": "Synced and ran exec in"}
        what = " / ".join(verb.get(a, a) for a in sorted(actions))
        names = ", ".join(os.path.basename(c[1]) for _, changes in hits for c in changes[:3])
        self.say(f"{what} service {service!r}: {files} file(s) ({names}{'...' if files > 3 else ''}) "
                 f"in {(time.monotonic() - started) * 1000:.0f} ms")

    def resync(self, service: str) -> None:
        for trigger in self.triggers:
            if trigger.service == service and trigger.rule.action in SYNC_ACTIONS:
                count = self.full_sync(trigger, self.containers(service))
                self.say(f"Service {service!r} (re)started: synced {count} file(s) again")

    def run(self, stop: threading.Event) -> None:
        import watchfiles

        self.initial()
        paths = sorted({t.rule.path for t in self.triggers})
        self.say("Watching " + ", ".join(paths) + " (Ctrl+C to stop)")
        for batch in watchfiles.watch(*paths, watch_filter=None, debounce=800, step=20,
                                      stop_event=stop, rust_timeout=500, yield_on_timeout=True,
                                      raise_interrupt=False):
            if batch:
                self.apply({path for _, path in batch})
            else:
                for service in self.note_containers():
                    self.resync(service)
