"""Health and order: healthchecks become probes, depends_on becomes initContainers that
wait, as compose waits before it starts a dependent.

- service_healthy: the dependency's healthcheck is its readinessProbe, so its Service
  answers only once it is healthy; the dependent's initContainer waits for that (a TCP
  connection to the Service, or, for a dependency that opens no TCP port, a DNS answer
  from its headless Service, which lists ready pods only);
- service_completed_successfully: the dependency is a Job, and the initContainer waits
  for it to complete (`kubectl wait`, as a ServiceAccount that may read Jobs);
- service_started: nothing to wait for; pods start in any order.
"""
from __future__ import annotations

import math
from typing import Any

from ..model import Healthcheck, Service
from . import names
from .layout import Layout
from .model import Manifest
from .report import Notes

WAIT_IMAGE = "busybox:1.36"
KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.32.0"
WAITER = "berth-job-waiter"  # the ServiceAccount, Role and RoleBinding of Job waits
CLUSTER_DOMAIN = "cluster.local"

# compose's healthcheck defaults
INTERVAL, TIMEOUT, RETRIES = 30, 30, 3


def _seconds(value: float | None, default: int) -> int:
    return default if value is None else max(1, math.ceil(value))


def _command(test: tuple[str, ...]) -> list[str] | None:
    kind, rest = test[0], list(test[1:])
    if kind == "CMD" and rest:
        return rest
    if kind == "CMD-SHELL" and rest:
        return ["/bin/sh", "-c", " ".join(rest)]
    return None


def probes(hc: Healthcheck | None, liveness: bool, notes: Notes
           ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The readinessProbe and (with `liveness`) livenessProbe of a healthcheck."""
    if hc is None:
        return None, None
    if hc.disable or (hc.test and hc.test[0] == "NONE"):
        notes.mapped("healthcheck", "disabled: no probe")
        return None, None
    command = _command(hc.test) if hc.test else None
    if command is None:
        notes.dropped("healthcheck", "no test of its own (the image's HEALTHCHECK is not "
                                     "visible to Kubernetes)")
        return None, None
    readiness = {"exec": {"command": command},
                 "periodSeconds": _seconds(hc.interval, INTERVAL),
                 "timeoutSeconds": _seconds(hc.timeout, TIMEOUT),
                 "failureThreshold": max(1, hc.retries if hc.retries is not None else RETRIES)}
    what = (f"readinessProbe exec every {readiness['periodSeconds']}s (timeout "
            f"{readiness['timeoutSeconds']}s, {readiness['failureThreshold']} failures)")
    liveness_probe = None
    if liveness:
        liveness_probe = dict(readiness)
        if hc.start_period:
            liveness_probe["initialDelaySeconds"] = _seconds(hc.start_period, 0)
        what += ", and the same livenessProbe (after start_period)"
    if hc.start_interval is not None:
        notes.approximated("healthcheck", what + "; start_interval dropped: probes keep "
                                                 "one period")
    else:
        notes.mapped("healthcheck", what)
    return readiness, liveness_probe


def _name(host: str) -> str:
    return names.label("wait-for", host) or "wait"


def _tcp_wait(host: str, port: int) -> dict[str, Any]:
    """busybox builds differ on `nc -z`; `-e true` connects and hangs up in all of them."""
    return {"name": _name(host), "image": WAIT_IMAGE,
            "command": ["sh", "-c", f"until nc -w 2 {host} {port} -e true; do "
                                    f"echo waiting for {host}; sleep 1; done"]}


def _dns_wait(host: str) -> dict[str, Any]:
    fqdn = f"{host}.$POD_NAMESPACE.svc.{CLUSTER_DOMAIN}"
    return {"name": _name(host), "image": WAIT_IMAGE,
            "command": ["sh", "-c", f"until nslookup {fqdn} >/dev/null 2>&1; do "
                                    f"echo waiting for {host}; sleep 1; done"],
            "env": [{"name": "POD_NAMESPACE",
                     "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]}


def _job_wait(host: str) -> dict[str, Any]:
    return {"name": _name(host), "image": KUBECTL_IMAGE,
            "args": ["wait", "--for=condition=complete", "--timeout=-1s", f"job/{host}"]}


def waits(svc: Service, services: dict[str, Service], layout: Layout, notes: Notes
          ) -> tuple[list[dict[str, Any]], bool]:
    """The initContainers that wait for `svc`'s dependencies, and whether one of them
    waits for a Job (the pod then runs as the WAITER ServiceAccount)."""
    containers: list[dict[str, Any]] = []
    job_wait = False
    for dep, how in svc.depends_on.items():
        if dep not in services:
            notes.dropped("depends_on", f"{dep} is not converted (required: false)")
            continue
        host = layout.names[dep]
        if how.restart:
            notes.dropped("depends_on", f"{dep}: restart: true (Kubernetes does not restart "
                                        "dependents)")
        if how.condition == "service_started":
            notes.dropped("depends_on", f"{dep} (service_started): pods start in any order "
                                        f"and {host}'s name resolves once its Service exists")
            continue
        if how.condition == "service_completed_successfully":
            containers.append(_job_wait(host))
            job_wait = True
            notes.mapped("depends_on", f"{dep} (service_completed_successfully): initContainer "
                                       f"waits for Job {host} to complete (kubectl wait, as "
                                       f"ServiceAccount {WAITER})")
        else:
            tcp = [port for port, proto in layout.listens[dep] if proto == "TCP"]
            containers.append(_tcp_wait(host, tcp[0]) if tcp else _dns_wait(host))
            answer = (f"its Service accepts connections on {tcp[0]}" if tcp else
                      f"its headless Service lists a ready pod (DNS, cluster domain "
                      f"{CLUSTER_DOMAIN})")
            if services[dep].healthcheck is None:
                notes.approximated("depends_on", f"{dep} (service_healthy) has no healthcheck "
                                                 f"here: initContainer waits until {answer}")
            else:
                notes.mapped("depends_on", f"{dep} (service_healthy): initContainer waits "
                                           f"until {answer} (its healthcheck is its "
                                           f"readinessProbe)")
    return containers, job_wait


def waiter_objects(labels: dict[str, str]) -> list[Manifest]:
    """The ServiceAccount that Job waits run as, and its right to read Jobs."""
    rbac = "rbac.authorization.k8s.io"

    def meta() -> dict[str, Any]:
        return {"name": WAITER, "labels": dict(labels)}
    return [
        Manifest("ServiceAccount", WAITER, {"apiVersion": "v1", "kind": "ServiceAccount",
                                            "metadata": meta()}),
        Manifest("Role", WAITER, {"apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": meta(),
                                  "rules": [{"apiGroups": ["batch"], "resources": ["jobs"],
                                             "verbs": ["get", "list", "watch"]}]}),
        Manifest("RoleBinding", WAITER, {
            "apiVersion": f"{rbac}/v1", "kind": "RoleBinding", "metadata": meta(),
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": WAITER},
            "subjects": [{"kind": "ServiceAccount", "name": WAITER}]}),
    ]
