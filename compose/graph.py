"""The service dependency graph (networkx): start order by levels, stop order reversed.

An edge runs from a dependency to the service that needs it, so a topological order
is a start order. Edges come from depends_on, links, volumes_from and
`network_mode`/`ipc`/`pid: service:NAME`.
"""
from __future__ import annotations

from typing import Iterable

from .model import Project, Service


def _refs(svc: Service) -> Iterable[tuple[str, str]]:
    for dep in svc.depends_on:
        yield dep, "depends_on"
    for link in svc.links:
        yield link.split(":")[0], "links"
    for source in svc.volumes_from:
        if not source.startswith("container:"):
            yield source.split(":")[0], "volumes_from"
    for key in ("network_mode", "ipc", "pid"):
        value = getattr(svc, key)
        if value and value.startswith("service:"):
            yield value[len("service:"):], key


def dependency_graph(project: Project):  # -> networkx.DiGraph
    import networkx as nx  # costly import: only when a graph is needed

    graph = nx.DiGraph()
    graph.add_nodes_from(project.services)
    for svc in project.services.values():
        for dep, kind in _refs(svc):
            if dep in project.services:
                graph.add_edge(dep, svc.name, kind=kind)
    return graph


def find_cycle(project: Project) -> list[str] | None:
    """A dependency cycle as [a, b, c] (a needs c, c needs b, b needs a), or None."""
    import networkx as nx

    graph = dependency_graph(project)
    try:
        edges = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return None
    # edges run dependency -> dependent; report in "needs" order
    return [edge[1] for edge in reversed(edges)]


def start_levels(project: Project, services: Iterable[str] | None = None) -> list[list[str]]:
    """Services in start order, grouped: all services of one level may start in parallel.
    The whole project's levels are computed once at load (and cached with it)."""
    if project.levels and (services is None or set(services) == set(project.services)):
        return [list(level) for level in project.levels]
    import networkx as nx

    graph = dependency_graph(project)
    if services is not None:
        graph = graph.subgraph(set(services))
    return [sorted(level) for level in nx.topological_generations(graph)]


def stop_levels(project: Project, services: Iterable[str] | None = None) -> list[list[str]]:
    """The reverse of start_levels: dependents stop before what they depend on."""
    return list(reversed(start_levels(project, services)))


def levels_of(needs: dict[str, set[str]]) -> list[list[str]]:
    """Start levels for bare service -> dependencies data (e.g. read back from labels,
    when the compose file may be gone); unknown dependencies are ignored."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(needs)
    graph.add_edges_from((dep, name) for name, deps in needs.items() for dep in deps if dep in needs)
    try:
        return [sorted(level) for level in nx.topological_generations(graph)]
    except nx.NetworkXUnfeasible:  # a cycle in old labels: stop everything at once
        return [sorted(needs)]


def with_dependencies(project: Project, names: Iterable[str]) -> set[str]:
    """`names` and everything they (transitively) need."""
    import networkx as nx

    graph = dependency_graph(project)
    out: set[str] = set()
    for name in names:
        out.add(name)
        out |= nx.ancestors(graph, name)
    return out


def dependents(project: Project, names: Iterable[str]) -> set[str]:
    """Everything that (transitively) needs one of `names`."""
    import networkx as nx

    graph = dependency_graph(project)
    out: set[str] = set()
    for name in names:
        out |= nx.descendants(graph, name)
    return out
