"""Kernel network objects through netlink (pyroute2): bridges, veth pairs, addresses.

pyroute2 costs ~150 ms to import, so it is imported on first use only and one netlink
socket serves the whole process (one `up` pays once, however many containers it starts).
Removing a container's network namespace removes its veths; nothing here is needed
for teardown but deleting bridges.
"""
from __future__ import annotations

import errno
import threading

from ..errors import BerthError
from .records import Attachment, Network

_lock = threading.Lock()
_ipr = None


class LinkError(BerthError):
    pass


def _route():
    global _ipr
    if _ipr is None:
        from pyroute2 import IPRoute

        _ipr = IPRoute()
    return _ipr


def write_sysctl(key: str, value: str) -> None:
    with open("/proc/sys/" + key.replace(".", "/"), "w") as handle:
        handle.write(value)


def bridge_exists(name: str) -> bool:
    with _lock:
        return bool(_route().link_lookup(ifname=name))


def ensure_bridge(net: Network) -> None:
    """Create the network's bridge with its gateway address, if it isn't there."""
    with _lock:
        ipr = _route()
        if not ipr.link_lookup(ifname=net.bridge):
            try:
                ipr.link("add", ifname=net.bridge, kind="bridge")
            except Exception as err:  # noqa: BLE001 - pyroute2 raises NetlinkError
                if getattr(err, "code", None) != errno.EEXIST:
                    raise LinkError(f"cannot create bridge {net.bridge}: {err}") from None
            index = ipr.link_lookup(ifname=net.bridge)[0]
            ipr.addr("add", index=index, address=net.gateway, prefixlen=net.prefix)
            ipr.link("set", index=index, state="up")
    write_sysctl(f"net.ipv4.conf.{net.bridge}.route_localnet", "1")  # publish on 127.0.0.1
    if not net.internal:
        write_sysctl("net.ipv4.ip_forward", "1")


def delete_bridge(name: str) -> None:
    with _lock:
        ipr = _route()
        for index in ipr.link_lookup(ifname=name):
            ipr.link("del", index=index)


def attach(netns_path: str, attachments: list[Attachment], networks: dict[str, Network]) -> None:
    """Plug a container's namespace into its networks: one veth pair each, addressed and
    up, and a default route through the first network that is not internal."""
    from pyroute2 import NetNS

    with _lock:
        ipr = _route()
        for att in attachments:
            bridge = ipr.link_lookup(ifname=networks[att.network].bridge)
            if not bridge:
                raise LinkError(f"network {att.network}: bridge is missing")
            ipr.link("add", ifname=att.host_veth, kind="veth",
                     peer={"ifname": att.interface, "net_ns_fd": netns_path})
            host = ipr.link_lookup(ifname=att.host_veth)[0]
            ipr.link("set", index=host, master=bridge[0], state="up")
    with NetNS(netns_path) as ns:
        for att in attachments:
            index = ns.link_lookup(ifname=att.interface)[0]
            # the MAC follows from the address (as docker does): when a recreated container
            # gets the address again, neighbours' caches are still right
            ns.link("set", index=index, address=mac_for(att.ip))
            ns.addr("add", index=index, address=att.ip, prefixlen=att.prefix)
            ns.link("set", index=index, state="up")
        default = next((a for a in attachments if not a.internal), None)
        if default is not None:
            try:
                ns.route("add", dst="default", gateway=default.gateway)
            except Exception as err:  # noqa: BLE001
                if getattr(err, "code", None) != errno.EEXIST:
                    raise


def mac_for(ip: str) -> str:
    return "02:42:" + ":".join(f"{int(octet):02x}" for octet in ip.split("."))


def detach(att: Attachment) -> None:
    """Remove one attachment from a running container (its host-side veth)."""
    with _lock:
        ipr = _route()
        for index in ipr.link_lookup(ifname=att.host_veth):
            ipr.link("del", index=index)
