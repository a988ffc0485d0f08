"""A service's pod template: its container (image, command, environment, ports, probes,
resources, securityContext, mounts, hooks), the initContainers that wait for its
dependencies, and the pod settings compose has an equivalent for."""
from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..model import Hook, Service
from . import meta, names
from .layout import Layout
from .model import Manifest, Options, Source
from .probes import WAITER, probes, waits
from .report import Notes
from .security import resources, security
from .storage import PodStorage, files_configmap, pod_storage

PULL_POLICIES = {"always": "Always", "never": "Never", "missing": "IfNotPresent",
                 "if_not_present": "IfNotPresent", "build": "IfNotPresent"}


@dataclass
class Pod:
    template: dict[str, Any]  # metadata and spec, without restartPolicy
    claim_templates: list[dict[str, Any]] = field(default_factory=list)
    objects: list[Manifest] = field(default_factory=list)  # the service's own ConfigMaps
    networks: tuple[str, ...] = ()  # the compose networks the pod is on
    labels: dict[str, str] = field(default_factory=dict)  # compose labels, for the workload
    annotations: dict[str, str] = field(default_factory=dict)
    exclusive: bool = False  # mounts a claim no other pod may


def escape(text: str) -> str:
    """Kubernetes expands $(VAR) in command, args and env values; compose has already
    interpolated, so every '$' left is meant literally ($$ is Kubernetes' '$')."""
    return text.replace("$", "$$")


def _command(svc: Service, container: dict[str, Any], notes: Notes) -> None:
    if svc.entrypoint == () and svc.command:
        container["command"] = [escape(a) for a in svc.command]
        notes.mapped("entrypoint", "[] with a command: the command is the container's command")
        notes.mapped("command", "container command (entrypoint: [])")
        return
    if svc.entrypoint == ():
        notes.dropped("entrypoint", "[] without a command: clearing the image's entrypoint "
                                    "needs its CMD, which Kubernetes does not merge")
    elif svc.entrypoint:
        container["command"] = [escape(a) for a in svc.entrypoint]
    if svc.command:
        container["args"] = [escape(a) for a in svc.command]


def _environment(svc: Service, name: str, written: Mapping[str, Any], labels: dict[str, str],
                 container: dict[str, Any], notes: Notes) -> list[Manifest]:
    explicit = set(written.get("environment") or ())
    inline, from_files = [], {}
    for key in sorted(svc.environment):
        value = svc.environment[key]
        if value is None:
            continue  # unset, as compose leaves it
        if key in explicit or not names.is_config_key(key):
            inline.append({"name": key, "value": escape(value)})
        else:
            from_files[key] = value
    if inline:
        container["env"] = inline
    if not from_files:
        return []
    cm = f"{name}-env"
    container["envFrom"] = [{"configMapRef": {"name": cm}}]
    notes.mapped("env_file", f"ConfigMap {cm} (envFrom); the service's own environment wins")
    return [Manifest("ConfigMap", cm, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": cm, "labels": labels},
                                       "data": from_files})]


def _hooks(hooks: tuple[Hook, ...], key: str, notes: Notes) -> dict[str, Any] | None:
    if not hooks:
        return None
    if len(hooks) == 1:
        command = list(hooks[0].command)
        notes.mapped(key, f"lifecycle.{'postStart' if key == 'post_start' else 'preStop'} exec")
    else:
        command = ["/bin/sh", "-c", " && ".join(shlex.join(h.command) for h in hooks)]
        notes.approximated(key, "one exec handler running the hooks in turn with /bin/sh")
    if any(h.user or h.privileged or h.working_dir or h.environment for h in hooks):
        notes.dropped(key, "user, privileged, working_dir and environment of a hook (it runs "
                           "as the container does)")
    return {"exec": {"command": command}}


def _host_aliases(svc: Service, notes: Notes) -> list[dict[str, Any]]:
    by_ip: dict[str, list[str]] = {}
    for host, ips in svc.extra_hosts.items():
        for ip in ips:
            if ip == "host-gateway":
                notes.dropped("extra_hosts", f"{host}: host-gateway (a pod has no host "
                                             "gateway of its own)")
            else:
                by_ip.setdefault(ip, []).append(host)
    return [{"ip": ip, "hostnames": hosts} for ip, hosts in sorted(by_ip.items())]


def _dns(svc: Service) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if svc.dns:
        config["nameservers"] = list(svc.dns)
    if svc.dns_search:
        config["searches"] = list(svc.dns_search)
    if svc.dns_opt:
        config["options"] = [dict(zip(("name", "value"), opt.split(":", 1)))
                             for opt in svc.dns_opt]
    return config


