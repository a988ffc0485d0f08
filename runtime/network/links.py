"""Kernel network objects: bridges (ioctls) and veth pairs (rtnetlink, runtime.network.
netlink). Removing a container's network namespace removes its veths.
"""
from __future__ import annotations

import os
import threading

from ..errors import BerthError
from . import ioctl, netlink
from .records import Attachment, Network

_lock = threading.Lock()


class LinkError(BerthError):
    pass


def write_sysctl(key: str, value: str) -> None:
    with open("/proc/sys/" + key.replace(".", "/"), "w") as handle:
        handle.write(value)


def ensure_bridge(net: Network) -> None:
    """Create the network's bridge with its gateway address, if it isn't there."""
    if os.path.exists(f"/sys/class/net/{net.bridge}"):
        return
    with _lock:
        if not os.path.exists(f"/sys/class/net/{net.bridge}"):
            try:
                ioctl.add_bridge(net.bridge, net.gateway, net.prefix)
            except OSError as err:
                raise LinkError(f"cannot create bridge {net.bridge}: {err.strerror}") from None
    write_sysctl(f"net.ipv4.conf.{net.bridge}.route_localnet", "1")  # publish on 127.0.0.1
    if not net.internal:
        write_sysctl("net.ipv4.ip_forward", "1")


def delete_bridge(name: str) -> None:
    ioctl.delete_bridge(name)


def attach(netns_path: str, attachments: list[Attachment], networks: dict[str, Network]) -> None:
    """Plug a container's namespace into its networks: one veth pair each, its inner end
    created right inside the namespace, then addressed and routed from in there."""
    for att in attachments:
        bridge = networks[att.network].bridge
        if netlink.index(bridge) is None:
            raise LinkError(f"network {att.network}: bridge is missing")
        try:
            netlink.add_veth(att.host_veth, att.interface, netns_path)
            netlink.enslave(att.host_veth, bridge)
        except OSError as err:
            raise LinkError(f"network {att.network}: veth {att.host_veth}: "
                            f"{err.strerror}") from None
    configure_in(netns_path, attachments)


def configure_in(netns_path: str, attachments: list[Attachment]) -> None:
    """Run ioctl.configure in the namespace: a forked child joins it, so this process
    keeps its own (cheaper than a netlink helper process per namespace)."""
    from ..forked import ChildError, in_child
    from ..syscalls import CLONE_NEWNET, SYSCALLS

    def inside() -> None:
        fd = os.open(netns_path, os.O_RDONLY)
        SYSCALLS.setns(fd, CLONE_NEWNET)
        ioctl.configure(attachments)

    try:
        in_child(inside)
    except ChildError as err:
        raise LinkError(f"configuring the container's network: {err}") from None


def detach(att: Attachment) -> None:
    """Remove one attachment from a running container (its host-side veth)."""
    try:
        netlink.delete(att.host_veth)
    except OSError as err:
        raise LinkError(f"veth {att.host_veth}: {err.strerror}") from None
