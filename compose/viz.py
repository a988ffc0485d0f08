"""`alpha viz`: a picture of the project's dependency graph. Pure.

Text: the services level by level in start order, each with what it waits for (and how);
dot: Graphviz, laid out as docker compose's `alpha viz` writes it (an edge from a service
to each service it depends on), with its networks, ports and image when asked.
"""
from __future__ import annotations

from dataclasses import dataclass

from .labels import image_ref
from .model import Project, Service


@dataclass(frozen=True)
class VizOptions:
    networks: bool = False
    ports: bool = False
    image: bool = False
    indentation: str = "\t"


_CONDITIONS = {"service_started": "started", "service_healthy": "healthy",
               "service_completed_successfully": "completed"}


def _details(project: Project, svc: Service, options: VizOptions) -> list[tuple[str, list[str]]]:
    out = []
    if options.networks and svc.networks:
        out.append(("Networks", sorted(svc.networks, key=lambda k: -svc.networks[k].priority)))
    if options.ports and svc.ports:
        out.append(("Ports", [f"{p.host_ip + ':' if p.host_ip else ''}{p.published or ''}:"
                              f"{p.target} ({p.protocol}, {p.mode})" for p in svc.ports]))
    if options.image:
        out.append(("Image", [image_ref(project, svc)]))
    return out


def text(project: Project, options: VizOptions = VizOptions()) -> str:
    """The graph as text: one block per start level."""
    lines = [f"{project.name}"]
    for number, level in enumerate(project.levels or (tuple(project.services),), 1):
        lines.append(f"level {number}:")
        for name in level:
            svc = project.services[name]
            needs = ", ".join(f"{dep} ({_CONDITIONS.get(d.condition, d.condition)}"
                              f"{'' if d.required else ', optional'})"
                              for dep, d in svc.depends_on.items())
            lines.append(f"  {name}" + (f" <- {needs}" if needs else ""))
            for title, values in _details(project, svc, options):
                lines.append(f"    {title.lower()}: {', '.join(values)}")
    return "\n".join(lines) + "\n"


def dot(project: Project, options: VizOptions = VizOptions()) -> str:
    """The graph in Graphviz's dot language."""
    pad = options.indentation
    out = [f'digraph "{project.name}" {{', f"{pad}layout=dot;"]
    for name, svc in project.services.items():
        label = f'<font point-size="15">{name}</font>'
        for title, values in _details(project, svc, options):
            label += (f'<font point-size="10"><br/><br/><b>{title}:</b>'
                      + "".join(f"<br/>{v}" for v in values) + "</font>")
        out.append(f'{pad}"{name}" [style="filled" label=<{label}>];')
    out.append("")
    for name, svc in project.services.items():
        for dep in svc.depends_on:
            if dep in project.services:
                out.append(f'{pad}"{name}" -> "{dep}";')
    out.append("}")
    return "\n".join(out) + "\n"