def _pod_settings(svc: Service, spec: dict[str, Any], notes: Notes) -> None:
    if svc.hostname:
        host = svc.hostname.lower()
        if names.DNS_1123_LABEL.match(host) and len(host) <= names.MAX_LABEL:
            spec["hostname"] = host
        else:
            notes.dropped("hostname", f"{svc.hostname!r} is no DNS label")
    aliases = _host_aliases(svc, notes)
    if aliases:
        spec["hostAliases"] = aliases
    dns = _dns(svc)
    if dns:
        spec["dnsConfig"] = dns
    if svc.platform:
        os_name, _, arch = svc.platform.partition("/")
        spec["nodeSelector"] = {"kubernetes.io/os": os_name,
                                **({"kubernetes.io/arch": arch.split("/")[0]} if arch else {})}
    if svc.stop_grace_period is not None:
        spec["terminationGracePeriodSeconds"] = math.ceil(svc.stop_grace_period)
    if svc.init:
        spec["shareProcessNamespace"] = True
    if svc.network_mode == "host":
        spec["hostNetwork"] = True
        spec["dnsPolicy"] = "ClusterFirstWithHostNet"
        notes.approximated("network_mode", "host: hostNetwork (the node's network, where the "
                                           "cluster allows it)")
    elif svc.network_mode in ("bridge", "default"):
        notes.mapped("network_mode", f"{svc.network_mode}: the pod network")
    elif svc.network_mode:
        notes.dropped("network_mode", f"{svc.network_mode}: a pod always has its own network")
    for key, field_name in (("ipc", "hostIPC"), ("pid", "hostPID")):
        if getattr(svc, key) == "host":
            spec[field_name] = True
            notes.mapped(key, f"host: {field_name}")


def _networks(svc: Service, notes: Notes) -> tuple[str, ...]:
    if svc.network_mode:
        return ()
    for key, net in svc.networks.items():
        dropped = [f for f in ("ipv4_address", "ipv6_address", "mac_address", "interface_name")
                   if getattr(net, f)]
        if dropped:
            notes.dropped("networks", f"{key}: {', '.join(dropped)} (the cluster assigns "
                                      "addresses)")
    notes.mapped("networks", "member of " + ", ".join(
        f"NetworkPolicy {names.label('net', key)}" for key in svc.networks))
    return tuple(svc.networks)


def _container(source: Source, options: Options, layout: Layout, service: str,
               context: dict[str, Any], notes: Notes
               ) -> tuple[dict[str, Any], list[Manifest], PodStorage]:
    """The service's container, its own ConfigMaps, and what its pod mounts."""
    project, name = source.project, layout.names[service]
    svc, written = project.services[service], source.written[service]
    container: dict[str, Any] = {"name": name, "image": source.images[service]}
    _command(svc, container, notes)
    if svc.working_dir:
        container["workingDir"] = svc.working_dir
    objects = _environment(svc, name, written, meta.owned(project.name, name), container, notes)
    if layout.listens[service]:
        container["ports"] = [{"containerPort": port, "protocol": proto}
                              for port, proto in layout.listens[service]]
    readiness, liveness = probes(svc.healthcheck, options.liveness, notes)
    storage = pod_storage(project, svc, name, layout, source.read, notes)
    lifecycle = {k: v for k, v in (("postStart", _hooks(svc.post_start, "post_start", notes)),
                                   ("preStop", _hooks(svc.pre_stop, "pre_stop", notes))) if v}
    optional = {"readinessProbe": readiness, "livenessProbe": liveness,
                "resources": resources(svc, written, notes), "securityContext": context,
                "volumeMounts": storage.mounts, "lifecycle": lifecycle,
                "tty": svc.tty or None, "stdin": svc.stdin_open or None}
    container.update({k: v for k, v in optional.items() if v})
    if svc.pull_policy:
        container["imagePullPolicy"] = PULL_POLICIES.get(svc.pull_policy, "Always")
        if svc.pull_policy not in PULL_POLICIES:
            notes.approximated("pull_policy", f"{svc.pull_policy}: Always")
    if storage.files:
        objects.append(files_configmap(name, storage.files, meta.owned(project.name, name)))
    return container, objects, storage


def pod(source: Source, options: Options, layout: Layout, service: str, notes: Notes) -> Pod:
    project = source.project
    svc, name = project.services[service], layout.names[service]
    context, pod_context = security(svc, notes)
    container, objects, storage = _container(source, options, layout, service, context, notes)
    init, job_wait = waits(svc, dict(project.services), layout, notes)
    spec: dict[str, Any] = {}
    if init:
        spec["initContainers"] = init
    spec["containers"] = [container]
    if storage.volumes:
        spec["volumes"] = storage.volumes
    if pod_context:
        spec["securityContext"] = pod_context
    if job_wait:
        spec["serviceAccountName"] = WAITER
    _pod_settings(svc, spec, notes)
    networks = _networks(svc, notes)
    labels, annotations = meta.compose_labels(svc.labels, notes, "labels")
    annotations.update(meta.annotations(source.written[service].get("annotations") or {}, notes))
    pod_labels = {**labels, **meta.selector(project.name, name), meta.MANAGED_BY: meta.MANAGER}
    pod_labels.update({meta.network_label(net): "true" for net in networks})
    if networks and all(project.networks[net].internal for net in networks):
        pod_labels[meta.EGRESS] = "internal"
        if job_wait:
            notes.approximated("depends_on", "its networks are all internal: the NetworkPolicy "
                                             "must also let it reach the API server to wait")
    metadata: dict[str, Any] = {"labels": pod_labels}
    if annotations:
        metadata["annotations"] = annotations
    return Pod({"metadata": metadata, "spec": spec}, storage.templates, objects, networks,
               labels, annotations, storage.exclusive)
