"""Workloads: a Deployment per long-running service, a StatefulSet for one with named
volumes and several replicas, a DaemonSet for deploy.mode: global, a Job for a one-shot
service. A Deployment, StatefulSet or DaemonSet always has restartPolicy Always (the API
server refuses anything else); a Job never has."""
from __future__ import annotations

import re
from typing import Any, Mapping

from ..model import Project
from . import meta
from .layout import (DAEMONSET, DEPLOYMENT, JOB, STATEFULSET, Layout, is_one_shot,
                     restart_policy)
from .model import Manifest
from .pods import Pod
from .report import Notes

API_VERSIONS = {DEPLOYMENT: "apps/v1", STATEFULSET: "apps/v1", DAEMONSET: "apps/v1",
                JOB: "batch/v1"}
_CONSTRAINT = re.compile(r"^node\.(labels\.(?P<label>\S+)|platform\.(?P<platform>os|arch))"
                         r"\s*==\s*(?P<value>\S+)$")


def _job(policy: str | None, written: Mapping[str, Any], waited: bool, notes: Notes
         ) -> tuple[str, int | None]:
    """The Job's pod restartPolicy and backoffLimit (None: Kubernetes' default)."""
    attempts = ((written.get("deploy") or {}).get("restart_policy") or {}).get("max_attempts")
    if policy == "no":
        notes.mapped("restart", "no: a Job (restartPolicy Never, no retries)")
        return "Never", 0
    if policy is not None and policy.startswith("on-failure"):
        _, _, count = policy.partition(":")
        limit = int(count) if count else (int(attempts) if attempts is not None else None)
        if limit is None:
            notes.approximated("restart", f"{policy}: a Job (restartPolicy OnFailure), retried "
                                          "6 times where compose retries without end")
        else:
            notes.mapped("restart", f"{policy}: a Job (restartPolicy OnFailure, {limit} retries)")
        return "OnFailure", limit
    if waited and policy is not None:
        notes.approximated("restart", f"{policy}: a Job, as dependents wait for it to complete "
                                      "(restartPolicy OnFailure: rerun only when it fails)")
    return "OnFailure", None


def _placement(written: Mapping[str, Any], spec: dict[str, Any], notes: Notes) -> None:
    placement = (written.get("deploy") or {}).get("placement") or {}
    for constraint in placement.get("constraints") or ():
        match = _CONSTRAINT.match(str(constraint).strip())
        if match is None:
            notes.dropped("deploy.placement", f"{constraint!r}: only node.labels.* == and "
                                              "node.platform.* == have a nodeSelector form")
            continue
        key = match["label"] or f"kubernetes.io/{match['platform']}"
        spec.setdefault("nodeSelector", {})[key] = match["value"]
        notes.mapped("deploy.placement", f"{constraint}: nodeSelector {key}")
    for other in sorted(set(placement) - {"constraints"}):
        notes.dropped("deploy.placement", f"{other}: swarm placement; use affinity")


def workload(project: Project, written: Mapping[str, Any], layout: Layout, service: str,
             pod: Pod, notes: Notes) -> Manifest:
    svc, kind, name = project.services[service], layout.kinds[service], layout.names[service]
    policy = restart_policy(written)
    labels, annotations = dict(pod.labels), dict(pod.annotations)
    deploy_labels = (written.get("deploy") or {}).get("labels") or {}
    if deploy_labels:
        more_labels, more_annotations = meta.compose_labels(deploy_labels, notes, "deploy.labels")
        labels.update(more_labels)
        annotations.update(more_annotations)
    metadata: dict[str, Any] = {"name": name, "labels": {**labels, **meta.owned(project.name, name)}}
    if annotations:
        metadata["annotations"] = annotations
    template = pod.template
    _placement(written, template["spec"], notes)
    selector = {"matchLabels": meta.selector(project.name, name)}
    spec: dict[str, Any]
    if kind == JOB:
        restart, limit = _job(policy, written, service in layout.completed, notes)
        spec = {}
        if limit is not None:
            spec["backoffLimit"] = limit
        if svc.scale != 1:
            spec["completions"] = spec["parallelism"] = svc.scale
    else:
        restart = "Always"
        if is_one_shot(written):
            notes.approximated("restart", f"{policy}: a DaemonSet's pods always restart")
        elif policy:
            notes.mapped("restart", f"{policy}: restartPolicy Always")
        spec = {"replicas": svc.scale} if kind != DAEMONSET else {}
        spec["selector"] = selector
        if kind == STATEFULSET:
            spec["serviceName"] = name
            spec["podManagementPolicy"] = "Parallel"  # compose starts replicas together
        if kind == DEPLOYMENT and pod.exclusive:
            spec["strategy"] = {"type": "Recreate"}
            notes.mapped("volumes", "strategy Recreate: a ReadWriteOnce claim is not attached "
                                    "to two pods during a rollout")
    if kind == DAEMONSET:
        notes.mapped("deploy.mode", "global: a DaemonSet (a pod on every node)")
    elif svc.scale != 1:
        for key in ("scale", "deploy.replicas"):
            notes.mapped(key, f"{svc.scale} {'pods of the Job' if kind == JOB else 'replicas'}")
    template["spec"]["restartPolicy"] = restart
    spec["template"] = template
    if kind == STATEFULSET:
        spec["volumeClaimTemplates"] = pod.claim_templates
    return Manifest(kind, name, {"apiVersion": API_VERSIONS[kind], "kind": kind,
                                 "metadata": metadata, "spec": spec}, service)
