"""berth's nftables rules: NAT for outbound traffic, published ports, and isolation.

The whole table is rendered from the network and endpoint records and replaced in one
`nft -f` transaction, so it is always exactly what the records say. Each BERTH_ROOT
has its own table. Accepted forwarded packets are marked, and where another firewall
(docker's iptables) has a FORWARD chain that drops by default, one rule there lets
berth's marked packets through, as netavark does.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from typing import Iterable

from ..errors import BerthError
from .records import Endpoints, Network

MARK = 0x62657274  # "bert"
COMMENT = "berth: accept what berth's forward chain accepted"


class FirewallError(BerthError):
    pass


def table_name(root: str) -> str:
    return "berth_" + hashlib.sha256(root.encode()).hexdigest()[:8]


def render(table: str, networks: Iterable[Network], endpoints: Iterable[Endpoints]) -> str:
    """The nft script that (re)creates `table` for these networks and endpoints."""
    networks = list(networks)
    lines = [f"table ip {table} {{}}", f"delete table ip {table}", f"table ip {table} {{"]
    ports = []
    for ep in endpoints:
        for p in ep.ports:
            match = f"ip daddr {p.host_ip} " if p.host_ip and p.host_ip != "0.0.0.0" else ""
            ports.append(f"    {match}{p.protocol} dport {p.host_port} "
                         f"dnat to {p.container_ip}:{p.container_port}")
    lines += ["  chain ports {"] + [f"  {rule}" for rule in ports] + ["  }"]
    # 127.0.0.0/8 is this host's own: its publications answer only the host's own output
    # chain, never a packet that arrived on an interface with that address (CVE-2020-8558)
    lines += ["  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;",
              "    ip daddr 127.0.0.0/8 return", "    fib daddr type local jump ports", "  }",
              "  chain output {", "    type nat hook output priority -100; policy accept;",
              "    fib daddr type local jump ports", "  }"]
    post = []
    for net in networks:
        br = net.bridge
        post.append(f'    oifname "{br}" ip saddr 127.0.0.0/8 masquerade')
        if not net.internal:
            post.append(f'    ip saddr {net.subnet} oifname != "{br}" masquerade')
    lines += ["  chain postrouting {", "    type nat hook postrouting priority srcnat; policy accept;"]
    lines += post + ["  }"]
    lines += ["  chain guard {", "    type filter hook prerouting priority raw; policy accept;"]
    lines += _guard(networks) + ["  }"]
    lines += ["  chain input {", "    type filter hook input priority filter - 1; policy accept;"]
    lines += _input(networks) + ["  }"]
    accept = f"meta mark set {MARK:#x} accept"
    fwd = []
    for net in networks:  # an internal network: nothing in or out, DNAT'd traffic neither
        if net.internal:
            fwd.append(f'    iifname "{net.bridge}" oifname != "{net.bridge}" drop')
            fwd.append(f'    oifname "{net.bridge}" iifname != "{net.bridge}" drop')
    for net in networks:  # into a network: only its own traffic, replies, published ports
        br = net.bridge
        fwd.append(f'    iifname "{br}" oifname "{br}" {accept}')
        fwd.append(f'    oifname "{br}" ct state established,related {accept}')
        fwd.append(f'    oifname "{br}" ct status dnat {accept}')
        fwd.append(f'    oifname "{br}" drop')
    for net in networks:  # out of a network: anywhere else, unless it is internal
        fwd.append(f'    iifname "{net.bridge}" ' + ("drop" if net.internal else accept))
    lines += ["  chain forward {", "    type filter hook forward priority -1; policy accept;"]
    lines += fwd + ["  }", "}"]
    return "\n".join(lines) + "\n"


def _guard(networks: list[Network]) -> list[str]:
    """Before anything else sees them, packets from a network's bridge never go to
    127.0.0.0/8: the bridges route it (route_localnet, so that replies to the host's own
    127.0.0.1 publications get back), which would otherwise let a container with a raw
    socket reach the host's loopback-only services. Replies of those publications still
    carry the gateway's address here: conntrack restores 127.0.0.1 later. (Sources are not
    checked: a container may route other subnets, as under docker; nothing here trusts a
    source address.)"""
    return [f'    iifname "{net.bridge}" ip daddr 127.0.0.0/8 drop' for net in networks]


def _input(networks: list[Network]) -> list[str]:
    """What a network's containers may send to the host itself. An internal network
    reaches nothing but berth's DNS server on its own gateway (and answers the host's
    own connections); the others, as under docker, reach the host's services."""
    rules = []
    for net in networks:
        if not net.internal:
            continue
        br = net.bridge
        rules.append(f'    iifname "{br}" ct state established,related accept')
        rules.append(f'    iifname "{br}" ip daddr {net.gateway} meta l4proto {{ tcp, udp }} '
                     "th dport 53 accept")
        rules.append(f'    iifname "{br}" drop')
    return rules


def _nft(script: str) -> None:
    try:
        proc = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
    except FileNotFoundError:
        raise FirewallError("nft is not installed (Debian: apt-get install nftables)") from None
    if proc.returncode != 0:
        raise FirewallError(f"nft: {proc.stderr.strip()}")


def _nft_json(*args: str) -> dict:
    proc = subprocess.run(["nft", "-j", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        return {}
    return json.loads(proc.stdout or "{}")


def apply(table: str, networks: list[Network], endpoints: list[Endpoints]) -> None:
    """Replace berth's table; remove it when there are no networks left."""
    if networks:
        _nft(render(table, networks, endpoints))
        _let_through_other_firewalls()
    else:
        _nft(f"table ip {table} {{}}\ndelete table ip {table}\n")
        if not _other_berth_tables(table):
            _remove_pass_rule()


def _other_berth_tables(own: str) -> list[str]:
    tables = _nft_json("list", "tables").get("nftables", [])
    return [t["table"]["name"] for t in tables if "table" in t
            and t["table"]["name"].startswith("berth_") and t["table"]["name"] != own]


def _pass_rules() -> list[dict]:
    chain = _nft_json("list", "chain", "ip", "filter", "FORWARD").get("nftables", [])
    return [item["rule"] for item in chain if "rule" in item and item["rule"].get("comment") == COMMENT]


def _let_through_other_firewalls() -> None:
    """If an iptables FORWARD chain exists (docker's, default DROP), accept our mark there."""
    if not _nft_json("list", "chain", "ip", "filter", "FORWARD"):
        return
    if _pass_rules():
        return
    _nft(f'insert rule ip filter FORWARD meta mark {MARK:#x} counter accept comment "{COMMENT}"\n')


def _remove_pass_rule() -> None:
    for rule in _pass_rules():
        _nft(f"delete rule ip filter FORWARD handle {rule['handle']}\n")
