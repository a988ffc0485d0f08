"""What berth writes on the objects it makes for a project, and how it reads them back.

docker compose's labels (so tools that know them read berth's objects too), a container
as the compose layer sees it (ContainerInfo), the config hash that tells when a
container must be recreated, and the hooks a container carries. Pure: no runtime here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Mapping

from common.version import COMPOSE_VERSION

from .model import Hook, Project, Service

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"
CONFIG_HASH = "com.docker.compose.config-hash"
CONFIG_FILES = "com.docker.compose.project.config_files"
WORKING_DIR = "com.docker.compose.project.working_dir"
DEPENDS_ON = "com.docker.compose.depends_on"
IMAGE = "com.docker.compose.image"
NETWORK = "com.docker.compose.network"
VOLUME = "com.docker.compose.volume"
VERSION = "com.docker.compose.version"
HOOK = "com.docker.compose.hook"  # a hook's own container (pre_start), as docker compose
BERTH_VERSION = COMPOSE_VERSION
HOOK_KINDS = ("post_start", "pre_stop")

# what changes the container itself; scale, build, dependencies and the like do not
_NOT_HASHED = ("build", "scale", "depends_on", "profiles", "develop", "pull_policy",
               "pull_refresh_after", "attach")


@dataclass(frozen=True)
class ContainerInfo:
    """A container, as observed: its identity, labels and state."""

    id: str
    name: str
    labels: Mapping[str, str]
    status: str  # created, running, restarting, paused, exited, dead
    exit_code: int | None
    health: str | None  # starting, healthy, unhealthy, or None without a healthcheck
    image: str
    image_id: str
    command: list[str]
    created: float
    started: float
    finished: float
    status_text: str = ""
    ports: list[str] = field(default_factory=list)
    error: str = ""
    anonymous_volumes: Mapping[str, str] = field(default_factory=dict)  # target -> volume
    tty: bool = False
    warnings: tuple[str, ...] = ()  # what creating it could not honour (limits without root)

    @property
    def service(self) -> str:
        return self.labels.get(SERVICE, "")

    @property
    def number(self) -> int:
        return int(self.labels.get(NUMBER, "0") or 0)

    @property
    def oneoff(self) -> bool:
        return self.labels.get(ONEOFF) == "True"

    @property
    def hook(self) -> str:
        """The kind of hook this container ran (pre_start), or "" for the others."""
        return self.labels.get(HOOK, "")

    @property
    def config_hash(self) -> str:
        return self.labels.get(CONFIG_HASH, "")

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting", "paused")


@dataclass(frozen=True)
class ResourceInfo:
    """A network or volume."""

    name: str
    labels: Mapping[str, str]


def config_hash(project: Project, service: str, image_id: str) -> str:
    """docker compose's rule: a container is recreated when this changes."""
    tree = dict(project.tree.get("services", {}).get(service, {}))
    for key in _NOT_HASHED:
        tree.pop(key, None)
    if isinstance(tree.get("deploy"), dict):
        tree["deploy"] = {k: v for k, v in tree["deploy"].items() if k != "replicas"}
        if not tree["deploy"]:
            del tree["deploy"]
    raw = json.dumps({"service": tree, "image": image_id}, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def container_name(project: Project, svc: Service, number: int) -> str:
    sep = project.separator
    return svc.container_name or f"{project.name}{sep}{svc.name}{sep}{number}"


def image_ref(project: Project, svc: Service) -> str:
    """The image a service runs: its `image`, else the one berth builds for it."""
    return svc.image or f"{project.name}-{svc.name}"


def compose_labels(project: Project, svc: Service, number: int, image_id: str,
                   oneoff: bool = False) -> dict[str, str]:
    """The labels of container `number` of `svc`, its config hash among them."""
    deps = ",".join(f"{name}:{dep.condition}:{str(dep.restart).lower()}"
                    for name, dep in svc.depends_on.items())
    return {
        PROJECT: project.name, SERVICE: svc.name, NUMBER: str(number),
        ONEOFF: "True" if oneoff else "False",
        CONFIG_HASH: config_hash(project, svc.name, image_id),
        CONFIG_FILES: ",".join(project.compose_files), WORKING_DIR: project.working_dir,
        DEPENDS_ON: deps, IMAGE: image_id, VERSION: BERTH_VERSION, **hook_labels(svc),
    }


def resource_labels(project: Project, kind_label: str, key: str,
                    own: Mapping[str, str | None]) -> dict[str, str]:
    """The labels of a project's network or volume `key` (kind_label: NETWORK or VOLUME)."""
    return {**{k: v or "" for k, v in own.items()}, PROJECT: project.name, kind_label: key,
            VERSION: BERTH_VERSION}


def dependencies_of(info: ContainerInfo) -> set[str]:
    """The services a container's service depends on, as its labels recorded them."""
    return {item.split(":")[0] for item in info.labels.get(DEPENDS_ON, "").split(",") if item}


# --- hooks -------------------------------------------------------------------------------

def hook_labels(svc: Service) -> dict[str, str]:
    """The labels that record a service's hooks on each of its containers, so `start`,
    `stop` and `down` run them without reading the compose file again (and as they were
    when the container was made)."""
    labels = {}
    for kind in HOOK_KINDS:
        hooks = getattr(svc, kind)
        if hooks:
            labels[f"berth.{kind}"] = json.dumps([
                {"command": list(h.command), "user": h.user, "privileged": h.privileged,
                 "working_dir": h.working_dir, "environment": dict(h.environment)}
                for h in hooks])
    return labels


def hooks_of(info: ContainerInfo, kind: str) -> tuple[Hook, ...]:
    raw = info.labels.get(f"berth.{kind}")
    if not raw:
        return ()
    return tuple(Hook(command=tuple(h["command"]), user=h["user"], privileged=h["privileged"],
                      working_dir=h["working_dir"], environment=h["environment"])
                 for h in json.loads(raw))
