"""cgroup v2: one unified directory with memory.max, cpu.max, pids.max, cgroup.kill."""
from __future__ import annotations

import os
import resource
import signal
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

from ..errors import BerthError
from ..spec import Resources
from ..syscalls import (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_PROG_TYPE_CGROUP_DEVICE,
                        SYSCALLS, Syscalls)
from . import devicefilter
from .v1 import _read, _rmdir, _write

WANTED = ("cpu", "memory", "pids", "cpuset")


class DeviceFilterError(BerthError):
    """The kernel would not take the container's device filter (no cgroup BPF)."""


def shares_to_weight(shares: int) -> int:
    """cgroup v1 cpu.shares (2..262144) -> v2 cpu.weight (1..10000), as runc maps it."""
    return 1 + ((max(2, min(shares, 262144)) - 2) * 9999) // 262142


def filter_devices(path: str, rules: Sequence[str], sys: Syscalls = SYSCALLS) -> None:
    """Attach an eBPF device program allowing `rules` (and nothing else) to the cgroup at
    `path`, as runc does on v2: with BPF_F_ALLOW_MULTI, so a cgroup below (a nested
    runtime's) can attach programs of its own, which run as well as this one; every
    program must allow an access, so none can lift this filter (as ALLOW_OVERRIDE would)."""
    code = devicefilter.program([devicefilter.parse_rule(rule) for rule in rules])
    try:
        dirfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            with _memlock_unlimited():
                # no helper is called, so no GPL-only one: any license string will do
                prog = sys.bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, code, "Apache-2.0",
                                         "berth_devices")
            try:
                sys.bpf_prog_attach(dirfd, prog, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)
            finally:
                os.close(prog)  # the attachment holds the program
        finally:
            os.close(dirfd)
    except OSError as err:
        raise DeviceFilterError(f"cannot limit the container's devices (cgroup v2 needs an "
                                f"eBPF device program): {err.strerror or err}") from None


@contextmanager
def _memlock_unlimited() -> Iterator[None]:
    """Kernels before 5.11 charge BPF programs to RLIMIT_MEMLOCK (runc lifts it too); only
    for the load, so the container does not inherit the lifted limit."""
    old = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY,) * 2)
    except (OSError, ValueError):
        old = None
    try:
        yield
    finally:
        if old is not None:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, old)


class V2:
    """A container's cgroup: `berth-<id>` holds the CPU limits and two leaves, `container`
    (its processes, with the memory and pids limits, the freezer and the device filter)
    and `monitor` (its monitor, whose logging and health checks then share the container's
    CPU limit and accounting, yet are neither paused nor counted in its pids)."""

    def __init__(self, path: str, root: str, sys: Syscalls = SYSCALLS) -> None:
        self.path = path
        self.root = root
        self.sys = sys
        self.leaf = os.path.join(path, "container")
        self.monitor = os.path.join(path, "monitor")

    def _set(self, name: str, value: str, where: str | None = None) -> None:
        path = os.path.join(where or self.leaf, name)
        if os.path.exists(path):
            _write(path, value)

    def exists(self) -> bool:
        return os.path.isdir(self.path)

    def _enable_controllers(self, parent: str) -> None:
        """Hand the controllers berth uses down from `parent` to its children."""
        try:
            available = _read(os.path.join(parent, "cgroup.controllers")).split()
            enabled = _read(os.path.join(parent, "cgroup.subtree_control")).split()
        except OSError:
            return
        missing = [c for c in WANTED if c in available and c not in enabled]
        if missing:
            try:
                _write(os.path.join(parent, "cgroup.subtree_control"),
                       " ".join(f"+{c}" for c in missing))
            except OSError:
                pass  # e.g. the root has processes of its own; limits then don't apply

    def create(self, resources: Resources, devices: Sequence[str] = ()) -> None:
        """`devices`: rules for the container's own devices ("c 10:229 rwm"), allowed on
        top of DEVICE_RULES. Raises DeviceFilterError if the device filter can't be set."""
        self._enable_controllers(self.root)
        os.makedirs(self.path, exist_ok=True)
        self._enable_controllers(self.path)
        for leaf in (self.leaf, self.monitor):
            os.makedirs(leaf, exist_ok=True)
        filter_devices(self.leaf, (*devicefilter.DEVICE_RULES, *devices), self.sys)
        if resources.memory:
            self._set("memory.max", str(resources.memory))
            if resources.memory_swap:
                self._set("memory.swap.max", str(max(0, resources.memory_swap - resources.memory)))
        if resources.cpus:
            self._set("cpu.max", f"{int(resources.cpus * 100000)} 100000", self.path)
        if resources.cpu_shares:
            self._set("cpu.weight", str(shares_to_weight(resources.cpu_shares)), self.path)
        if resources.pids:
            self._set("pids.max", str(resources.pids))
        if resources.memory_reservation:
            self._set("memory.low", str(resources.memory_reservation))
        if resources.cpuset:
            try:
                self._set("cpuset.cpus", resources.cpuset, self.path)
            except OSError as err:
                raise ValueError(f"cpuset {resources.cpuset!r}: {err.strerror}") from None

    def procs_files(self) -> list[str]:
        return [os.path.join(self.leaf, "cgroup.procs")]

    def add(self, pid: int) -> None:
        _write(os.path.join(self.leaf, "cgroup.procs"), str(pid))

    def add_monitor(self, pid: int) -> None:
        _write(os.path.join(self.monitor, "cgroup.procs"), str(pid))

    def leave(self, pid: int) -> None:
        """Move the monitor back to the root, so the cgroup can go."""
        _write(os.path.join(self.root, "cgroup.procs"), str(pid))

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in _read(os.path.join(self.leaf, "cgroup.procs")).split()]
        except FileNotFoundError:
            return []

    def freeze(self) -> None:
        self._set("cgroup.freeze", "1")
        events = os.path.join(self.leaf, "cgroup.events")
        for _ in range(1000):
            if not os.path.exists(events) or "frozen 1" in _read(events):
                return
            time.sleep(0.001)

    def thaw(self) -> None:
        self._set("cgroup.freeze", "0")

    def _keyed(self, name: str, where: str) -> dict[str, int]:
        out = {}
        try:
            for line in _read(os.path.join(where, name)).splitlines():
                key, _, value = line.partition(" ")
                out[key] = int(value) if value.isdigit() else 0
        except OSError:
            pass
        return out

    def stats(self) -> dict[str, int]:
        def number(name: str) -> int:
            try:
                text = _read(os.path.join(self.leaf, name)).strip()
                return int(text) if text.isdigit() else 0
            except OSError:
                return 0

        return {"cpu_ns": self._keyed("cpu.stat", self.path).get("usage_usec", 0) * 1000,
                "memory": number("memory.current"), "memory_limit": number("memory.max"),
                "pids": number("pids.current")}

    def oom_killed(self) -> bool:
        return self._keyed("memory.events", self.leaf).get("oom_kill", 0) > 0

    def destroy(self) -> None:
        """Kill whatever is left, then remove the leaves and the cgroup."""
        if not self.exists():
            return
        if os.path.exists(os.path.join(self.path, "cgroup.kill")):
            self._set("cgroup.kill", "1", self.path)
        else:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for directory in (self.leaf, self.monitor, self.path):
            _rmdir(directory)
