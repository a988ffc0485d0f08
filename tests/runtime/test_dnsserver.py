"""berth's DNS server's answers, from records on disk (no sockets of its own needed)."""
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from runtime.network.dnsserver import Server
from runtime.network.records import Attachment, Endpoints, Network, Records
from runtime.paths import Paths


@pytest.fixture
def server(tmp_path):
    paths = Paths(tmp_path / "root", tmp_path / "run")
    records = Records(paths)
    for name, number, internal in (("front", 1, False), ("back", 2, True)):
        records.save_network(Network(name, str(number) * 64, f"10.9.{number}.0/24",
                                     f"10.9.{number}.1", f"br-{name}", internal=internal))

    def endpoint(cid, name, *attachments, links=()):
        atts = [Attachment(net, ip, 24, ip.rsplit(".", 1)[0] + ".1", f"eth{i}", f"vb{cid}{i}",
                           list(aliases), net == "back")
                for i, (net, ip, aliases) in enumerate(attachments)]
        records.save_endpoints(Endpoints(cid, name, atts, links=[list(l) for l in links],
                                         dns=["127.0.0.9"]))

    endpoint("a" * 64, "web", ("front", "10.9.1.2", ["www"]), links=[("db", "database")])
    endpoint("b" * 64, "db", ("front", "10.9.1.3", []), ("back", "10.9.2.3", ["store"]))
    endpoint("c" * 64, "worker", ("back", "10.9.2.4", []))
    srv = Server(paths)
    srv.upstream.close()
    sent = []

    class Upstream:  # what would leave the host
        def sendto(self, data, address):
            sent.append(address)

    srv.upstream = Upstream()
    srv.sent = sent
    yield srv


def ask(server, gateway, client, name, kind="A"):
    replies = []
    server.handle(gateway, (client, 5353), dns.message.make_query(name, kind).to_wire(),
                  replies.append)
    return dns.message.from_wire(replies[0]) if replies else None


def addresses(reply):
    return sorted(item.address for rrset in reply.answer for item in rrset)


def test_names_aliases_and_links_on_the_network_asked(server):
    assert addresses(ask(server, "10.9.1.1", "10.9.1.2", "db")) == ["10.9.1.3"]
    assert addresses(ask(server, "10.9.1.1", "10.9.1.3", "www")) == ["10.9.1.2"]
    assert addresses(ask(server, "10.9.1.1", "10.9.1.2", "database")) == ["10.9.1.3"]  # a link
    reply = ask(server, "10.9.1.1", "10.9.1.2", "3.1.9.10.in-addr.arpa", "PTR")
    assert reply.answer[0][0].target.to_text() == "db."


def test_a_container_on_two_networks_sees_both(server):
    assert addresses(ask(server, "10.9.1.1", "10.9.1.3", "worker")) == ["10.9.2.4"]
    assert addresses(ask(server, "10.9.2.1", "10.9.2.4", "store")) == ["10.9.2.3"]
    assert ask(server, "10.9.1.1", "10.9.1.2", "worker") is None  # web sees no back: forwarded


def test_who_is_not_on_the_network_asked_is_refused(server):
    reply = ask(server, "10.9.2.1", "10.9.1.2", "worker")  # web asks back's gateway
    assert reply.rcode() == dns.rcode.REFUSED and not reply.answer


def test_an_internal_network_forwards_nothing(server):
    reply = ask(server, "10.9.2.1", "10.9.2.4", "example.org")
    assert reply.rcode() == dns.rcode.SERVFAIL and server.sent == []
    # even asked by a container that also has a way out (or claims to be one)
    assert ask(server, "10.9.2.1", "10.9.2.3", "example.org").rcode() == dns.rcode.SERVFAIL
    assert server.sent == []


def test_other_names_are_forwarded_to_the_container_s_own_servers(server):
    assert ask(server, "10.9.1.1", "10.9.1.2", "example.org") is None  # answered later
    assert server.sent == [("127.0.0.9", 53)]


def test_what_dns_cannot_carry_or_is_not_a_query_gets_no_crash(server):
    """A container name too long for a DNS label (berth allows it), an update, a response
    bounced at the server: an error answer or none, and the server goes on."""
    records = Records(server.paths)
    long_name = "x" * 70
    records.save_endpoints(Endpoints("d" * 64, long_name, [Attachment(
        "front", "10.9.1.9", 24, "10.9.1.1", "eth0", "vbd0", [], False)], dns=[]))
    reply = ask(server, "10.9.1.1", "10.9.1.2", "9.1.9.10.in-addr.arpa", "PTR")
    assert reply.rcode() == dns.rcode.SERVFAIL
    update = dns.message.make_query("web", "A")
    update.set_opcode(dns.opcode.UPDATE)
    replies = []
    server.handle("10.9.1.1", ("10.9.1.2", 5353), update.to_wire(), replies.append)
    assert dns.message.from_wire(replies[0]).rcode() == dns.rcode.NOTIMP
    response = dns.message.make_response(dns.message.make_query("web", "A"))
    server.handle("10.9.1.1", ("10.9.1.2", 5353), response.to_wire(), replies.append)
    assert len(replies) == 1 and server.sent == []  # neither answered nor forwarded
    assert addresses(ask(server, "10.9.1.1", "10.9.1.2", "db")) == ["10.9.1.3"]
