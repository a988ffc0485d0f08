"""The conversion report: what became of every key of every service.

The converter notes what it does with the keys it reads (`Notes`); every other key the
files wrote takes its outcome from KEYS, which names every key of the compose spec's
service (a test holds it to the schema), so no key disappears silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

MAPPED, APPROXIMATED, DROPPED = "mapped", "approximated", "dropped"
_RANK = {MAPPED: 0, APPROXIMATED: 1, DROPPED: 2}

_NO_KNOB = "Kubernetes has no per-pod setting for it"

# key -> its outcome when the converter notes nothing more precise
KEYS: dict[str, tuple[str, str]] = {
    "annotations": (MAPPED, "annotations of the workload and its pods"),
    "attach": (DROPPED, "nothing is attached to a cluster's pods; `kubectl logs` shows output"),
    "blkio_config": (DROPPED, _NO_KNOB),
    "build": (MAPPED, "built by berth, pushed to --registry, run by digest"),
    "cap_add": (MAPPED, "securityContext.capabilities.add"),
    "cap_drop": (MAPPED, "securityContext.capabilities.drop"),
    "cgroup": (DROPPED, _NO_KNOB),
    "cgroup_parent": (DROPPED, "the kubelet places pods in its own cgroups"),
    "command": (MAPPED, "container args"),
    "configs": (MAPPED, "ConfigMaps mounted where compose mounts them"),
    "container_name": (DROPPED, "pods get generated names"),
    "cpu_count": (DROPPED, "Windows only"),
    "cpu_percent": (DROPPED, "Windows only"),
    "cpu_period": (APPROXIMATED, "with cpu_quota, a CPU limit (quota / period)"),
    "cpu_quota": (APPROXIMATED, "with cpu_period, a CPU limit (quota / period)"),
    "cpu_rt_period": (DROPPED, _NO_KNOB),
    "cpu_rt_runtime": (DROPPED, _NO_KNOB),
    "cpu_shares": (DROPPED, "relative CPU weight has no Kubernetes equivalent; set requests.cpu"),
    "cpus": (MAPPED, "resources.limits.cpu"),
    "cpuset": (DROPPED, "CPU pinning is the kubelet's CPU manager policy"),
    "credential_spec": (DROPPED, "Windows only"),
    "depends_on": (MAPPED, "initContainers that wait"),
    "deploy": (MAPPED, "replicas, resources, restart policy and mode"),
    "develop": (DROPPED, "`watch` is a local development loop"),
    "device_cgroup_rules": (DROPPED, _NO_KNOB),
    "devices": (DROPPED, "host devices reach pods through device plugins"),
    "dns": (APPROXIMATED, "dnsConfig.nameservers, after the cluster's DNS"),
    "dns_opt": (MAPPED, "dnsConfig.options"),
    "dns_search": (MAPPED, "dnsConfig.searches"),
    "domainname": (DROPPED, "a pod's domain is its namespace's"),
    "entrypoint": (MAPPED, "container command"),
    "env_file": (MAPPED, "a ConfigMap the container takes its environment from"),
    "environment": (MAPPED, "container env"),
    "expose": (MAPPED, "ports of the service's ClusterIP Service"),
    "extends": (MAPPED, "resolved when the project loads"),
    "external_links": (DROPPED, "containers outside the project are not in the cluster"),
    "extra_hosts": (MAPPED, "hostAliases"),
    "gpus": (DROPPED, "GPUs are requested as device-plugin resources (e.g. nvidia.com/gpu)"),
    "group_add": (MAPPED, "securityContext.supplementalGroups"),
    "healthcheck": (MAPPED, "readinessProbe (exec)"),
    "hostname": (MAPPED, "the pod's hostname"),
    "image": (MAPPED, "container image"),
    "init": (APPROXIMATED, "shareProcessNamespace: the pod's pause process reaps zombies "
                          "as docker's init does"),
    "ipc": (DROPPED, "only `host` has a Kubernetes equivalent (hostIPC)"),
    "isolation": (DROPPED, "Windows only"),
    "label_file": (MAPPED, "read into labels"),
    "labels": (MAPPED, "labels (annotations for what is no valid label)"),
    "links": (MAPPED, "the linked services' Services (aliases become Services too)"),
    "logging": (DROPPED, "the cluster collects stdout and stderr; its logging is its own"),
    "mac_address": (DROPPED, "pods get their addresses from the cluster's network"),
    "mem_limit": (MAPPED, "resources.limits.memory"),
    "mem_reservation": (MAPPED, "resources.requests.memory"),
    "mem_swappiness": (DROPPED, _NO_KNOB),
    "memswap_limit": (DROPPED, "swap is the kubelet's setting"),
    "models": (DROPPED, "no Kubernetes equivalent"),
    "network_mode": (DROPPED, "pods always have their own network"),
    "networks": (MAPPED, "a NetworkPolicy per network"),
    "oom_kill_disable": (DROPPED, _NO_KNOB),
    "oom_score_adj": (DROPPED, "the kubelet sets it from the pod's QoS class"),
    "pid": (DROPPED, "only `host` has a Kubernetes equivalent (hostPID)"),
    "pids_limit": (DROPPED, "the PID limit is the kubelet's setting"),
    "platform": (MAPPED, "nodeSelector kubernetes.io/os and kubernetes.io/arch"),
    "ports": (MAPPED, "a Service"),
    "post_start": (MAPPED, "lifecycle.postStart"),
    "pre_start": (DROPPED, "not converted yet: run the hooks' commands as a Job, or as "
                           "initContainers of the workload"),
    "pre_stop": (MAPPED, "lifecycle.preStop"),
    "privileged": (MAPPED, "securityContext.privileged"),
    "profiles": (MAPPED, "applied at conversion: only active services are converted"),
    "provider": (DROPPED, "no Kubernetes equivalent"),
    "pull_policy": (MAPPED, "imagePullPolicy"),
    "pull_refresh_after": (DROPPED, "no Kubernetes equivalent"),
    "read_only": (MAPPED, "securityContext.readOnlyRootFilesystem"),
    "restart": (MAPPED, "the workload kind and its restartPolicy"),
    "runtime": (DROPPED, "runtimes are the cluster's RuntimeClasses"),
    "scale": (MAPPED, "replicas"),
    "secrets": (MAPPED, "Secrets mounted where compose mounts them"),
    "security_opt": (MAPPED, "securityContext"),
    "shm_size": (APPROXIMATED, "a memory-backed emptyDir at /dev/shm of that size"),
    "stdin_open": (MAPPED, "container stdin"),
    "stop_grace_period": (MAPPED, "terminationGracePeriodSeconds"),
    "stop_signal": (DROPPED, "Kubernetes stops containers with SIGTERM"),
    "storage_opt": (DROPPED, _NO_KNOB),
    "sysctls": (MAPPED, "pod securityContext.sysctls"),
    "tmpfs": (MAPPED, "memory-backed emptyDir volumes"),
    "tty": (MAPPED, "container tty"),
    "ulimits": (DROPPED, _NO_KNOB),
    "use_api_socket": (DROPPED, "there is no engine socket in a cluster"),
    "user": (MAPPED, "securityContext.runAsUser/runAsGroup"),
    "userns_mode": (DROPPED, "user namespaces are the pod's hostUsers setting"),
    "uts": (DROPPED, _NO_KNOB),
    "volumes": (MAPPED, "volumes"),
    "volumes_from": (DROPPED, "pods cannot mount another pod's volumes; mount the same "
                             "named volume instead"),
    "working_dir": (MAPPED, "container workingDir"),
}
_EXTENSION = (DROPPED, "an extension field (x-): not part of the service")
_UNKNOWN = (DROPPED, "not a key berth knows")
# deploy's keys, reported one by one
DEPLOY_KEYS = {
    "deploy.replicas": (MAPPED, "replicas"),
    "deploy.mode": (MAPPED, "global: a DaemonSet"),
    "deploy.resources": (MAPPED, "resources"),
    "deploy.restart_policy": (MAPPED, "the workload kind and its restartPolicy"),
    "deploy.labels": (MAPPED, "labels of the workload (annotations for what is no valid "
                              "label)"),
    "deploy.placement": (DROPPED, "swarm placement; use nodeSelector or affinity"),
    "deploy.update_config": (DROPPED, "swarm rollouts; Kubernetes rolls out on its own terms"),
    "deploy.rollback_config": (DROPPED, "swarm rollbacks; see `kubectl rollout undo`"),
    "deploy.endpoint_mode": (MAPPED, "vip: a ClusterIP Service"),
}


class Notes:
    """What the converter did with one service's keys, as it goes."""

    def __init__(self) -> None:
        self.found: dict[str, list[tuple[str, str]]] = {}

    def _add(self, key: str, outcome: str, detail: str) -> None:
        entries = self.found.setdefault(key, [])
        if (outcome, detail) not in entries:
            entries.append((outcome, detail))

    def mapped(self, key: str, how: str) -> None:
        self._add(key, MAPPED, how)

    def approximated(self, key: str, how: str) -> None:
        self._add(key, APPROXIMATED, how)

    def dropped(self, key: str, why: str) -> None:
        self._add(key, DROPPED, why)


