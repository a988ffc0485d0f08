"""Volumes: named volumes become PersistentVolumeClaims (claim templates in a
StatefulSet), tmpfs and anonymous volumes emptyDirs, configs and secrets ConfigMaps and
Secrets mounted where compose mounts them, and a bound file a key of the service's own
ConfigMap. There is never a hostPath: a bound directory is dropped and reported."""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from common.units import parse_bytes

from ..errors import ComposeError
from ..model import FileGrant, FileObject, Mount, Project, Service
from . import meta, names
from .layout import STATEFULSET, Layout
from .model import HostFile, Manifest
from .report import Notes

CLAIM_SIZE = "1Gi"  # compose volumes have no size
MAX_CONFIGMAP = 1 << 20  # bytes a ConfigMap or Secret may hold
DEFAULT_FILE_MODE = 0o444  # compose's mode for configs and secrets


def quantity(size: int) -> str:
    """Bytes as a Kubernetes quantity: 512Mi, 1Gi, or a plain number."""
    for suffix, unit in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if size >= unit and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def shown(project: Project, path: str) -> str:
    """A host path as the report shows it: relative to the project when inside it."""
    relative = os.path.relpath(path, project.working_dir)
    return path if relative.startswith("..") else "./" + relative


def claim_name(key: str, volume_name: str, external: bool) -> str:
    return names.required_label(f"volume {key!r}", volume_name if external else key)


def config_name(section: str, key: str, obj: FileObject) -> str:
    """The ConfigMap (configs) or Secret (secrets) of a top-level entry."""
    what = f"{section[:-1]} {key!r}"
    if obj.external:
        return names.required_label(what, obj.name)
    return names.required_label(what, section[:-1], key)


def claim_template(claim: str, labels: dict[str, str], access: str = "ReadWriteOnce"
                   ) -> dict[str, Any]:
    return {"metadata": {"name": claim, "labels": labels},
            "spec": {"accessModes": [access], "resources": {"requests": {"storage": CLAIM_SIZE}}}}


@dataclass
class PodStorage:
    """What one pod mounts, built up mount by mount."""

    volumes: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)  # volumeClaimTemplates
    files: dict[str, bytes] = field(default_factory=dict)  # the service's files ConfigMap
    exclusive: bool = False  # mounts a claim no other pod may (ReadWriteOnce, or unknown)

    def volume(self, base: str, source: dict[str, Any]) -> str:
        """Add a pod volume named after `base` (made unique); its name."""
        taken = {v["name"] for v in self.volumes} | {t["metadata"]["name"] for t in self.templates}
        name, number = names.label(base) or "volume", 2
        while name in taken:
            name = names.label(base, str(number)) or f"volume-{number}"
            number += 1
        self.volumes.append({"name": name, **source})
        return name

    def mount(self, volume: str, target: str, read_only: bool = False,
              sub_path: str | None = None) -> None:
        entry: dict[str, Any] = {"name": volume, "mountPath": target}
        if sub_path:
            entry["subPath"] = sub_path
        if read_only:
            entry["readOnly"] = True
        self.mounts.append(entry)


