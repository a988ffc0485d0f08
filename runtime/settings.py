"""berth's settings: BERTH_ROOT/settings.json (all keys optional), and the environment.

    {"address_pools": [["10.213.0.0/16", 24]],      subnets for new networks
     "insecure_registries": ["registry.lan:5000"],  plain-HTTP registries
     "max_concurrent_downloads": 3,                 layers pulled at once
     "max_concurrent_builds": 2}                    images built at once
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from .fsutil import read_json
from .paths import Paths


@dataclass(frozen=True)
class Settings:
    address_pools: tuple[tuple[str, int], ...] = (("10.213.0.0/16", 24), ("10.214.0.0/16", 24))
    insecure_registries: tuple[str, ...] = ()
    max_concurrent_downloads: int = 3
    max_concurrent_builds: int = 2


def load(paths: Paths, environ: Mapping[str, str] = os.environ) -> Settings:
    data = read_json(paths.root / "settings.json", {}) or {}
    insecure = list(data.get("insecure_registries", []))
    insecure += [r for r in environ.get("BERTH_INSECURE_REGISTRIES", "").split(",") if r]
    defaults = Settings()
    return Settings(
        address_pools=tuple((str(b), int(s)) for b, s in data.get("address_pools", defaults.address_pools)),
        insecure_registries=tuple(insecure),
        max_concurrent_downloads=int(data.get("max_concurrent_downloads", 3)),
        max_concurrent_builds=int(data.get("max_concurrent_builds", 2)))
