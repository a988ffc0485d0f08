"""A loaded compose project -> Kubernetes objects and the report of what became of each
key. Pure: everything it reads comes in through `Source`."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ComposeError
from ..graph import start_levels
from . import checks, meta
from .layout import layout
from .model import Manifest, Options, Source
from .pods import Pod, pod
from .policy import policies
from .probes import WAITER, waiter_objects
from .report import Notes, Report, outcomes, service_report
from .services import services
from .storage import claims, file_objects
from .workloads import workload

# the order objects are applied in: what pods use first, then the workloads
KIND_ORDER = ("ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Secret",
              "PersistentVolumeClaim", "NetworkPolicy", "Service")


@dataclass(frozen=True)
class Conversion:
    manifests: tuple[Manifest, ...]  # in the order to apply them
    report: Report
    levels: tuple[tuple[str, ...], ...]  # workload names, level by level of depends_on


def _image_notes(source: Source, service: str, notes: Notes) -> None:
    svc, ref = source.project.services[service], source.images[service]
    if svc.build:
        notes.mapped("build", f"built by berth, pushed, run as {ref}")
        notes.mapped("image", f"the local name of the build; pods run {ref}")
    else:
        notes.mapped("image", ref)


def convert(source: Source, options: Options = Options()) -> Conversion:
    """The objects of a project, in the order to apply them, and the report."""
    project = source.project
    plan = layout(project, source.written, source.exposed)
    notes = {name: Notes() for name in project.services}
    shared = Notes()
    pods: dict[str, Pod] = {}
    for name in sorted(project.services):
        _image_notes(source, name, notes[name])
        pods[name] = pod(source, options, plan, name, notes[name])
    loads = {name: workload(project, source.written[name], plan, name, pods[name], notes[name])
             for name in project.services}
    found = services(project, source.written, plan, options,
                     lambda s: meta.selector(project.name, plan.names[s]),
                     lambda s: meta.owned(project.name, plan.names[s]), notes)
    labels = meta.common(project.name)
    objects: list[Manifest] = []
    if any(p.template["spec"].get("serviceAccountName") == WAITER for p in pods.values()):
        objects += waiter_objects(labels)
    for name in sorted(pods):
        objects += pods[name].objects
    for section in ("configs", "secrets"):
        used = {g.source for svc in project.services.values() for g in getattr(svc, section)}
        objects += file_objects(section, project, used, source.read, labels, shared)
    objects += claims(project, plan, labels, shared)
    objects += policies(project, plan, found.published,
                        {name: p.networks for name, p in pods.items()}, shared)
    objects += found.manifests
    objects.sort(key=lambda m: (KIND_ORDER.index(m.kind), m.name))
    order = start_levels(project)
    levels = tuple(tuple(sorted(plan.names[s] for s in level)) for level in order)
    objects += [loads[s] for level in order for s in sorted(level)]
    clashes = list(checks.unique_names(objects))
    if clashes:
        raise ComposeError(f"{clashes[0]}: rename the services, configs or secrets they "
                           "come from")
    problems = checks.problems(objects)
    if problems:
        raise ComposeError("the conversion made invalid objects (a bug in berth): "
                           + "; ".join(problems))
    for name in sorted(project.disabled):
        shared.dropped(f"services.{name}", "not converted: its profiles are not active")
    report = Report(project.name, tuple(
        service_report(name, plan.kinds[name], plan.names[name], source.written[name],
                       notes[name]) for name in sorted(project.services)),
        tuple(outcomes(shared)), len(objects))
    return Conversion(tuple(objects), report, levels)
