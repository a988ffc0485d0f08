"""Networks with real containers: DNS by name and alias, isolation, published ports."""
import ipaddress
import os
import socket
import sys

import pytest

from runtime.containers import ContainerError, Containers
from runtime.create import RunOptions
from runtime.network.api import NetworkError, Networks
from runtime.network.firewall import render
from runtime.network.ipam import IpamError, choose_address, choose_subnet, parse_subnet
from runtime.network.records import Endpoints, Network, Published
from runtime.paths import Paths
from runtime.settings import Settings
from runtime.spec import Endpoint, NetworkConfig, PortMapping
from tests.helpers import host_address, in_netns, python_mounts, wait_for

privileged = pytest.mark.privileged


# --- pure parts ------------------------------------------------------------------------

def test_subnets_avoid_what_is_taken():
    taken = [ipaddress.IPv4Network("10.213.0.0/24"), ipaddress.IPv4Network("10.213.1.0/25")]
    pools = Settings().address_pools
    assert str(choose_subnet(taken, pools)) == "10.213.2.0/24"
    assert str(choose_subnet([ipaddress.IPv4Network("10.213.0.0/16")], pools)) == "10.214.0.0/24"
    with pytest.raises(IpamError):
        parse_subnet("10.0.0.0/31")


def test_addresses_skip_gateway_used_and_stay_in_range():
    subnet = ipaddress.IPv4Network("10.9.0.0/24")
    assert choose_address(subnet, ["10.9.0.2"], "10.9.0.1") == "10.9.0.3"
    assert choose_address(subnet, [], "10.9.0.1", "10.9.0.128/25") == "10.9.0.129"
    with pytest.raises(IpamError):
        choose_address(ipaddress.IPv4Network("10.9.0.0/30"), ["10.9.0.2"], "10.9.0.1")


def test_firewall_rules_as_text():
    nets = [Network("a", "1" * 64, "10.1.0.0/24", "10.1.0.1", "br-a"),
            Network("b", "2" * 64, "10.2.0.0/24", "10.2.0.1", "br-b", internal=True)]
    eps = [Endpoints("c", "web", ports=[Published("tcp", "127.0.0.1", 8080, "10.1.0.2", 80),
                                        Published("udp", "", 53, "10.1.0.2", 5353)])]
    text = render("t", nets, eps)
    assert "ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.1.0.2:80" in text
    assert "    udp dport 53 dnat to 10.1.0.2:5353" in text
    assert 'ip saddr 10.1.0.0/24 oifname != "br-a" masquerade' in text
    assert 'ip saddr 10.2.0.0/24' not in text  # internal: no NAT out
    forward = text[text.index("chain forward"):]
    # every "into a network" rule comes before any "out of a network" accept
    assert forward.index('oifname "br-b" drop') < forward.index('iifname "br-a" meta mark')
    assert 'iifname "br-b" drop' in forward
    # loopback publications are for the host's own output only (CVE-2020-8558)
    prerouting = text[text.index("chain prerouting"):text.index("chain output")]
    assert prerouting.index("ip daddr 127.0.0.0/8 return") < prerouting.index("jump ports")
    guard = text[text.index("chain guard"):text.index("chain input")]
    assert 'iifname "br-a" ip daddr 127.0.0.0/8 drop' in guard
    assert "saddr" not in guard  # a container may route other subnets, as under docker
    # an internal network: nothing in or out, even what a publication DNATs there
    assert forward.index('iifname "br-b" oifname != "br-b" drop') < forward.index("ct status dnat")
    assert forward.index('oifname "br-b" iifname != "br-b" drop') < forward.index("ct status dnat")
    host = text[text.index("chain input"):text.index("chain forward")]
    assert 'iifname "br-a"' not in host  # a network with a way out reaches the host
    assert host.index('iifname "br-b" ip daddr 10.2.0.1 meta l4proto { tcp, udp } th dport 53 '
                      'accept') < host.index('iifname "br-b" drop')


# --- real networks ---------------------------------------------------------------------

@pytest.fixture
def nets(engine):
    return Networks(engine.paths)


def start(engine, image, command, networks=(), aliases=(), ports=(), name="", **options):
    net = options.pop("network", None) or NetworkConfig(
        mode="bridge", endpoints=[Endpoint(n, list(aliases)) for n in networks], ports=list(ports))
    container = engine.create(image, RunOptions(command=command, name=name, network=net, **options))
    engine.start(container.id)
    return container


def output(engine, image, networks, script, **options):
    container = start(engine, image, ["sh", "-c", script], networks, **options)
    engine.wait(container.id)
    return "".join(line.text for line in engine.logs(container.id))


