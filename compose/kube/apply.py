"""A conversion on a cluster: server-side apply through the official `kubernetes`
client, in dependency order (what pods use, then the workloads level by level of
depends_on, each level ready before the next with `wait`), and `down`, which deletes
what carries the project's labels. The client is imported here only, and this module
only for `berth kube apply` and `down`."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

from ..errors import ComposeError
from ..events import DONE, FAILED, WORKING, Reporter, Step
from . import meta
from .convert import Conversion
from .model import Manifest
from .workloads import API_VERSIONS

FIELD_MANAGER = "berth"
REACH_TIMEOUT = 10  # seconds to wait for the API server's first answer
API = {**API_VERSIONS, "Service": "v1", "ConfigMap": "v1", "Secret": "v1",
       "PersistentVolumeClaim": "v1", "ServiceAccount": "v1", "Namespace": "v1",
       "NetworkPolicy": "networking.k8s.io/v1", "Role": "rbac.authorization.k8s.io/v1",
       "RoleBinding": "rbac.authorization.k8s.io/v1"}
# what `down` deletes, in this order (claims only when asked: they hold the data)
DOWN_ORDER = ("Job", "Deployment", "StatefulSet", "DaemonSet", "Service", "NetworkPolicy",
              "ConfigMap", "Secret", "RoleBinding", "Role", "ServiceAccount")


def _first_line(err: BaseException) -> str:
    """What an error from the client says, in one line (an API status's message when
    there is one)."""
    import json

    body = getattr(err, "body", None)
    if body:
        try:
            return str(json.loads(body).get("message") or body).splitlines()[0]
        except (ValueError, AttributeError):
            pass
    reason = getattr(err, "reason", None)
    text = str(reason if reason else err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class Cluster:
    """One cluster (a kubeconfig context), reached or an error in one line."""

    def __init__(self, context: str | None) -> None:
        try:
            from kubernetes import client, config, dynamic
        except ImportError:
            raise ComposeError("berth kube apply and down need the kubernetes Python client: "
                               "pip install 'berth[kube]'") from None
        try:
            contexts, active = config.list_kube_config_contexts()
            api = config.new_client_from_config(context=context)
        except (config.ConfigException, OSError, TypeError, ValueError) as err:
            raise ComposeError(f"no Kubernetes cluster to talk to: {_first_line(err)} "
                               "(set KUBECONFIG, or name a --context)") from None
        chosen = next((c for c in contexts if c["name"] == context), active) if context else active
        self.namespace = (chosen.get("context") or {}).get("namespace") or "default"
        self.host = api.configuration.host
        try:
            client.VersionApi(api).get_code(_request_timeout=REACH_TIMEOUT)
            self.api = dynamic.DynamicClient(api)
        except Exception as err:  # noqa: BLE001 - any failure to reach it, in one line
            raise ComposeError(f"cannot reach the Kubernetes cluster at {self.host}: "
                               f"{_first_line(err)}") from None

    def resource(self, kind: str):
        return self.api.resources.get(api_version=API[kind], kind=kind)


def _errors():
    from kubernetes.dynamic import exceptions

    return exceptions


def _ensure_namespace(cluster: Cluster, namespace: str, dry_run: bool, report: Reporter) -> None:
    resource = cluster.resource("Namespace")
    try:
        resource.get(name=namespace)
        return
    except _errors().NotFoundError:
        if dry_run:
            raise ComposeError(f"namespace {namespace} does not exist: a server dry run needs "
                               "it (apply without --dry-run creates it)") from None
    cluster.api.create(resource, body={"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": namespace}})
    report(Step("Namespace", namespace, "Created", DONE))


def _apply(cluster: Cluster, body: dict[str, Any], namespace: str, dry_run: bool) -> None:
    cluster.api.server_side_apply(cluster.resource(body["kind"]), body=body, namespace=namespace,
                                  field_manager=FIELD_MANAGER, force_conflicts=True,
                                  dry_run="All" if dry_run else None)


def _replace_job(cluster: Cluster, body: dict[str, Any], namespace: str, report: Reporter) -> None:
    """A Job's pod template cannot change: delete the old Job, then apply."""
    name, resource = body["metadata"]["name"], cluster.resource("Job")
    report(Step("Job", name, "Recreating"))
    cluster.api.delete(resource, name=name, namespace=namespace, propagation_policy="Foreground")
    while True:
        try:
            version = resource.get(name=name, namespace=namespace).metadata.resourceVersion
        except _errors().NotFoundError:
            break
        _next_change(cluster, resource, name, namespace, version, 60)
    _apply(cluster, body, namespace, False)


def _next_change(cluster: Cluster, resource, name: str, namespace: str, version: str,
                 timeout: float) -> None:
    """Return when the object changes after `version`, or after `timeout` seconds."""
    try:
        for _ in cluster.api.watch(resource, namespace=namespace, name=name,
                                   resource_version=version, timeout=max(1, int(timeout))):
            return
    except _errors().DynamicApiError:
        time.sleep(1)  # the watch expired (410 Gone): the caller looks again


