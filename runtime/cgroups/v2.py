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


def cgroup_of(pid: int, root: str, proc: str = "/proc") -> str | None:
    """The directory under `root` (the cgroup2 mount of this cgroup namespace) of the cgroup
    process `pid` is in, from its /proc/<pid>/cgroup `0::` line; None if unknown, or outside
    the namespace (the path then starts with "/..")."""
    try:
        with open(os.path.join(proc, str(pid), "cgroup")) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            path = line[3:]
            if not path.startswith("/") or ".." in path.split("/"):
                return None
            return os.path.normpath(os.path.join(root, path.lstrip("/")))
    return None


class V2:
    """A container's cgroup: `berth-<id>` holds the CPU limits and two leaves, `container`
    (its processes, with the memory and pids limits, the freezer and the device filter)
    and `monitor` (its monitor, whose logging and health checks then share the container's
    CPU limit and accounting, yet are neither paused nor counted in its pids).

    A container started by a berth from before the leaves has its processes in `berth-<id>`
    itself: where there is no `container` leaf, the cgroup stands for it (`procs_dir`)."""

    def __init__(self, path: str, root: str, sys: Syscalls = SYSCALLS,
                 proc: str = "/proc") -> None:
        self.path = path
        self.root = root
        self.sys = sys
        self.proc = proc
        self.leaf = os.path.join(path, "container")
        self.monitor = os.path.join(path, "monitor")
        self.origin: str | None = None  # the monitor's cgroup before add_monitor

    @property
    def procs_dir(self) -> str:
        """Where the container's processes are: its leaf, or (made by an older berth) the
        cgroup itself."""
        return self.leaf if os.path.isdir(self.leaf) else self.path

    def _set(self, name: str, value: str, where: str | None = None) -> None:
        path = os.path.join(where or self.procs_dir, name)
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

    def create(self, resources: Resources,
               devices: Sequence[str] = devicefilter.DEVICE_RULES) -> None:
        """`devices`: the rules of the devices the container may use ("c 10:229 rwm"; see
        cgroups.device_rules), every other one is denied. Raises DeviceFilterError if the
        device filter can't be set."""
        self._enable_controllers(self.root)
        os.makedirs(self.path, exist_ok=True)
        self._enable_controllers(self.path)
        for leaf in (self.leaf, self.monitor):
            os.makedirs(leaf, exist_ok=True)
        filter_devices(self.leaf, devices, self.sys)
        if resources.memory:
            self._set("memory.max", str(resources.memory))
            if resources.memory_swap:
                self._set("memory.swap.max", str(max(0, resources.memory_swap - resources.memory)))
        limit = resources.cpu_limit()
        if limit:
            self._set("cpu.max", f"{limit[0]} {limit[1]}", self.path)
        if resources.cpu_shares:
            self._set("cpu.weight", str(shares_to_weight(resources.cpu_shares)), self.path)
        if resources.pids:
            self._set("pids.max", str(resources.pids))
        if resources.memory_reservation:
            self._set("memory.low", str(resources.memory_reservation))
        if resources.blkio_weight:
            self._set("io.weight", f"default {resources.blkio_weight}", self.path)
        for device, weight in resources.blkio_weight_device:
            self._set("io.weight", f"{device} {weight}", self.path)
        for key, limits in (("rbps", resources.device_read_bps),
                            ("wbps", resources.device_write_bps),
                            ("riops", resources.device_read_iops),
                            ("wiops", resources.device_write_iops)):
            for device, value in limits:
                self._set("io.max", f"{device} {key}={value}", self.path)
        if resources.cpuset_mems:
            self._set("cpuset.mems", resources.cpuset_mems, self.path)
        if resources.cpuset:
            try:
                self._set("cpuset.cpus", resources.cpuset, self.path)
            except OSError as err:
                raise ValueError(f"cpuset {resources.cpuset!r}: {err.strerror}") from None

    def procs_files(self) -> list[str]:
        return [os.path.join(self.procs_dir, "cgroup.procs")]

    def add(self, pid: int) -> None:
        _write(os.path.join(self.procs_dir, "cgroup.procs"), str(pid))

    def _inside(self, directory: str) -> bool:
        return directory == self.path or directory.startswith(self.path + os.sep)

    def add_monitor(self, pid: int) -> None:
        """Move the monitor into its leaf, remembering where it was (for leave)."""
        origin = cgroup_of(pid, self.root, self.proc)
        if origin is not None and not self._inside(origin):
            self.origin = origin
        _write(os.path.join(self.monitor, "cgroup.procs"), str(pid))

    def _homes(self) -> list[str]:
        """Where leave may put the monitor, best first: the cgroup it came from, then (that
        one gone) its parents up to the root; the root alone if it is not known."""
        if self.origin is None:
            return [self.root]
        homes = [self.origin]
        while homes[-1] != self.root and self._below_root(homes[-1]):
            homes.append(os.path.dirname(homes[-1]))
        return homes

    def _below_root(self, directory: str) -> bool:
        return directory.startswith(self.root.rstrip(os.sep) + os.sep)

    def leave(self, pid: int) -> None:
        """Move the monitor back where it was, so the cgroup can go. Not to the root unless
        it came from there: under a cgroup namespace the root may be a cgroup with
        controllers enabled, which takes no processes (EBUSY)."""
        *better, last = self._homes()
        for home in better:
            try:
                _write(os.path.join(home, "cgroup.procs"), str(pid))
                return
            except OSError:
                continue  # gone since (ENOENT), or not a leaf (EBUSY)
        _write(os.path.join(last, "cgroup.procs"), str(pid))

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in _read(os.path.join(self.procs_dir, "cgroup.procs")).split()]
        except FileNotFoundError:
            return []

    def freeze(self) -> None:
        self._set("cgroup.freeze", "1")
        events = os.path.join(self.procs_dir, "cgroup.events")
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
                text = _read(os.path.join(self.procs_dir, name)).strip()
                return int(text) if text.isdigit() else 0
            except OSError:
                return 0

        return {"cpu_ns": self._keyed("cpu.stat", self.path).get("usage_usec", 0) * 1000,
                "memory": number("memory.current"), "memory_limit": number("memory.max"),
                "pids": number("pids.current")}

    def oom_killed(self) -> bool:
        return self._keyed("memory.events", self.procs_dir).get("oom_kill", 0) > 0

    def destroy(self) -> None:
        """Kill what is left of the container, then remove the leaves and the cgroup. Only
        the container's leaf is killed, never the monitor's: the monitor calls this, and if
        it could not leave, its leaf (and the cgroup) stay, but it lives on to free the rest."""
        if not self.exists():
            return
        if os.path.exists(os.path.join(self.procs_dir, "cgroup.kill")):
            self._set("cgroup.kill", "1")
        else:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for directory in (self.leaf, self.monitor, self.path):
            _rmdir(directory)