@privileged
def test_names_aliases_and_addresses_resolve_on_a_network(engine, busybox, nets):
    nets.create("front")
    server = start(engine, busybox, ["sh", "-c", "echo it-works > /tmp/index.html; "
                                     "exec httpd -f -p 80 -h /tmp"], ["front"],
                   aliases=["www"], name="web")
    ip = nets.endpoints(server.id).attachments[0].ip
    text = output(engine, busybox, ["front"],
                  f"wget -qO- http://web/; wget -qO- http://www/; wget -qO- http://{ip}/; "
                  f"nslookup {ip} | grep -c web; cat /etc/resolv.conf")
    assert text.splitlines()[:4] == ["it-works", "it-works", "it-works", "1"]
    assert f"nameserver {nets.get('front').gateway}" in text


@privileged
def test_round_robin_across_an_alias(engine, busybox, nets):
    nets.create("rr")
    ips = set()
    for i in range(3):
        c = start(engine, busybox, ["sleep", "60"], ["rr"], aliases=["pool"], name=f"m{i}")
        ips.add(nets.endpoints(c.id).attachments[0].ip)
    import dns.message
    import dns.query

    def ask() -> list[str]:  # as a member of the network: the server answers no one else
        reply = dns.query.udp(dns.message.make_query("pool", "A"), nets.get("rr").gateway, timeout=3)
        return [item.address for item in reply.answer[0]]

    firsts = []
    for _ in range(3):
        addresses = in_netns(engine.paths.netns / c.id, ask)
        assert set(addresses) == ips
        firsts.append(addresses[0])
    assert set(firsts) == ips, firsts  # every replica comes first in turn
    all_answers = output(engine, busybox, ["rr"], "nslookup pool | grep -c '^Address: 10'")
    assert all_answers.strip() == "3"


@privileged
def test_names_are_per_network_and_a_container_on_two_sees_both(engine, busybox, nets):
    nets.create("one")
    nets.create("two")
    start(engine, busybox, ["sleep", "60"], ["one"], name="only-one")
    start(engine, busybox, ["sleep", "60"], ["two"], name="only-two")
    text = output(engine, busybox, ["one"], "nslookup only-two >/dev/null 2>&1 && echo yes || echo no")
    assert text.strip() == "no"
    text = output(engine, busybox, ["one", "two"],
                  "for n in only-one only-two; do nslookup $n >/dev/null 2>&1 && echo $n; done")
    assert text.split() == ["only-one", "only-two"]


@privileged
def test_a_stopped_container_stops_resolving(engine, busybox, nets):
    nets.create("life")
    server = start(engine, busybox, ["sleep", "60"], ["life"], name="short")
    prober = start(engine, busybox, ["sleep", "60"], ["life"], name="prober")

    def resolves() -> bool:
        r, w = os.pipe()
        relay, err, _ = engine.exec_process(prober.id, ["nslookup", "short"], stdio=(0, w, w))
        os.close(w)
        os.read(r, 65536)
        os.close(r)
        _, status = os.waitpid(relay, 0)
        os.close(err)
        return os.waitstatus_to_exitcode(status) == 0

    assert resolves()
    engine.stop(server.id, timeout=0)
    assert not resolves()


@privileged
def test_networks_are_isolated_from_each_other_and_from_other_roots(engine, busybox, nets,
                                                                   tmp_path, busybox_dir):
    nets.create("blue")
    nets.create("red")
    target = start(engine, busybox, ["httpd", "-f", "-p", "80"], ["red"], name="target")
    ip = nets.endpoints(target.id).attachments[0].ip
    text = output(engine, busybox, ["blue"], f"nc -w 1 {ip} 80 </dev/null && echo open || echo closed")
    assert text.split()[-1] == "closed"
    text = output(engine, busybox, ["red"], f"nc -w 1 {ip} 80 </dev/null && echo open || echo closed")
    assert text.split()[-1] == "open"
    # another project (another berth root) cannot reach it either
    from runtime.images import archive

    other = Containers(Paths(tmp_path / "other", tmp_path / "other-run"))
    other_nets = Networks(other.paths)
    other_nets.create("default")
    image = archive.import_rootfs(other.images, str(busybox_dir), ["busybox"])
    try:
        text = output(other, image, ["default"],
                      f"nc -w 1 {ip} 80 </dev/null && echo open || echo closed")
        assert text.split()[-1] == "closed"
    finally:
        for c in other.list():
            other.remove(c.id, force=True)
        other_nets.remove("default")


@privileged
def test_internal_networks_have_no_way_out(engine, busybox, nets):
    nets.create("sealed", internal=True)
    text = output(engine, busybox, ["sealed"], "ip route")
    assert "default" not in text