@dataclass(frozen=True, slots=True)
class Outcome:
    key: str
    outcome: str
    detail: str


@dataclass(frozen=True, slots=True)
class ServiceReport:
    service: str
    kind: str
    name: str
    outcomes: tuple[Outcome, ...]

    def worst(self) -> dict[str, str]:
        """key -> its worst outcome (a key with several findings counts once)."""
        out: dict[str, str] = {}
        for item in self.outcomes:
            if _RANK[item.outcome] >= _RANK.get(out.get(item.key, MAPPED), 0):
                out[item.key] = item.outcome
        return out


def service_report(service: str, kind: str, name: str, written: Mapping[str, Any],
                   notes: Notes) -> ServiceReport:
    """Every key written for `service`, in the order written, with what became of it;
    deploy's keys one by one."""
    outcomes: list[Outcome] = []
    keys = [k for k in written if k != "deploy"] + \
        [f"deploy.{k}" for k in (written.get("deploy") or {})]
    for key in keys:
        found = notes.found.get(key)
        if not found:
            found = [KEYS.get(key) or (_EXTENSION if key.startswith("x-") else
                                       DEPLOY_KEYS.get(key, _UNKNOWN))]
        outcomes.extend(Outcome(key, outcome, detail) for outcome, detail in found)
    return ServiceReport(service, kind, name, tuple(outcomes))


