"""berth's DNS wire codec (runtime.network.dnswire), read back with dnspython."""
import dns.flags
import dns.message
import dns.rcode
import pytest

from runtime.network import dnswire


def test_a_question_is_read_case_folded_with_where_it_ends():
    wire = dns.message.make_query("Web.Proj", "A", use_edns=True).to_wire()
    asked = dnswire.question(wire)
    assert (asked.name, asked.rdtype) == ("web.proj.", dnswire.A)
    assert wire[asked.end:asked.end + 2] == b"\0\0"  # the OPT record's root name follows


def test_an_answer_keeps_the_order_given_and_the_query_s_id_and_rd():
    query = dns.message.make_query("web", "A")
    wire = query.to_wire()
    out = dns.message.from_wire(dnswire.response(wire, dnswire.question(wire), dnswire.A,
                                                 ["10.0.0.3", "10.0.0.2"], 0))
    assert out.id == query.id and out.rcode() == dns.rcode.NOERROR
    assert out.flags & dns.flags.QR and out.flags & dns.flags.AA and out.flags & dns.flags.RD
    assert out.flags & dns.flags.RA
    [rrset] = out.answer
    assert [r.address for r in rrset] == ["10.0.0.3", "10.0.0.2"] and rrset.ttl == 0
    assert out.question[0].name.to_text() == "web."


def test_a_ptr_answer_and_an_empty_one():
    wire = dns.message.make_query("2.0.18.172.in-addr.arpa", "PTR").to_wire()
    out = dns.message.from_wire(dnswire.response(wire, dnswire.question(wire), dnswire.PTR,
                                                 ["proj-web-1."], 0))
    assert [r.target.to_text() for r in out.answer[0]] == ["proj-web-1."]
    wire = dns.message.make_query("web", "AAAA").to_wire()
    out = dns.message.from_wire(dnswire.response(wire, dnswire.question(wire), dnswire.A, [], 0))
    assert out.answer == [] and out.rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("wire", [b"\x12\x34" + b"\0" * 4, b"\x12\x34\x01\x00\0\0\0\0\0\0\0\0",
                                  b"\x12\x34\x01\x00\0\x01\0\0\0\0\0\0\x03we",
                                  b"\x12\x34\x01\x00\0\x01\0\0\0\0\0\0\xc0\x0c\0\x01\0\x01"])
def test_what_is_not_a_question_is_refused_as_such(wire):
    with pytest.raises(ValueError):
        dnswire.question(wire)


def test_an_error_reply_is_a_bare_header():
    wire = dns.message.make_query("x", "A").to_wire()
    out = dns.message.from_wire(dnswire.error(wire, dnswire.REFUSED))
    assert out.rcode() == dns.rcode.REFUSED and not out.question


def test_names_dns_cannot_carry_and_dotted_labels_are_refused():
    with pytest.raises(ValueError, match="label too long"):
        dnswire.encode_name("x" * 64 + ".")
    with pytest.raises(ValueError, match="name too long"):
        dnswire.encode_name(".".join(["y" * 60] * 5))
    assert dnswire.encode_name("a" * 63) == b"\x3f" + b"a" * 63 + b"\0"
    dotted = b"\x12\x34\x01\x00\0\x01\0\0\0\0\0\0\x03a.b\0\0\x01\0\x01"
    with pytest.raises(ValueError, match="dot"):
        dnswire.question(dotted)
