"""`container inspect` in docker's JSON shape, for the fields tools read: State, Config,
HostConfig, NetworkSettings, Mounts (the names and types docker's API gives them)."""
from __future__ import annotations

import datetime
from typing import Any

_ZERO = "0001-01-01T00:00:00Z"


def rfc3339(when: float) -> str:
    """docker's timestamps: UTC, nanoseconds (a fixed width, so they sort as text)."""
    if not when:
        return _ZERO
    moment = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def _restart(policy: str) -> dict[str, Any]:
    """docker's RestartPolicy (compose's ;delay= and ;window= timings left out)."""
    name, _, count = policy.split(";")[0].partition(":")
    return {"Name": name, "MaximumRetryCount": int(count or 0)}


def _state(container) -> dict[str, Any]:
    state = container.state
    status = container.status.value
    out = {"Status": status, "Running": status in ("running", "paused", "restarting"),
           "Paused": status == "paused", "Restarting": status == "restarting",
           "OOMKilled": state.oom_killed, "Dead": status == "dead",
           "Pid": state.pid if status in ("running", "paused") else 0,
           "ExitCode": state.exit_code or 0, "Error": state.error,
           "StartedAt": rfc3339(state.started_at), "FinishedAt": rfc3339(state.finished_at)}
    if state.health is not None:
        out["Health"] = {"Status": state.health.status,
                         "FailingStreak": state.health.failing_streak,
                         "Log": state.health.log}
    return out


def _ns(seconds: float | None) -> int:
    return int((seconds or 0) * 1e9)


def _config(spec, image_ref: str) -> dict[str, Any]:
    health = None
    if spec.healthcheck is not None:
        hc = spec.healthcheck
        health = {"Test": hc.test, "Interval": _ns(hc.interval), "Timeout": _ns(hc.timeout),
                  "Retries": hc.retries, "StartPeriod": _ns(hc.start_period),
                  "StartInterval": _ns(hc.start_interval)}
    exposed = {f"{p.container_port}/{p.protocol}": {} for p in spec.network.ports}
    return {"Hostname": spec.hostname, "Domainname": spec.domainname, "User": spec.user,
            "AttachStdin": spec.open_stdin, "AttachStdout": True, "AttachStderr": True,
            "ExposedPorts": exposed or None, "Tty": spec.tty, "OpenStdin": spec.open_stdin,
            "StdinOnce": False, "Env": list(spec.env), "Cmd": spec.cmd,
            "Healthcheck": health, "Image": image_ref,
            "Volumes": None, "WorkingDir": "" if spec.working_dir == "/" else spec.working_dir,
            "Entrypoint": spec.entrypoint or None, "Labels": dict(spec.labels),
            "StopSignal": None if spec.stop_signal == "SIGTERM" else spec.stop_signal,
            "StopTimeout": int(spec.stop_timeout)}