@dataclass(frozen=True)
class Report:
    project: str
    services: tuple[ServiceReport, ...]
    project_notes: tuple[Outcome, ...]  # top-level networks, volumes, configs, secrets
    objects: int

    def counts(self) -> dict[str, int]:
        counts = {MAPPED: 0, APPROXIMATED: 0, DROPPED: 0}
        for svc in self.services:
            for outcome in svc.worst().values():
                counts[outcome] += 1
        return counts

    def summary(self) -> list[str]:
        """A few lines for the terminal: the counts, then each key not simply mapped."""
        counts = self.counts()
        lines = [f"{len(self.services)} services -> {self.objects} objects: "
                 f"{counts[MAPPED]} keys mapped, {counts[APPROXIMATED]} approximated, "
                 f"{counts[DROPPED]} dropped"]
        for svc in self.services:
            lines.extend(f"  {svc.service}: {o.key}: {o.outcome}: {o.detail}"
                         for o in svc.outcomes if o.outcome != MAPPED)
        lines.extend(f"  {o.key}: {o.outcome}: {o.detail}"
                     for o in self.project_notes if o.outcome != MAPPED)
        return lines

    def markdown(self) -> str:
        counts = self.counts()
        out = [f"# Conversion report: {self.project}", "",
               f"`berth kube convert` made {self.objects} objects from {len(self.services)} "
               f"services. Keys: {counts[MAPPED]} mapped, {counts[APPROXIMATED]} "
               f"approximated, {counts[DROPPED]} dropped.", ""]
        for svc in self.services:
            out += [f"## {svc.service} ({svc.kind} {svc.name})", "",
                    "| key | outcome | how / why |", "|---|---|---|"]
            out += [f"| {o.key} | {o.outcome} | {_cell(o.detail)} |" for o in svc.outcomes]
            out.append("")
        if self.project_notes:
            out += ["## Project", "", "| key | outcome | how / why |", "|---|---|---|"]
            out += [f"| {o.key} | {o.outcome} | {_cell(o.detail)} |" for o in self.project_notes]
            out.append("")
        return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def outcomes(notes: Notes) -> Iterable[Outcome]:
    """Project-level notes as outcomes, in the order noted."""
    for key, found in notes.found.items():
        for outcome, detail in found:
            yield Outcome(key, outcome, detail)
