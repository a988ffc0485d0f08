"""The labels and annotations of berth's objects: who they belong to, which pods a
selector picks, which networks a pod is on, and the compose labels that fit."""
from __future__ import annotations

from typing import Any, Mapping

from . import names
from .report import Notes

NAME = "app.kubernetes.io/name"
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "berth"
NETWORK = "network.berth"  # the prefix of a pod's label for each network it is on
EGRESS = "berth/egress"  # "internal": every network of the pod is internal


def project_label(project: str) -> str:
    """The project's name as a label value (compose names may end in '-' or '_')."""
    return project.rstrip("-_") or MANAGER


def common(project: str) -> dict[str, str]:
    """The labels of every object of a project: `berth kube down` finds them by these."""
    return {PART_OF: project_label(project), MANAGED_BY: MANAGER}


def selector(project: str, name: str) -> dict[str, str]:
    """The labels that pick a service's pods."""
    return {NAME: name, PART_OF: project_label(project)}


def owned(project: str, name: str) -> dict[str, str]:
    return {NAME: name, **common(project)}


def network_label(key: str) -> str:
    return f"{NETWORK}/{names.label(key) or 'network'}"


def compose_labels(labels: Mapping[str, str | None], notes: Notes, key: str
                   ) -> tuple[dict[str, str], dict[str, str]]:
    """A service's compose labels split into valid labels and annotations (a value that
    is no label value); a key Kubernetes cannot take is dropped."""
    as_labels: dict[str, str] = {}
    as_annotations: dict[str, str] = {}
    for name, value in labels.items():
        text = "" if value is None else str(value)
        if not names.is_label_key(name) or name in (NAME, PART_OF, MANAGED_BY):
            notes.dropped(key, f"{name}: not a valid Kubernetes label or annotation key")
        elif names.is_label_value(text):
            as_labels[name] = text
        else:
            as_annotations[name] = text
    if as_labels:
        notes.mapped(key, f"{', '.join(sorted(as_labels))}: labels")
    if as_annotations:
        notes.approximated(key, f"{', '.join(sorted(as_annotations))}: annotations (the "
                                "values are no valid label values)")
    return as_labels, as_annotations


def annotations(written: Mapping[str, Any], notes: Notes) -> dict[str, str]:
    """A service's compose annotations that Kubernetes takes."""
    out = {}
    for key, value in written.items():
        if names.is_label_key(str(key)):
            out[str(key)] = "" if value is None else str(value)
        else:
            notes.dropped("annotations", f"{key}: not a valid annotation key")
    return out
