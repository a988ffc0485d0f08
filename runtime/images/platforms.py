"""Platforms (os/arch[/variant]) as a build sees them: the build's own and its target,
the automatic ARGs BuildKit derives from them, and whether this machine can run one."""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import BerthError
from .imageconfig import host_arch

_ARCH_NAMES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm",
               "armel": "arm", "i386": "386", "i686": "386"}
_DEFAULT_VARIANT = {"arm": "v7"}
# the binfmt_misc handler names that let this machine run another architecture
_BINFMT = {"arm64": "aarch64", "arm": "arm", "386": "i386", "amd64": "x86_64",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


class PlatformError(BerthError, ValueError):
    pass


@dataclass(frozen=True)
class Platform:
    os: str
    arch: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.arch, self.variant) if p)


def host() -> Platform:
    arch = host_arch()
    return Platform("linux", arch, _DEFAULT_VARIANT.get(arch, ""))


def parse(text: str) -> Platform:
    """`linux/arm64`, `linux/arm/v7`, `arm64` (linux), `x86_64`...; normalized."""
    parts = [p.strip().lower() for p in text.strip().split("/")]
    if len(parts) == 1:
        parts = ["linux"] + parts
    if len(parts) not in (2, 3) or not all(parts):
        raise PlatformError(f"invalid platform {text!r} (expected os/arch[/variant])")
    os_name, arch = parts[0], _ARCH_NAMES.get(parts[1], parts[1])
    variant = parts[2] if len(parts) == 3 else _DEFAULT_VARIANT.get(arch, "")
    if arch == "arm64" and variant == "v8":
        variant = ""
    return Platform(os_name, arch, variant)


def build_args(build: Platform, target: Platform) -> dict[str, str]:
    """The ARGs BuildKit defines: in the global scope, and in a stage once declared."""
    return {"TARGETPLATFORM": str(target), "TARGETOS": target.os, "TARGETARCH": target.arch,
            "TARGETVARIANT": target.variant, "BUILDPLATFORM": str(build), "BUILDOS": build.os,
            "BUILDARCH": build.arch, "BUILDVARIANT": build.variant}


def runnable(platform: Platform, binfmt: str = "/proc/sys/fs/binfmt_misc") -> bool:
    """Whether this machine runs the platform's programs: its own, or an architecture a
    binfmt_misc handler (qemu-user) is registered and enabled for."""
    here = host()
    if platform.os != here.os:
        return False
    if platform.arch == here.arch:
        return True
    name = _BINFMT.get(platform.arch, platform.arch)
    for entry in (f"qemu-{name}", name):
        try:
            with open(os.path.join(binfmt, entry)) as handle:
                if handle.readline().strip() == "enabled":
                    return True
        except OSError:
            continue
    return False