@privileged
def test_published_tcp_and_udp_ports(engine, busybox, nets):
    nets.create("pub")
    start(engine, busybox, ["sh", "-c", "echo tcp-ok > /tmp/index.html; exec httpd -f -p 80 -h /tmp"],
          ["pub"], ports=[PortMapping(80, host_ip="127.0.0.1", host_port=0)], name="tcp")
    echo = ("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', 53)); "
            "\nwhile True:\n d,a=s.recvfrom(100); s.sendto(b'udp:'+d, a)")
    start(engine, busybox, [sys.executable, "-c", echo], ["pub"],
          ports=[PortMapping(53, "udp", host_port=0)], name="udp", mounts=python_mounts())
    tcp_port = nets.endpoints(engine.get("tcp").id).ports[0].host_port
    udp_port = nets.endpoints(engine.get("udp").id).ports[0].host_port
    assert tcp_port > 0 and udp_port > 0

    def http(host: str) -> bytes:
        with socket.create_connection((host, tcp_port), timeout=3) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
            return data

    assert http("127.0.0.1").endswith(b"tcp-ok\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        reply = None
        for _ in range(20):  # the server may still be starting
            sock.sendto(b"ping", ("127.0.0.1", udp_port))
            try:
                reply = sock.recv(100)
                break
            except socket.timeout:
                continue
    assert reply == b"udp:ping"


@privileged
def test_published_port_on_the_hosts_own_address(engine, busybox, nets):
    host_ip = host_address()
    if host_ip is None:
        pytest.skip("no non-loopback address on this host")
    nets.create("hostaddr")
    c = start(engine, busybox, ["sh", "-c", "echo via-host > /tmp/index.html; exec httpd -f -p 8000 -h /tmp"],
              ["hostaddr"], ports=[PortMapping(8000, host_port=0)], name="h")
    port = nets.endpoints(c.id).ports[0].host_port
    data = wait_for(lambda: _get(host_ip, port), timeout=5)
    assert data.endswith(b"via-host\n")


def _get(host, port):
    try:
        with socket.create_connection((host, port), timeout=2) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
            return data
    except OSError:
        return None


@privileged
def test_a_port_in_use_is_a_clear_error_and_leaves_nothing(engine, busybox, nets):
    nets.create("busy")
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    port = holder.getsockname()[1]
    try:
        c = engine.create(busybox, RunOptions(command=["sleep", "60"], network=NetworkConfig(
            mode="bridge", endpoints=[Endpoint("busy")], ports=[PortMapping(80, host_port=port)])))
        with pytest.raises(ContainerError, match=f"0.0.0.0:{port}/tcp: already in use"):
            engine.start(c.id)
        assert nets.endpoints(c.id) is None
        assert not list((engine.paths.run / "netns").iterdir())
    finally:
        holder.close()


@privileged
def test_static_addresses_and_subnets(engine, busybox, nets):
    net = nets.create("fixed", subnet="10.77.5.0/24", gateway="10.77.5.254")
    assert net.gateway == "10.77.5.254"
    text = output(engine, busybox, [], "ip -4 addr show eth0 | grep inet", network=NetworkConfig(
        mode="bridge", endpoints=[Endpoint("fixed", static_ip="10.77.5.42")]))
    assert "10.77.5.42/24" in text
    with pytest.raises(NetworkError, match="overlaps"):
        nets.create("clash", subnet="10.77.0.0/16")


@privileged
def test_links_give_each_container_its_own_alias(engine, busybox, nets):
    nets.create("linked")
    db = start(engine, busybox, ["sleep", "60"], ["linked"], name="db")
    cache = start(engine, busybox, ["sleep", "60"], ["linked"], name="cache")
    db_ip = nets.endpoints(db.id).attachments[0].ip
    cache_ip = nets.endpoints(cache.id).attachments[0].ip
    for target, ip in (("db", db_ip), ("cache", cache_ip)):
        net = NetworkConfig(mode="bridge", endpoints=[Endpoint("linked")], links=[[target, "store"]])
        text = output(engine, busybox, [], "nslookup store | grep '^Address: 10'", network=net)
        assert text.split()[-1] == ip


@privileged
def test_connect_and_disconnect_a_running_container(engine, busybox, nets):
    nets.create("first")
    nets.create("second")
    c = start(engine, busybox, ["sleep", "60"], ["first"], name="mover")
    att = nets.connect(c.id, c.name, "second", ["moved"], None)
    assert att.interface == "eth1"
    assert [a.network for a in nets.endpoints(c.id).attachments] == ["first", "second"]
    with pytest.raises(NetworkError, match="active endpoints"):
        nets.remove("second")
    nets.disconnect(c.id, c.name, "second")
    assert [a.network for a in nets.endpoints(c.id).attachments] == ["first"]
