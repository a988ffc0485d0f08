"""cgroup v1: one directory per controller hierarchy (memory, cpu, cpuacct, pids, ...)."""
from __future__ import annotations

import os
import signal
import time
from typing import Sequence

from ..spec import Resources
from .devicefilter import DEVICE_RULES

CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "freezer", "devices", "cpuset", "blkio")
MONITOR_CONTROLLERS = ("cpu", "cpuacct")  # what a container's monitor joins (see add_monitor)


def mounts(mountinfo: str = "/proc/self/mounts") -> dict[str, str]:
    """controller -> where its hierarchy is mounted."""
    out: dict[str, str] = {}
    with open(mountinfo) as handle:
        for line in handle:
            fields = line.split()
            if len(fields) < 4 or fields[2] != "cgroup":
                continue
            for option in fields[3].split(","):
                if option in CONTROLLERS:
                    out.setdefault(option, fields[1])
    return out


def _write(path: str, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


class V1:
    def __init__(self, name: str, hierarchies: dict[str, str]) -> None:
        # cpuset only for containers that ask for one: a new cpuset cgroup must be filled in
        # (cpus, mems) before it takes a process, which costs every other start for nothing
        self.dirs = {ctrl: os.path.join(root, name) for ctrl, root in hierarchies.items()
                     if ctrl != "cpuset" or os.path.isdir(os.path.join(root, name))}
        self.cpuset_dir = (os.path.join(hierarchies["cpuset"], name)
                           if "cpuset" in hierarchies else None)

    def _file(self, ctrl: str, name: str) -> str | None:
        directory = self.dirs.get(ctrl)
        return os.path.join(directory, name) if directory else None

    def _set(self, ctrl: str, name: str, value: str) -> None:
        path = self._file(ctrl, name)
        if path and os.path.exists(path):
            _write(path, value)

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self.dirs.values())

    def create(self, resources: Resources, devices: Sequence[str] = DEVICE_RULES) -> None:
        """`devices`: the rules of the devices the container may use ("c 10:229 rwm"; see
        cgroups.device_rules), every other one is denied."""
        for directory in self.dirs.values():
            os.makedirs(directory, exist_ok=True)
        if "devices" in self.dirs:
            self._set("devices", "devices.deny", "a")
            for rule in devices:
                self._set("devices", "devices.allow", rule)
        if resources.memory:
            self._set("memory", "memory.limit_in_bytes", str(resources.memory))
            if resources.memory_swap:
                self._set("memory", "memory.memsw.limit_in_bytes", str(resources.memory_swap))
        limit = resources.cpu_limit()
        if limit:
            self._set("cpu", "cpu.cfs_period_us", str(limit[1]))
            self._set("cpu", "cpu.cfs_quota_us", str(limit[0]))
        elif resources.cpu_period:
            self._set("cpu", "cpu.cfs_period_us", str(resources.cpu_period))
        if resources.cpu_shares:
            self._set("cpu", "cpu.shares", str(resources.cpu_shares))
        if resources.pids:
            self._set("pids", "pids.max", str(resources.pids))
        if resources.memory_reservation:
            self._set("memory", "memory.soft_limit_in_bytes", str(resources.memory_reservation))
        if resources.swappiness is not None:
            self._set("memory", "memory.swappiness", str(resources.swappiness))
        if resources.oom_kill_disable:
            self._set("memory", "memory.oom_control", "1")
        self._blkio(resources)
        if (resources.cpuset or resources.cpuset_mems) and self.cpuset_dir:
            os.makedirs(self.cpuset_dir, exist_ok=True)
            self.dirs["cpuset"] = self.cpuset_dir
            parent = os.path.dirname(self.cpuset_dir)
            self._set("cpuset", "cpuset.mems", resources.cpuset_mems or
                      _read(os.path.join(parent, "cpuset.mems")).strip())
            if not resources.cpuset:
                self._set("cpuset", "cpuset.cpus", _read(os.path.join(parent, "cpuset.cpus")).strip())
                return
            try:
                self._set("cpuset", "cpuset.cpus", resources.cpuset)
            except OSError as err:
                have = _read(os.path.join(parent, "cpuset.cpus")).strip()
                raise ValueError(f"cpuset {resources.cpuset!r}: {err.strerror} (this machine's "
                                 f"CPUs are {have})") from None

    def _blkio(self, resources: Resources) -> None:
        """Weights where the kernel has them (blkio.weight: the CFQ scheduler; docker
        discards them otherwise, and so does berth), and the throttles."""
        if resources.blkio_weight:
            self._set("blkio", "blkio.weight", str(resources.blkio_weight))
        for device, weight in resources.blkio_weight_device:
            self._set("blkio", "blkio.weight_device", f"{device} {weight}")
        for name, limits in (("read_bps_device", resources.device_read_bps),
                             ("write_bps_device", resources.device_write_bps),
                             ("read_iops_device", resources.device_read_iops),
                             ("write_iops_device", resources.device_write_iops)):
            for device, value in limits:
                self._set("blkio", f"blkio.throttle.{name}", f"{device} {value}")

    def allow_device(self, rule: str) -> None:
        self._set("devices", "devices.allow", rule)

    def procs_files(self) -> list[str]:
        """The files a process writes its pid to, to join this cgroup."""
        return [os.path.join(d, "cgroup.procs") for d in self.dirs.values()]

    def add(self, pid: int) -> None:
        for path in self.procs_files():
            _write(path, str(pid))

    def _cpu_dirs(self) -> list[str]:
        return list(dict.fromkeys(self.dirs[c] for c in MONITOR_CONTROLLERS if c in self.dirs))

    def add_monitor(self, pid: int) -> None:
        """The container's monitor shares its CPU limit and accounting, nothing else (not
        its freezer, memory or pids): its logging and health checks are the container's
        work, and pausing the container must not stop its monitor."""
        for directory in self._cpu_dirs():
            _write(os.path.join(directory, "cgroup.procs"), str(pid))

    def leave(self, pid: int) -> None:
        """Move the monitor back out (to the hierarchies' parents), so the cgroup can go."""
        for directory in self._cpu_dirs():
            try:
                _write(os.path.join(os.path.dirname(directory), "cgroup.procs"), str(pid))
            except FileNotFoundError:
                pass

    def pids(self) -> list[int]:
        """The container's processes (read where the monitor is not)."""
        ordered = [self.dirs[c] for c in CONTROLLERS if c in self.dirs
                   and c not in MONITOR_CONTROLLERS] + self._cpu_dirs()
        for directory in ordered:
            try:
                return [int(p) for p in _read(os.path.join(directory, "cgroup.procs")).split()]
            except FileNotFoundError:
                continue
        return []

    def freeze(self) -> None:
        self._set("freezer", "freezer.state", "FROZEN")
        path = self._file("freezer", "freezer.state")
        for _ in range(1000):
            if not path or not os.path.exists(path) or _read(path).strip() == "FROZEN":
                return
            time.sleep(0.001)

    def thaw(self) -> None:
        self._set("freezer", "freezer.state", "THAWED")

    def stats(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for key, ctrl, name in (("cpu_ns", "cpuacct", "cpuacct.usage"),
                                ("memory", "memory", "memory.usage_in_bytes"),
                                ("memory_limit", "memory", "memory.limit_in_bytes"),
                                ("pids", "pids", "pids.current")):
            path = self._file(ctrl, name)
            try:
                out[key] = int(_read(path)) if path else 0
            except (OSError, ValueError):
                out[key] = 0
        return out

    def oom_killed(self) -> bool:
        path = self._file("memory", "memory.oom_control")
        try:
            for line in _read(path).splitlines() if path else ():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except OSError:
            pass
        return False

    def destroy(self) -> None:
        """Kill whatever is left in the cgroup, then remove its directories."""
        pids = self.pids()
        if pids:
            self.freeze()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.thaw()
        for directory in self.dirs.values():
            _rmdir(directory)


def _rmdir(directory: str) -> None:
    for _ in range(500):
        try:
            os.rmdir(directory)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.002)  # tasks still exiting
    os.rmdir(directory)
