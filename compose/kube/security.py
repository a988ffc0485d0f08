"""What a container may do and use: securityContext (user, capabilities, privileged,
read_only, security_opt, sysctls, group_add) and resources (limits and requests)."""
from __future__ import annotations

import math
from typing import Any, Mapping

from ..model import Service
from .report import Notes
from .storage import quantity

# sysctls the kubelet allows without configuration (Kubernetes 1.29)
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
                "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}


def _user(user: str, context: dict[str, Any], notes: Notes) -> None:
    uid, _, gid = user.partition(":")
    uid = "0" if uid == "root" else uid
    if not uid.isdigit() or (gid and not gid.isdigit()):
        notes.dropped("user", f"{user!r}: Kubernetes needs numeric ids (runAsUser); the "
                              "image's user names are not looked up")
        return
    context["runAsUser"] = int(uid)
    if gid:
        context["runAsGroup"] = int(gid)
    notes.mapped("user", "runAsUser" + ("/runAsGroup" if gid else ""))


def _capability(name: str) -> str:
    return name.upper().removeprefix("CAP_")


def _security_opt(options: tuple[str, ...], context: dict[str, Any], notes: Notes) -> None:
    for option in options:
        key, _, value = option.replace(":", "=", 1).partition("=")
        if key == "no-new-privileges" and value in ("", "true"):
            context["allowPrivilegeEscalation"] = False
            notes.mapped("security_opt", f"{option}: allowPrivilegeEscalation: false")
        elif key == "seccomp" and value == "unconfined":
            context["seccompProfile"] = {"type": "Unconfined"}
            notes.mapped("security_opt", f"{option}: seccompProfile Unconfined")
        elif key == "apparmor" and value:
            context["appArmorProfile"] = ({"type": "Unconfined"} if value == "unconfined" else
                                          {"type": "Localhost", "localhostProfile": value})
            notes.mapped("security_opt", f"{option}: appArmorProfile")
        else:
            notes.dropped("security_opt", f"{option}: no securityContext equivalent")


def security(svc: Service, notes: Notes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The container's and the pod's securityContext."""
    context: dict[str, Any] = {}
    pod: dict[str, Any] = {}
    if svc.user:
        _user(svc.user, context, notes)
    capabilities = {}
    if svc.cap_add:
        capabilities["add"] = [_capability(c) for c in svc.cap_add]
    if svc.cap_drop:
        capabilities["drop"] = [_capability(c) for c in svc.cap_drop]
    if capabilities:
        context["capabilities"] = capabilities
    if svc.privileged:
        context["privileged"] = True
    if svc.read_only:
        context["readOnlyRootFilesystem"] = True
    _security_opt(svc.security_opt, context, notes)
    if context.get("allowPrivilegeEscalation") is False and (
            svc.privileged or "SYS_ADMIN" in capabilities.get("add", [])):
        del context["allowPrivilegeEscalation"]  # the API server refuses both at once
        notes.dropped("security_opt", "no-new-privileges: Kubernetes refuses it with "
                                      "privileged or CAP_SYS_ADMIN")
    if svc.sysctls:
        pod["sysctls"] = [{"name": k, "value": str(v if v is not None else "")}
                          for k, v in svc.sysctls.items()]
        unsafe = sorted(k for k in svc.sysctls if k not in SAFE_SYSCTLS)
        if unsafe:
            notes.approximated("sysctls", f"pod sysctls; {', '.join(unsafe)} must be allowed "
                                          "by the kubelet (--allowed-unsafe-sysctls)")
        else:
            notes.mapped("sysctls", "pod securityContext.sysctls")
    groups = [g for g in svc.group_add if g.isdigit()]
    if groups:
        pod["supplementalGroups"] = [int(g) for g in groups]
    for name in (g for g in svc.group_add if not g.isdigit()):
        notes.dropped("group_add", f"{name!r}: Kubernetes needs numeric group ids")
    return context, pod


def _cpu(cpus: float) -> str:
    millis = max(1, math.ceil(cpus * 1000))
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def resources(svc: Service, written: Mapping[str, Any], notes: Notes) -> dict[str, Any]:
    """limits and requests from deploy.resources, mem_limit, mem_reservation and cpus."""
    res = svc.resources
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if res.memory:
        limits["memory"] = quantity(res.memory)
    if res.cpus:
        limits["cpu"] = _cpu(res.cpus)
    if res.memory_reservation:
        requests["memory"] = quantity(res.memory_reservation)
    reservations = ((written.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
    if reservations.get("cpus") is not None:
        requests["cpu"] = _cpu(float(reservations["cpus"]))
    for key in ("memory", "cpu"):
        if key in limits and key in requests and _amount(requests[key]) > _amount(limits[key]):
            requests[key] = limits[key]
            notes.approximated("deploy.resources" if "deploy" in written else "mem_reservation",
                               f"the {key} request is cut to its limit")
    if reservations.get("devices"):
        notes.dropped("deploy.resources", "reserved devices: request them as device-plugin "
                                          "resources")
    if res.pids is not None and "deploy" in written:
        notes.dropped("deploy.resources", "the pids limit is the kubelet's setting")
    out: dict[str, Any] = {}
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def _amount(value: str) -> float:
    """A quantity as a number, to compare a request with its limit."""
    units = {"m": 1e-3, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[:-len(suffix)]) * factor
    return float(value)
