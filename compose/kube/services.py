"""Services, so names resolve as on berth's networks: a ClusterIP Service per listening
service, a headless one (its name answers with the pods' addresses) for a service that
opens no port berth knows of, one per network alias, link alias and container_name, and
one of the chosen type for published ports."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import ComposeError
from ..model import Project, Service
from . import names
from .layout import Layout, Port
from .model import Manifest, Options
from .report import Notes

LOOPBACK = ("127.", "::1", "localhost")
NODE_PORTS = range(30000, 32768)


@dataclass
class ServiceSet:
    manifests: list[Manifest] = field(default_factory=list)
    published: dict[str, list[Port]] = field(default_factory=dict)  # service -> target ports


def _ports(ports: tuple[Port, ...]) -> list[dict[str, Any]]:
    return [{"name": f"{proto.lower()}-{port}", "port": port, "targetPort": port,
             "protocol": proto} for port, proto in ports]


def _service(name: str, selector: dict[str, str], labels: dict[str, str],
             ports: list[dict[str, Any]], headless: bool, kind: str = "ClusterIP"
             ) -> Manifest:
    spec: dict[str, Any] = {"type": kind, "selector": selector}
    if headless:
        spec["clusterIP"] = "None"
    if ports:
        spec["ports"] = ports
    return Manifest("Service", name, {"apiVersion": "v1", "kind": "Service",
                                      "metadata": {"name": name, "labels": labels},
                                      "spec": spec})


def _aliases(project: Project, svc: Service) -> list[tuple[str, str, str]]:
    """(alias, service it names, key that wrote it) for what `svc` declares."""
    out = [(alias, svc.name, "networks") for net in svc.networks.values()
           for alias in net.aliases]
    for link in svc.links:
        target, _, alias = link.partition(":")
        if alias and target in project.services:
            out.append((alias, target, "links"))
    if svc.container_name:
        out.append((svc.container_name, svc.name, "container_name"))
    return out


def _published(svc: Service, name: str, published: str, options: Options, notes: Notes
               ) -> tuple[list[dict[str, Any]], list[Port]]:
    """The ports of Service `published`, and the container ports they lead to."""
    entries: list[dict[str, Any]] = []
    targets: list[Port] = []
    seen: set[tuple[int, str]] = set()
    kind = options.service_type
    for p in svc.ports:
        proto = p.protocol.upper()
        if p.host_ip and p.host_ip.startswith(LOOPBACK):
            local = p.published or p.target
            notes.approximated("ports", f"{local}:{p.target} is published on {p.host_ip} "
                                        f"only: reach it with `kubectl port-forward service/"
                                        f"{name} {local}:{p.target}`")
            continue
        first, _, last = (p.published or str(p.target)).partition("-")
        port = int(first)
        if last and last != first:
            notes.approximated("ports", f"{p.published}:{p.target}: the range becomes its "
                                        f"first port, {port}")
        if (port, proto) in seen:
            notes.dropped("ports", f"{port}/{proto.lower()} is published twice")
            continue
        seen.add((port, proto))
        entry: dict[str, Any] = {"name": f"{proto.lower()}-{port}", "port": port,
                                 "targetPort": p.target, "protocol": proto}
        what = f"{p.published or '(any)'}:{p.target} -> Service {published} ({kind})"
        if kind == "NodePort" and p.published and port in NODE_PORTS:
            entry["nodePort"] = port
            notes.mapped("ports", what + f", node port {port}")
        elif kind == "NodePort" and p.published:
            notes.approximated("ports", what + ": the cluster picks the node port "
                                               "(node ports are 30000-32767)")
        elif kind == "ClusterIP":
            notes.approximated("ports", what + ": inside the cluster only (use --service-type "
                                               "LoadBalancer or NodePort to expose it)")
        else:
            notes.mapped("ports", what)
        if p.host_ip and p.host_ip not in ("0.0.0.0", "::"):
            notes.approximated("ports", f"{p.published}:{p.target}: host_ip {p.host_ip} "
                                        "dropped")
        entries.append(entry)
        targets.append((p.target, proto))
    return entries, targets


def services(project: Project, written: Mapping[str, Mapping[str, Any]], layout: Layout,
             options: Options, selector: Callable[[str], dict[str, str]],
             labels: Callable[[str], dict[str, str]], notes: dict[str, Notes]) -> ServiceSet:
    out = ServiceSet()
    taken = {layout.names[name]: name for name in project.services}  # name -> service
    for name in sorted(project.services):
        svc, own = project.services[name], layout.names[name]
        ports = _ports(layout.listens[name])
        headless = name in layout.headless
        if (written[name].get("deploy") or {}).get("endpoint_mode") == "dnsrr":
            notes[name].mapped("deploy.endpoint_mode", f"dnsrr: Service {own} is headless")
        out.manifests.append(_service(own, selector(name), labels(name), ports, headless))
        for key in ("ports", "expose"):
            if getattr(svc, key):
                notes[name].mapped(key, f"Service {own} ({'headless' if headless else 'ClusterIP'})")
        if layout.clipped.get(name):
            notes[name].approximated("expose", f"{layout.clipped[name]} ports of a range left "
                                               f"out (at most {len(ports)} on a Service)")
        published = names.required_label(f"service {name!r}", own, "published")
        entries, targets = _published(svc, own, published, options, notes[name])
        if entries:
            if published in taken:
                raise ComposeError(f"service {name!r}: its published ports' Service would be "
                                   f"named {published}, as {taken[published]}'s is; rename one")
            taken[published] = name
            out.manifests.append(_service(published, selector(name), labels(name), entries,
                                          False, options.service_type))
            out.published[name] = targets
    for name in sorted(project.services):
        for alias, target, key in _aliases(project, project.services[name]):
            dns = names.dns_name(alias)
            if dns is None:
                notes[name].dropped(key, f"{alias}: no DNS label, so no Service can have it")
            elif dns == layout.names[target]:
                notes[name].mapped(key, f"{alias}: the name of Service {dns}")
            elif dns in taken and taken[dns] != target:
                notes[name].dropped(key, f"{alias}: already the name of "
                                         f"{taken[dns]}'s Service")
            elif dns in taken:
                notes[name].mapped(key, f"{alias}: Service {dns} for {target}")
            else:
                taken[dns] = target
                out.manifests.append(_service(dns, selector(target), labels(target),
                                              _ports(layout.listens[target]),
                                              target in layout.headless))
                notes[name].mapped(key, f"{alias}: Service {dns} for {target}")
    return out
