"""The runtime's public face: what the docker-like commands (`berth container`, `image`,
`network`, `volume`, `login`) use, and all they may use, of the runtime.

Names are loaded when first used (PEP 562), so a command pays only for the modules it
needs: `berth container ls` never imports the image builder.
"""
from __future__ import annotations

import importlib
from typing import Any, Mapping

_EXPORTS = {
    "Containers": "runtime.containers", "Container": "runtime.containers",
    "ContainerError": "runtime.containers", "ContainerNotFound": "runtime.containers",
    "RunOptions": "runtime.create", "SpecError": "runtime.create",
    "Mount": "runtime.spec", "Endpoint": "runtime.spec", "NetworkConfig": "runtime.spec",
    "Healthcheck": "runtime.spec", "image_healthcheck": "runtime.create",
    "ImageNotFound": "runtime.images.store", "mac_for": "runtime.network.ioctl",
    "read_events": "runtime.eventlog", "cgroup_version": "runtime.cgroups",
    "DEFAULT_PIDS_LIMIT": "runtime.create", "tree_size": "runtime.fsutil", "commit_container": "runtime.snapshot",
    "export_container": "runtime.snapshot", "container_changes": "runtime.snapshot", "parse_platform": "runtime.images.platforms",
    "PortMapping": "runtime.spec", "Resources": "runtime.spec",
    "security_options": "runtime.securityopts", "SecurityOptError": "runtime.securityopts",
    "Networks": "runtime.network.api", "NetworkError": "runtime.network.api",
    "VolumeError": "runtime.volumes",
    "import_rootfs": "runtime.images.archive", "load_archive": "runtime.images.archive",
    "save_archive": "runtime.images.archive",
    "Builder": "runtime.images.build", "BuildOptions": "runtime.images.buildspec",
    "build_cache_usage": "runtime.images.buildcache", "prune_build_cache": "runtime.images.buildcache",
    "Registry": "runtime.images.registry", "save_credentials": "runtime.images.registry",
    "remove_credentials": "runtime.images.registry",
}
_RENAMED = {"load_archive": "load", "save_archive": "save", "build_cache_usage": "usage",
            "prune_build_cache": "prune", "parse_platform": "parse",
            "commit_container": "commit_paused", "export_container": "export",
            "container_changes": "changes", "read_events": "read"}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"runtime.api has no {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), _RENAMED.get(name, name))


def engine(environ: Mapping[str, str]):
    """The containers API (and through it images and volumes) for BERTH_ROOT."""
    from .containers import Containers
    from .paths import Paths

    return Containers(Paths.from_env(environ))


def networks(environ: Mapping[str, str]):
    """The networks API for BERTH_ROOT."""
    from .network.api import Networks
    from .paths import Paths

    return Networks(Paths.from_env(environ))


def registry(environ: Mapping[str, str]):
    """A registry client with BERTH_ROOT's settings and the caller's credentials."""
    from . import settings
    from .images.registry import Registry

    api = engine(environ)
    conf = settings.load(api.paths)
    return Registry(api.images, dict(environ), conf.insecure_registries,
                    conf.max_concurrent_downloads)


__all__ = sorted(_EXPORTS) + ["engine", "networks", "registry"]
