"""Network exposure: what a machine on the LAN, or a container, must not reach.

Each attack sends what an attacker can: raw frames (AF_PACKET) from a namespace that
plays another machine on the LAN, or from inside a container's network namespace (a
container keeps CAP_NET_RAW by default). Each has a control: the same probe aimed
where it may go gets there, so a probe that sees nothing proves something."""
import secrets
import socket
import subprocess

import dns.message
import dns.query
import dns.rcode
import pytest

from runtime.create import RunOptions
from runtime.network.api import Networks
from runtime.spec import Endpoint, NetworkConfig, PortMapping
from tests.helpers import host_address, in_netns, wait_for
from tests.security.packets import Sniffer, foreign_host, mac_of, send_frame, tcp_syn, udp

pytestmark = pytest.mark.privileged


@pytest.fixture
def nets(engine):
    return Networks(engine.paths)


def start(engine, image, script, networks, ports=(), name="", dns=()):
    net = NetworkConfig(mode="bridge", endpoints=[Endpoint(n) for n in networks],
                        ports=list(ports), dns=list(dns))
    container = engine.create(image, RunOptions(command=["sh", "-c", script], name=name,
                                                network=net))
    engine.start(container.id)
    return container


def run(engine, image, script, networks, dns=()):
    container = start(engine, image, script, networks, dns=dns)
    engine.wait(container.id)
    return "".join(line.text for line in engine.logs(container.id))


def sport() -> int:
    return 20000 + secrets.randbelow(20000)


def test_a_port_published_on_loopback_is_not_reachable_from_the_lan(engine, busybox, nets):
    """CVE-2020-8558: a SYN to 127.0.0.1 from another machine must not be DNATed."""
    net = nets.create("pub")
    local, everywhere = 20000 + secrets.randbelow(10000), 30000 + secrets.randbelow(10000)
    web = start(engine, busybox, "exec httpd -f -p 80", ["pub"],
                ports=[PortMapping(80, host_ip="127.0.0.1", host_port=local),
                       PortMapping(80, host_port=everywhere)])
    assert nets.endpoints(web.id).ports[0].host_port == local
    with foreign_host() as (netns, lan_if, host_if, host_ip, lan_ip), Sniffer(net.bridge) as bridge:
        to_host = mac_of(host_if)

        def syn(daddr: str, dport: int) -> int:
            port = sport()
            in_netns(netns, lambda: send_frame(lan_if, to_host, tcp_syn(lan_ip, daddr, port, dport)))
            return port

        assert bridge.saw(syn(host_ip, everywhere))  # control: a public publication is reached
        assert not bridge.saw(syn("127.0.0.1", local))
        assert not bridge.saw(syn("127.0.0.1", everywhere))


def test_a_container_cannot_reach_the_hosts_loopback_services(engine, busybox, nets):
    """route_localnet on the bridge must not let a raw frame to 127.0.0.1 in."""
    net = nets.create("raw")
    prober = start(engine, busybox, "exec sleep 60", ["raw"])
    att = nets.endpoints(prober.id).attachments[0]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as loopback, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as public:
        loopback.bind(("127.0.0.1", 0))
        public.bind(("0.0.0.0", 0))
        for sock in (loopback, public):
            sock.settimeout(1)
        bridge_mac = mac_of(net.bridge)

        def send(daddr: str, port: int) -> None:
            packet = udp(att.ip, daddr, sport(), port, b"from-a-container")
            in_netns(engine.paths.netns / prober.id,
                     lambda: send_frame("eth0", bridge_mac, packet))

        send(net.gateway, public.getsockname()[1])  # control: the host's services are reachable
        assert public.recv(100) == b"from-a-container"
        send("127.0.0.1", loopback.getsockname()[1])
        with pytest.raises(socket.timeout):
            loopback.recv(100)


def test_a_container_gets_no_names_of_networks_it_is_not_on(engine, busybox, nets):
    """Asking another network's gateway (the host's INPUT path is open) yields nothing."""
    nets.create("alpha")
    beta = nets.create("beta")
    secret = start(engine, busybox, "exec sleep 60", ["beta"], name="secret-db")
    secret_ip = nets.endpoints(secret.id).attachments[0].ip
    probe = f"nslookup secret-db {beta.gateway} 2>&1; true"
    assert secret_ip in run(engine, busybox, probe, ["beta"])  # control: a member is answered
    answer = run(engine, busybox, probe, ["alpha"])
    assert secret_ip not in answer and "REFUSED" in answer.upper()

    def ask_as_a_stranger():
        query = dns.message.make_query("secret-db", "A")
        return dns.query.udp(query, beta.gateway, timeout=3).rcode()

    stranger = start(engine, busybox, "exec sleep 60", ["alpha"])
    assert in_netns(engine.paths.netns / stranger.id, ask_as_a_stranger) == dns.rcode.REFUSED


