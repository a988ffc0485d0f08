"""NetworkPolicies: compose networks as Kubernetes can enforce them.

Each network is a pod label (meta.network_label) and a policy that lets its members
reach each other and nobody else in; policies add up, so a pod on two networks is
reachable from both. An internal network's members whose networks are all internal
(meta.EGRESS) reach only their networks' members and the cluster's DNS. A service's
published ports are open to all.
"""
from __future__ import annotations

from typing import Any

from ..model import Project
from . import meta, names
from .layout import Layout, Port
from .model import Manifest
from .report import Notes

DNS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
       "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}


def _policy(name: str, labels: dict[str, str], spec: dict[str, Any]) -> Manifest:
    return Manifest("NetworkPolicy", name, {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": labels}, "spec": spec})


def policies(project: Project, layout: Layout, published: dict[str, list[Port]],
             networks: dict[str, tuple[str, ...]], notes: Notes) -> list[Manifest]:
    """`networks`: service -> the compose networks its pods are on."""
    labels = meta.common(project.name)
    out = []
    used = sorted({net for nets in networks.values() for net in nets})
    for key in used:
        member = {"matchLabels": {meta.network_label(key): "true"}}
        name = names.required_label(f"network {key!r}", "net", key)
        out.append(_policy(name, labels, {"podSelector": member, "policyTypes": ["Ingress"],
                                          "ingress": [{"from": [{"podSelector": member}]}]}))
        network = project.networks[key]
        notes.mapped(f"networks.{key}", f"NetworkPolicy {name}: members reach each other")
        if network.internal:
            confined = {"matchLabels": {**member["matchLabels"], meta.EGRESS: "internal"}}
            egress = names.required_label(f"network {key!r}", "net", key, "egress")
            out.append(_policy(egress, labels, {
                "podSelector": confined, "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": member}]},
                           {"to": [DNS], "ports": [{"port": 53, "protocol": "UDP"},
                                                   {"port": 53, "protocol": "TCP"}]}]}))
            notes.mapped(f"networks.{key}", f"internal: NetworkPolicy {egress} lets members "
                                            "reach only the network and the cluster's DNS")
        if network.driver not in ("bridge", "default") or network.driver_opts or network.ipam:
            notes.dropped(f"networks.{key}", "driver, driver_opts and ipam: the cluster's "
                                             "network decides")
        if network.external:
            notes.approximated(f"networks.{key}", "external: treated as one of the project's")
    for service in sorted(published):
        name = names.required_label(f"service {service!r}", layout.names[service], "published")
        ports = [{"port": port, "protocol": proto} for port, proto in sorted(set(published[service]))]
        out.append(_policy(name, labels, {
            "podSelector": {"matchLabels": meta.selector(project.name, layout.names[service])},
            "policyTypes": ["Ingress"], "ingress": [{"ports": ports}]}))
    return out
