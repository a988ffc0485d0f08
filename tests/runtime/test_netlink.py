"""berth's own rtnetlink requests (runtime.network.netlink): their bytes, and a veth pair
made into a namespace, put into a bridge, and deleted on the real kernel."""
import errno
import os
import secrets
import socket
import struct

import pytest

from runtime import netns
from runtime.network import ioctl, netlink
from tests.helpers import in_netns


def attrs(data: bytes) -> dict[int, bytes]:
    """The rtattrs of `data`, by type."""
    found, offset = {}, 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        found[kind] = data[offset + 4:offset + length]
        offset += length + (-length % 4)
    return found


def test_a_veth_request_names_both_ends_and_the_peer_s_namespace():
    request = netlink.veth_request("vb-host", "eth0", 7)
    length, kind, flags, _, _ = struct.unpack_from("=IHHII", request)
    assert length == len(request) and kind == netlink.RTM_NEWLINK
    assert flags == (netlink.NLM_F_REQUEST | netlink.NLM_F_ACK | netlink.NLM_F_CREATE
                     | netlink.NLM_F_EXCL)
    top = attrs(request[16 + 16:])
    assert top[netlink.IFLA_IFNAME] == b"vb-host\0"
    info = attrs(top[netlink.IFLA_LINKINFO])
    assert info[netlink.IFLA_INFO_KIND] == b"veth\0"
    peer = attrs(info[netlink.IFLA_INFO_DATA])[netlink.VETH_INFO_PEER]
    peer_attrs = attrs(peer[16:])  # after the peer's own ifinfomsg
    assert peer_attrs[netlink.IFLA_IFNAME] == b"eth0\0"
    assert struct.unpack("=I", peer_attrs[netlink.IFLA_NET_NS_FD]) == (7,)


def test_enslaving_sets_the_master_and_up():
    request = netlink.enslave_request(5, 3)
    family, _, index, flags, change = struct.unpack_from("=BxHiII", request, 16)
    assert (index, flags, change) == (5, netlink.IFF_UP, netlink.IFF_UP)
    assert attrs(request[32:])[netlink.IFLA_MASTER] == struct.pack("=I", 3)


@pytest.mark.privileged
def test_a_veth_pair_into_a_namespace_and_a_bridge_then_gone(tmp_path):
    tag = secrets.token_hex(3)
    bridge, host = f"bnl{tag}", f"vnl{tag}"
    path = str(tmp_path / "ns")
    netns.create(path)
    ioctl.add_bridge(bridge, "10.231.7.1", 24)
    try:
        netlink.add_veth(host, "eth7", path)
        netlink.enslave(host, bridge)
        assert os.path.basename(os.readlink(f"/sys/class/net/{host}/master")) == bridge
        assert int(open(f"/sys/class/net/{host}/flags").read(), 16) & netlink.IFF_UP
        assert in_netns(path, lambda: socket.if_nametoindex("eth7")) > 0
        with pytest.raises(OSError) as taken:  # the same name again: the kernel's EEXIST
            netlink.add_veth(host, "eth8", path)
        assert taken.value.errno == errno.EEXIST
        with pytest.raises(OSError) as missing:
            netlink.enslave("vnl-nope", bridge)
        assert missing.value.errno == errno.ENODEV
        netlink.delete(host)
        assert netlink.index(host) is None
        assert in_netns(path, lambda: netlink.index("eth7")) is None  # the peer went too
        netlink.delete(host)  # gone already: fine
    finally:
        netlink.delete(host)
        ioctl.delete_bridge(bridge)
        netns.remove(path)
