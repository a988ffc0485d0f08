"""The container as its monitor knows it, read once from its directory at start (a
NamedTuple: see runtime.monitor.launch)."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from .. import cgroups, seccomp
from ..capabilities import container_caps
from ..fsutil import read_json
from ..paths import Paths
from ..rootfs import Layout
from ..spec import ContainerSpec


class Config(NamedTuple):
    paths: Paths
    cid: str
    spec: ContainerSpec
    layout: Layout
    cgroup: cgroups.Cgroup
    caps: list[str]  # what its processes (PID 1, health checks) get
    syscall_filter: bytes | None

    @property
    def dir(self) -> Path:
        return self.paths.container(self.cid)

    @classmethod
    def load(cls, paths: Paths, cid: str) -> Config:
        cdir = paths.container(cid)
        spec = ContainerSpec.from_dict(read_json(cdir / "config.json"))
        rootfs = read_json(cdir / "rootfs.json")
        caps = container_caps(spec.cap_add, spec.cap_drop, spec.privileged,
                              device_filter=cgroups.filters_devices())
        return cls(paths, cid, spec, Layout(str(cdir), rootfs["layers_root"], rootfs["layers"]),
                   cgroups.for_container(cid), caps,
                   seccomp.for_container(caps, spec.privileged, spec.seccomp))