class _Builder:
    """Turns one service's mounts into its pod's volumes, noting what became of each."""

    def __init__(self, project: Project, svc: Service, name: str, layout: Layout,
                 read: Callable[[str], HostFile], notes: Notes) -> None:
        self.project, self.svc, self.name, self.layout = project, svc, name, layout
        self.read, self.notes = read, notes
        self.out = PodStorage()
        self.files_volume: str | None = None

    def named(self, m: Mount, key: str) -> None:
        volume = self.project.volumes[key]
        claim = claim_name(key, volume.name, volume.external)
        what = f"{key} -> PersistentVolumeClaim {claim} at {m.target}"
        if self.layout.kinds[self.svc.name] == STATEFULSET and not volume.external:
            if claim not in {t["metadata"]["name"] for t in self.out.templates}:
                self.out.templates.append(claim_template(claim, meta.common(self.project.name)))
            self.out.mount(claim, m.target, m.read_only, m.subpath)
            self.notes.approximated("volumes", f"{what}: one claim per replica "
                                               "(volumeClaimTemplate), where compose's "
                                               "replicas share one volume")
            return
        source: dict[str, Any] = {"claimName": claim}
        if m.read_only:
            source["readOnly"] = True
        self.out.mount(self.out.volume(f"vol-{key}", {"persistentVolumeClaim": source}),
                       m.target, m.read_only, m.subpath)
        self.out.exclusive |= key not in self.layout.shared
        if volume.external:
            self.notes.mapped("volumes", f"{what} (external: the claim must exist)")
        elif key in self.layout.shared:
            self.notes.approximated("volumes", f"{what}: ReadWriteMany, shared with other "
                                               "pods (the storage class must support it)")
        elif m.nocopy:
            self.notes.mapped("volumes", what)
        else:
            self.notes.approximated("volumes", f"{what}: the image's files there are not "
                                               "copied into a new volume as docker does")

    def bind(self, m: Mount, source: str) -> None:
        where = shown(self.project, source)
        host = self.read(source)
        if host.kind == "dir":
            self.notes.dropped("volumes", f"{where} -> {m.target}: a bound directory (no "
                                          "hostPath; put its files in the image or a volume)")
            return
        if host.kind == "missing":
            self.notes.dropped("volumes", f"{where} -> {m.target}: missing here (docker would "
                                          "bind a new empty directory; no hostPath)")
            return
        if host.kind != "file":
            self.notes.dropped("volumes", f"{where} -> {m.target}: not a regular file on "
                                          "this machine")
            return
        if sum(map(len, self.out.files.values())) + len(host.data) > MAX_CONFIGMAP:
            self.notes.dropped("volumes", f"{where} -> {m.target}: too large for a "
                                          "ConfigMap (1 MiB)")
            return
        key = names.config_key(m.target.lstrip("/"))
        while key in self.out.files:  # two targets that read alike
            key = f"_{key}"
        self.out.files[key] = host.data
        if self.files_volume is None:
            self.files_volume = self.out.volume("files", {"configMap": {
                "name": f"{self.name}-files"}})
        self.out.mount(self.files_volume, m.target, True, key)
        what = f"{where} -> ConfigMap {self.name}-files (key {key}) at {m.target}"
        if m.read_only:
            self.notes.mapped("volumes", what)
        else:
            self.notes.approximated("volumes", what + ": read-only, as a ConfigMap is")

    def tmpfs(self, target: str, size: int | None, key: str) -> None:
        source: dict[str, Any] = {"medium": "Memory"}
        if size:
            source["sizeLimit"] = quantity(size)
        self.out.mount(self.out.volume("tmpfs", {"emptyDir": source}), target)
        self.notes.mapped(key, f"{target}: emptyDir (Memory)")

    def grant(self, section: str, grant: FileGrant, obj: FileObject) -> None:
        name = config_name(section, grant.source, obj)
        mode = (grant.mode if grant.mode is not None else DEFAULT_FILE_MODE) & 0o777
        source = ({"configMap": {"name": name, "defaultMode": mode}} if section == "configs"
                  else {"secret": {"secretName": name, "defaultMode": mode}})
        volume = self.out.volume(f"{section[:-1]}-{grant.source}", source)
        self.out.mount(volume, grant.target, True, names.config_key(grant.source))
        kind = "ConfigMap" if section == "configs" else "Secret"
        self.notes.mapped(section, f"{grant.source} -> {kind} {name} at {grant.target}"
                                   + (" (external: it must exist)" if obj.external else ""))
        if grant.uid is not None or grant.gid is not None:
            self.notes.dropped(section, f"{grant.source}: uid/gid (the pod's fsGroup decides "
                                        "who owns mounted files)")


def _tmpfs_entry(entry: str) -> tuple[str, int | None]:
    """"/run:size=64m,mode=1777" -> ("/run", 67108864)."""
    target, _, options = entry.partition(":")
    for option in options.split(","):
        key, _, value = option.partition("=")
        if key == "size":
            try:
                return target, parse_bytes(value)
            except ValueError:
                raise ComposeError(f"invalid tmpfs size {value!r} for {target}") from None
    return target, None


def pod_storage(project: Project, svc: Service, name: str, layout: Layout,
                read: Callable[[str], HostFile], notes: Notes) -> PodStorage:
    builder = _Builder(project, svc, name, layout, read, notes)
    out = builder.out
    for m in svc.volumes:
        if m.type == "volume" and m.source in project.volumes:
            builder.named(m, m.source)
        elif m.type == "volume":
            out.mount(out.volume("anonymous", {"emptyDir": {}}), m.target, m.read_only, m.subpath)
            notes.approximated("volumes", f"anonymous volume at {m.target}: emptyDir, kept as "
                                          "long as the pod")
        elif m.type == "bind" and m.source:
            builder.bind(m, m.source)
        elif m.type == "tmpfs":
            builder.tmpfs(m.target, m.tmpfs_size, "volumes")
        else:
            notes.dropped("volumes", f"{m.type} mount at {m.target}: no Kubernetes equivalent")
    for entry in svc.tmpfs:
        builder.tmpfs(*_tmpfs_entry(entry), "tmpfs")
    for grant in svc.configs:
        builder.grant("configs", grant, project.configs[grant.source])
    for grant in svc.secrets:
        builder.grant("secrets", grant, project.secrets[grant.source])
    if svc.resources.shm_size:
        out.mount(out.volume("shm", {"emptyDir": {
            "medium": "Memory", "sizeLimit": quantity(svc.resources.shm_size)}}), "/dev/shm")
    return out