def _host_config(spec) -> dict[str, Any]:
    res = spec.resources
    binds = [f"{m.volume or m.source}:{m.target}{':ro' if m.read_only else ''}"
             for m in spec.mounts if m.type == "bind"]
    bindings: dict[str, list] = {}
    for p in spec.network.ports:
        bindings.setdefault(f"{p.container_port}/{p.protocol}", []).append(
            {"HostIp": p.host_ip, "HostPort": str(p.host_port) if p.host_port else ""})
    from runtime.api import DEFAULT_PIDS_LIMIT

    mode = spec.network.mode
    if mode == "bridge" and spec.network.endpoints:
        mode = spec.network.endpoints[0].network
        mode = "default" if mode == "bridge" else mode  # docker's name for its default
    return {
        "Binds": binds or None, "NetworkMode": mode, "PortBindings": bindings,
        "RestartPolicy": _restart(spec.restart), "AutoRemove": spec.auto_remove,
        "CapAdd": spec.cap_add or None, "CapDrop": spec.cap_drop or None,
        "Dns": spec.network.dns, "DnsOptions": spec.network.dns_options,
        "DnsSearch": spec.network.dns_search,
        "ExtraHosts": [f"{h}:{ip}" for h, ip in spec.network.extra_hosts] or None,
        "GroupAdd": spec.group_add or None, "IpcMode": spec.ipc, "PidMode": spec.pid_mode,
        "Privileged": spec.privileged, "ReadonlyRootfs": spec.read_only,
        "SecurityOpt": (["no-new-privileges"] if spec.no_new_privileges else []) +
                       ([] if spec.seccomp else ["seccomp=unconfined"]) or None,
        "Tmpfs": {m.target: "" for m in spec.mounts if m.type == "tmpfs"} or None,
        "UTSMode": spec.uts, "ShmSize": spec.shm_size, "Sysctls": spec.sysctls or None,
        "Memory": res.memory or 0, "MemoryReservation": res.memory_reservation or 0,
        "MemorySwap": res.memory_swap or 0, "NanoCpus": int((res.cpus or 0) * 1e9),
        "CpuShares": res.cpu_shares or 0, "CpuPeriod": res.cpu_period or 0,
        "CpuQuota": res.cpu_quota or 0, "CpusetCpus": res.cpuset or "",
        "CpusetMems": res.cpuset_mems or "",
        "PidsLimit": None if res.pids == DEFAULT_PIDS_LIMIT else res.pids,
        "BlkioWeight": res.blkio_weight or 0, "OomKillDisable": res.oom_kill_disable,
        "OomScoreAdj": spec.oom_score_adj or 0, "Init": spec.init or None,
        "Devices": [{"PathOnHost": h, "PathInContainer": c, "CgroupPermissions": p}
                    for h, c, p in spec.devices],
        "Ulimits": [{"Name": k, "Soft": v[0], "Hard": v[1]}
                    for k, v in spec.ulimits.items()] or None,
        "LogConfig": {"Type": "json-file", "Config": {}}, "CgroupnsMode": spec.cgroupns}


def _mounts(spec) -> list[dict[str, Any]]:
    out = []
    for m in spec.mounts:
        kind = "volume" if m.volume else m.type
        out.append({"Type": kind, "Name": m.volume or "", "Source": m.source or "",
                    "Destination": m.target, "Driver": "local" if m.volume else "",
                    "Mode": "ro" if m.read_only else "", "RW": not m.read_only,
                    "Propagation": m.propagation or ("rprivate" if m.type == "bind" else "")})
    return out


def _network_settings(endpoints) -> dict[str, Any]:
    if endpoints is None:
        return {"Ports": {}, "IPAddress": "", "Gateway": "", "MacAddress": "", "Networks": {}}
    from runtime.api import mac_for

    networks = {}
    for att in endpoints.attachments:
        networks[att.network] = {"IPAddress": att.ip, "IPPrefixLen": att.prefix,
                                 "Gateway": att.gateway, "MacAddress": att.mac or mac_for(att.ip),
                                 "Aliases": att.aliases or None, "NetworkID": att.network}
    ports: dict[str, list] = {}
    for pub in endpoints.ports:
        ports.setdefault(f"{pub.container_port}/{pub.protocol}", []).append(
            {"HostIp": pub.host_ip or "0.0.0.0", "HostPort": str(pub.host_port)})
    first = next(iter(networks.values()), {})
    return {"Ports": ports, "IPAddress": first.get("IPAddress", ""),
            "Gateway": first.get("Gateway", ""), "MacAddress": first.get("MacAddress", ""),
            "Networks": networks}


def container(c, endpoints, image_ref: str) -> dict[str, Any]:
    """docker inspect's object for container `c` (its network records: `endpoints`)."""
    spec = c.spec
    return {
        "Id": c.id, "Created": rfc3339(c.state.created_at),
        "Path": spec.args[0] if spec.args else "", "Args": list(spec.args[1:]),
        "State": _state(c), "Image": spec.image_id,
        "ResolvConfPath": str(c.dir / "resolv.conf"), "HostnamePath": str(c.dir / "hostname"),
        "HostsPath": str(c.dir / "hosts"), "LogPath": str(c.dir / "container.log"),
        "Name": "/" + spec.name, "RestartCount": c.state.restart_count, "Driver": "overlay",
        "Platform": "linux", "HostConfig": _host_config(spec), "Mounts": _mounts(spec),
        "Config": _config(spec, image_ref),
        "NetworkSettings": _network_settings(endpoints)}