def _status(kind: str, obj: dict[str, Any]) -> tuple[bool, str | None]:
    """(ready, why it failed) of a workload as the API server reports it, as `kubectl
    rollout status` and `kubectl wait --for=condition=complete` judge it."""
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    if kind == "Job":
        conditions = {c["type"]: c for c in status.get("conditions") or ()
                      if c.get("status") == "True"}
        if "Failed" in conditions:
            return False, conditions["Failed"].get("message") or conditions["Failed"].get("reason")
        return "Complete" in conditions, None
    if (status.get("observedGeneration") or 0) < (obj["metadata"].get("generation") or 0):
        return False, None
    count = {key: status.get(key) or 0 for key in (
        "replicas", "updatedReplicas", "availableReplicas", "readyReplicas",
        "desiredNumberScheduled", "updatedNumberScheduled", "numberAvailable")}
    if kind == "DaemonSet":
        want = count["desiredNumberScheduled"]
        return count["updatedNumberScheduled"] == want == count["numberAvailable"], None
    want = spec.get("replicas", 1)
    if kind == "StatefulSet":
        return count["readyReplicas"] == want == count["updatedReplicas"], None
    return (count["updatedReplicas"] == want == count["replicas"]
            and count["availableReplicas"] == want), None


def _wait(cluster: Cluster, kind: str, name: str, namespace: str, deadline: float | None,
          report: Reporter) -> None:
    resource = cluster.resource(kind)
    report(Step(kind, name, "Waiting"))
    while True:
        obj = resource.get(name=name, namespace=namespace).to_dict()
        ready, failed = _status(kind, obj)
        if failed:
            report(Step(kind, name, "Failed", FAILED))
            raise ComposeError(f"{kind} {name} failed: {failed}")
        if ready:
            report(Step(kind, name, "Complete" if kind == "Job" else "Ready", DONE))
            return
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            report(Step(kind, name, "Timed out", FAILED))
            raise ComposeError(f"{kind} {name} is not ready after the timeout")
        _next_change(cluster, resource, name, namespace, obj["metadata"]["resourceVersion"],
                     min(left or 60, 60))


def _apply_one(cluster: Cluster, m: Manifest, namespace: str, dry_run: bool,
               report: Reporter) -> None:
    body = {**m.body, "metadata": {**m.body["metadata"], "namespace": namespace}}
    try:
        _apply(cluster, body, namespace, dry_run)
    except _errors().UnprocessibleEntityError as err:
        if m.kind != "Job" or dry_run or "immutable" not in _first_line(err):
            raise
        _replace_job(cluster, body, namespace, report)


def apply(cluster: Cluster, conversion: Conversion, namespace: str | None, *, wait: bool,
          dry_run: bool, report: Reporter, timeout: float | None = None) -> None:
    """Apply every object; with `wait`, each level of workloads is ready (a Job complete)
    before the next is applied."""
    namespace = namespace or cluster.namespace
    deadline = None if timeout is None else time.monotonic() + timeout
    workloads = {m.name: m for m in conversion.manifests if m.service is not None}
    steps = [[m for m in conversion.manifests if m.service is None]] + \
        [[workloads[name] for name in level] for level in conversion.levels]
    with _api_errors(cluster):
        _ensure_namespace(cluster, namespace, dry_run, report)
        for batch in steps:
            for m in batch:
                report(Step(m.kind, m.name, "Applying"))
                with _api_errors(cluster, m, report):
                    _apply_one(cluster, m, namespace, dry_run, report)
                waits = wait and not dry_run and m.service is not None
                report(Step(m.kind, m.name, "Checked" if dry_run else "Applied",
                            WORKING if waits else DONE))
            for m in batch:
                if wait and not dry_run and m.service is not None:
                    _wait(cluster, m.kind, m.name, namespace, deadline, report)


@contextmanager
def _api_errors(cluster: Cluster, m: Manifest | None = None,
                report: Reporter | None = None) -> Iterator[None]:
    """An API server's refusal, or a cluster gone, as one line naming the object."""
    from urllib3.exceptions import HTTPError

    try:
        yield
    except (_errors().DynamicApiError, HTTPError, OSError) as err:
        if m is not None and report is not None:
            report(Step(m.kind, m.name, "Error", FAILED))
        what = f"{m.kind} {m.name}" if m is not None else f"cluster at {cluster.host}"
        raise ComposeError(f"{what}: {_first_line(err)}") from None


def down(cluster: Cluster, project: str, namespace: str | None, *, volumes: bool,
         report: Reporter) -> int:
    """Delete the project's objects (its claims too with `volumes`); how many."""
    namespace = namespace or cluster.namespace
    selector = ",".join(f"{k}={v}" for k, v in meta.common(project).items())
    kinds = DOWN_ORDER + (("PersistentVolumeClaim",) if volumes else ())
    count = 0
    with _api_errors(cluster):
        for kind in kinds:
            resource = cluster.resource(kind)
            for item in resource.get(namespace=namespace, label_selector=selector).items:
                name = item.metadata.name
                report(Step(kind, name, "Removing"))
                try:
                    cluster.api.delete(resource, name=name, namespace=namespace,
                                       propagation_policy="Background")
                except _errors().NotFoundError:
                    pass  # gone meanwhile
                report(Step(kind, name, "Removed", DONE))
                count += 1
    return count