@pytest.fixture
def fake_upstream():
    """A DNS server on a loopback address of the host that answers NXDOMAIN and
    remembers what it was asked."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    address = f"127.{secrets.randbelow(200) + 50}.{secrets.randbelow(250) + 1}.1"
    try:
        sock.bind((address, 53))
    except OSError as err:
        sock.close()
        pytest.skip(f"cannot listen on {address}:53: {err}")
    sock.settimeout(0.2)
    asked: list[str] = []

    def serve() -> None:
        while not stop:
            try:
                wire, client = sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            query = dns.message.from_wire(wire)
            asked.append(query.question[0].name.to_text())
            reply = dns.message.make_response(query)
            reply.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(reply.to_wire(), client)

    import threading

    stop = False
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield address, asked
    stop = True
    thread.join()
    sock.close()


def test_an_internal_network_forwards_no_dns_query(engine, busybox, nets, fake_upstream):
    """CVE-2024-29018: a name lookup must not carry data out of an internal network."""
    upstream, asked = fake_upstream
    nets.create("open")
    nets.create("sealed", internal=True)
    run(engine, busybox, "nslookup leak-open.example. 2>&1; true", ["open"], dns=[upstream])
    wait_for(lambda: "leak-open.example." in asked, timeout=5)  # control: forwarded
    answer = run(engine, busybox, "nslookup leak-sealed.example. 2>&1; true", ["sealed"],
                 dns=[upstream])
    assert "leak-sealed.example." not in asked, answer
    assert "SERVFAIL" in answer.upper() or "can't resolve" in answer


def test_an_internal_network_reaches_nothing_of_the_host_but_its_dns(engine, busybox, nets):
    """Not the gateway, not the host's other addresses, even with a route made by hand."""
    nets.create("open")
    sealed = nets.create("sealed", internal=True)
    with socket.socket() as server, foreign_host() as (_, _, _, host_ip, _):
        server.bind(("0.0.0.0", 0))
        server.listen(8)
        port = server.getsockname()[1]
        inside = start(engine, busybox, "exec sleep 60", ["sealed"], name="inside")
        outside = start(engine, busybox, "exec sleep 60", ["open"])
        netns = engine.paths.netns / inside.id
        subprocess.run(["nsenter", f"--net={netns}", "ip", "route", "add", "default", "via",
                        sealed.gateway], check=True)

        def reaches(address: str) -> bool:
            try:
                socket.create_connection((address, port), timeout=1).close()
                return True
            except OSError:
                return False

        assert in_netns(engine.paths.netns / outside.id, lambda: reaches(host_ip))  # control
        assert not in_netns(netns, lambda: reaches(host_ip))
        assert not in_netns(netns, lambda: reaches(sealed.gateway))
        # berth's DNS for its own names is the one thing it may use
        own = run(engine, busybox, "nslookup inside 2>&1; true", ["sealed"])
        assert nets.endpoints(inside.id).attachments[0].ip in own


def test_an_internal_network_reaches_no_publication_and_publishes_nothing(engine, busybox, nets):
    """A publication DNATs to another network; from an internal one that is a way out."""
    nets.create("open")
    nets.create("other")
    sealed = nets.create("sealed", internal=True)
    host_ip = host_address()
    if host_ip is None:
        pytest.skip("no non-loopback address on this host")
    public = 30000 + secrets.randbelow(10000)
    start(engine, busybox, "exec httpd -f -p 80", ["open"], ports=[PortMapping(80, host_port=public)])
    hidden = start(engine, busybox, "exec httpd -f -p 80", ["sealed"],
                   ports=[PortMapping(80, host_port=public + 1)])
    assert nets.endpoints(hidden.id).ports == []  # as under docker: nothing is published
    inside = start(engine, busybox, "exec sleep 60", ["sealed"])
    subprocess.run(["nsenter", f"--net={engine.paths.netns / inside.id}", "ip", "route", "add",
                    "default", "via", sealed.gateway], check=True)
    neighbour = start(engine, busybox, "exec sleep 60", ["other"])

    def reaches(port: int) -> bool:
        try:
            socket.create_connection((host_ip, port), timeout=1).close()
            return True
        except OSError:
            return False

    assert wait_for(lambda: in_netns(engine.paths.netns / neighbour.id, lambda: reaches(public)),
                    timeout=5)  # control: the publication works from another network
    assert not in_netns(engine.paths.netns / inside.id, lambda: reaches(public))
