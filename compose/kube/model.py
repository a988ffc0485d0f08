"""What a conversion takes and gives: its options, its inputs, the objects it makes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import ComposeError
from ..model import Project
from .names import DNS_1123_LABEL

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")


@dataclass(frozen=True, slots=True)
class Options:
    namespace: str | None = None  # written into kustomization.yaml
    service_type: str = "ClusterIP"  # for published ports
    liveness: bool = False  # healthchecks become liveness probes too

    def __post_init__(self) -> None:
        if self.service_type not in SERVICE_TYPES:
            raise ComposeError(f"unknown --service-type {self.service_type!r}: use "
                               f"{', '.join(SERVICE_TYPES[:-1])} or {SERVICE_TYPES[-1]}")
        if self.namespace is not None and (len(self.namespace) > 63
                                           or not DNS_1123_LABEL.match(self.namespace)):
            raise ComposeError(f"invalid namespace {self.namespace!r}: a DNS label "
                               "(a-z, 0-9 and '-', at most 63 characters)")


@dataclass(frozen=True, slots=True)
class HostFile:
    """What a path on this machine is: a "file" (with its bytes), a "dir", "missing", or
    "other" (a socket, a device, unreadable)."""

    kind: str
    data: bytes = b""


@dataclass(frozen=True)
class Source:
    """Everything a conversion reads; it reads nothing else."""

    project: Project
    written: Mapping[str, Mapping[str, Any]]  # service -> its keys as the files wrote them
    images: Mapping[str, str]  # service -> the image reference its pods run
    read: Callable[[str], HostFile]  # bound files, and files of configs and secrets
    exposed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # image EXPOSE


@dataclass(frozen=True, slots=True)
class Manifest:
    """One Kubernetes object; `service` is the compose service a workload runs (None for
    every other object)."""

    kind: str
    name: str
    body: Mapping[str, Any]
    service: str | None = None
