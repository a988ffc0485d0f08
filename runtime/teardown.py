"""Giving back what a container holds: its cgroup, its network, its files.

Used by the container's monitor (runtime.monitor) when the container is done and by the
commands (runtime.containers) when no monitor is there to do it.
"""
from __future__ import annotations

import os
import shutil

from . import cgroups, eventlog, netns
from .network.api import release_container
from .paths import Paths
from .spec import ContainerSpec
from .volumes import Volumes


def free_cgroup(cgroup: cgroups.Cgroup) -> None:
    """From the monitor: step out of the container's cgroup (back where it was), then
    remove it, killing what is left of the container. If it can't step out, the container's
    processes still go, and the monitor lives on (destroy never kills it) to free the rest;
    only the cgroup is left behind."""
    try:
        cgroup.leave(os.getpid())
    except OSError:
        pass  # never joined (its creation failed), already gone, or nowhere to go
    try:
        cgroup.destroy()
    except OSError:
        pass


def release_network(paths: Paths, cid: str, spec: ContainerSpec) -> None:
    """Give back addresses, ports and the network namespace (its interfaces go with it)."""
    if spec.network.mode in ("none", "bridge"):
        release_container(paths, cid)


def remove_files(paths: Paths, cid: str, spec: ContainerSpec, volumes: bool = True) -> None:
    """Delete a stopped container's files, its name and (with `volumes`) anonymous volumes."""
    cdir = paths.container(cid)
    (cdir / "config.json").unlink(missing_ok=True)  # from here on, nobody sees the container
    link = paths.names / spec.name
    if os.path.islink(link) and os.readlink(link) == cid:
        os.unlink(link)
    cgroups.for_container(cid).destroy()
    netns.remove(str(paths.netns / cid))
    shutil.rmtree(cdir, ignore_errors=True)
    eventlog.record(paths.root, "container", "destroy", cid,
                    {"image": spec.image, "name": spec.name, **spec.labels})
    if volumes:
        store = Volumes(paths)
        for mount in spec.mounts:
            if mount.volume:
                try:
                    if store.get(mount.volume).anonymous:
                        store.remove(mount.volume)
                except Exception:  # noqa: BLE001 - already gone
                    pass
