"""berth's own checks of what a conversion made, beyond the schemas: names, selectors,
restart policies and shared claims. Each check is a small function yielding problems."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from . import names
from .model import Manifest

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def _pod_spec(m: Manifest) -> dict[str, Any]:
    return m.body["spec"]["template"]["spec"]


def _pod_labels(m: Manifest) -> dict[str, str]:
    return m.body["spec"]["template"]["metadata"].get("labels", {})


def _replicas(m: Manifest) -> int:
    """How many pods of `m` may run at once (a DaemonSet's: more than one)."""
    if m.kind == "DaemonSet":
        return 2
    if m.kind == "Job":
        return m.body["spec"].get("parallelism", 1)
    return m.body["spec"].get("replicas", 1)


def unique_names(objects: list[Manifest]) -> Iterator[str]:
    seen: set[tuple[str, str]] = set()
    for m in objects:
        if (m.kind, m.name) in seen:
            yield f"two {m.kind} objects are named {m.name}"
        seen.add((m.kind, m.name))


def dns_names(objects: list[Manifest]) -> Iterator[str]:
    for m in objects:
        if m.body["metadata"]["name"] != m.name:
            yield f"{m.kind} {m.name}: metadata.name is {m.body['metadata']['name']}"
        pattern = names.DNS_1035_LABEL if m.kind == "Service" else names.DNS_1123_LABEL
        if len(m.name) > names.MAX_LABEL or not pattern.match(m.name):
            yield f"{m.kind} {m.name}: not a valid name"
        for key, value in m.body["metadata"].get("labels", {}).items():
            if not names.is_label_key(key) or not names.is_label_value(value):
                yield f"{m.kind} {m.name}: invalid label {key}={value}"
        if m.kind in WORKLOADS:
            spec = _pod_spec(m)
            for c in spec.get("initContainers", []) + spec["containers"] + spec.get("volumes", []):
                if len(c["name"]) > names.MAX_LABEL or not names.DNS_1123_LABEL.match(c["name"]):
                    yield f"{m.kind} {m.name}: {c['name']} is not a valid container or volume name"


def selectors(objects: list[Manifest]) -> Iterator[str]:
    pods = [_pod_labels(m) for m in objects if m.kind in WORKLOADS]
    for m in objects:
        if m.kind in WORKLOADS and m.kind != "Job":
            wanted = m.body["spec"]["selector"]["matchLabels"]
            if any(_pod_labels(m).get(k) != v for k, v in wanted.items()):
                yield f"{m.kind} {m.name}: its selector does not match its pods' labels"
        if m.kind == "Service":
            wanted = m.body["spec"]["selector"]
            if not any(all(labels.get(k) == v for k, v in wanted.items()) for labels in pods):
                yield f"Service {m.name}: its selector matches no pods"


def restart_policies(objects: list[Manifest]) -> Iterator[str]:
    for m in objects:
        if m.kind not in WORKLOADS:
            continue
        policy = _pod_spec(m).get("restartPolicy", "Always")
        allowed = ("Never", "OnFailure") if m.kind == "Job" else ("Always",)
        if policy not in allowed:
            yield f"{m.kind} {m.name}: restartPolicy {policy}"


def exclusive_claims(objects: list[Manifest]) -> Iterator[str]:
    """A ReadWriteOnce claim is mounted by one pod at most."""
    rwo = {m.name for m in objects if m.kind == "PersistentVolumeClaim"
           and "ReadWriteOnce" in m.body["spec"]["accessModes"]}
    users: dict[str, int] = {}
    for m in objects:
        if m.kind not in WORKLOADS:
            continue
        for volume in _pod_spec(m).get("volumes", []):
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim in rwo:
                users[claim] = users.get(claim, 0) + _replicas(m)
    for claim, count in sorted(users.items()):
        if count > 1:
            yield f"PersistentVolumeClaim {claim} is ReadWriteOnce but {count} pods mount it"


def mounts(objects: list[Manifest]) -> Iterator[str]:
    """Every volumeMount names a volume of its pod (or a claim template)."""
    for m in objects:
        if m.kind not in WORKLOADS:
            continue
        spec = _pod_spec(m)
        known = {v["name"] for v in spec.get("volumes", [])} | \
            {t["metadata"]["name"] for t in m.body["spec"].get("volumeClaimTemplates", [])}
        for c in spec["containers"]:
            for mount in c.get("volumeMounts", []):
                if mount["name"] not in known:
                    yield f"{m.kind} {m.name}: mount of unknown volume {mount['name']}"


CHECKS: tuple[Callable[[list[Manifest]], Iterable[str]], ...] = (
    unique_names, dns_names, selectors, restart_policies, exclusive_claims, mounts)


def problems(objects: list[Manifest]) -> list[str]:
    return [problem for check in CHECKS for problem in check(objects)]