def file_data(data: bytes) -> tuple[str, str]:
    """("data", text) for UTF-8 content, ("binaryData", base64) otherwise."""
    try:
        return "data", data.decode("utf-8")
    except UnicodeDecodeError:
        return "binaryData", base64.b64encode(data).decode()


def files_configmap(name: str, files: dict[str, bytes], labels: dict[str, str]) -> Manifest:
    """The ConfigMap of a service's bound files."""
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": f"{name}-files", "labels": labels}}
    for key in sorted(files):
        field_name, value = file_data(files[key])
        body.setdefault(field_name, {})[key] = value
    return Manifest("ConfigMap", f"{name}-files", body)


def _content(obj: FileObject, project: Project, read: Callable[[str], HostFile]
             ) -> tuple[bytes | None, str]:
    """The entry's content, or None and why it is not to be had here."""
    if obj.content is not None:
        data = obj.content.encode()
    elif obj.environment is not None:
        value = project.environment.get(obj.environment)
        if value is None:
            return None, f"environment variable {obj.environment} is not set"
        data = value.encode()
    else:
        host = read(obj.file or "")
        if host.kind != "file":
            return None, f"{shown(project, obj.file or '')} is not a file here"
        data = host.data
    if len(data) > MAX_CONFIGMAP:
        return None, "it is larger than Kubernetes keeps (1 MiB)"
    return data, ""


def file_objects(section: str, project: Project, used: set[str],
                 read: Callable[[str], HostFile], labels: dict[str, str], notes: Notes
                 ) -> list[Manifest]:
    """The ConfigMaps (configs) or Secrets (secrets) of the entries services use; an
    entry whose content is not to be had is left for the user to create."""
    entries = project.configs if section == "configs" else project.secrets
    kind = "ConfigMap" if section == "configs" else "Secret"
    out = []
    for key in sorted(used):
        obj = entries[key]
        name, data_key = config_name(section, key, obj), names.config_key(key)
        if obj.external:
            notes.mapped(f"{section}.{key}", f"external: {kind} {name} must exist")
            continue
        data, why = _content(obj, project, read)
        if data is None:
            notes.dropped(f"{section}.{key}", f"{why}: create {kind} {name} (key {data_key}) "
                                              "before applying")
            continue
        meta = {"name": name, "labels": labels}
        if section == "secrets":
            body = {"apiVersion": "v1", "kind": kind, "metadata": meta, "type": "Opaque",
                    "data": {data_key: base64.b64encode(data).decode()}}
        else:
            field_name, value = file_data(data)
            body = {"apiVersion": "v1", "kind": kind, "metadata": meta,
                    field_name: {data_key: value}}
        notes.mapped(f"{section}.{key}", f"{kind} {name}")
        out.append(Manifest(kind, name, body))
    return out


def claims(project: Project, layout: Layout, labels: dict[str, str], notes: Notes
           ) -> list[Manifest]:
    """A PersistentVolumeClaim for each named volume a pod (other than a StatefulSet's)
    mounts; ReadWriteMany when several pods share it."""
    used = sorted({m.source for name, svc in project.services.items()
                   if layout.kinds[name] != STATEFULSET
                   for m in svc.volumes if m.type == "volume" and m.source in project.volumes})
    out = []
    for key in used:
        volume = project.volumes[key]
        if volume.external:
            continue
        claim = claim_name(key, volume.name, False)
        access = "ReadWriteMany" if key in layout.shared else "ReadWriteOnce"
        out.append(Manifest("PersistentVolumeClaim", claim, {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim, "labels": labels},
            "spec": claim_template(claim, labels, access)["spec"]}))
    for key, volume in project.volumes.items():
        if volume.driver != "local" or volume.driver_opts:
            notes.dropped(f"volumes.{key}", "driver and driver_opts: the cluster's storage "
                                            "class decides")
        if volume.external:
            notes.mapped(f"volumes.{key}", "external: its claim must exist")
        else:
            notes.approximated(f"volumes.{key}", f"claims of {CLAIM_SIZE} (compose volumes "
                                                 "have no size)")
    return out
