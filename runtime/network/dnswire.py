"""The DNS wire format (RFC 1035) as far as berth's DNS server answers: the question of
a query, and a response with A or PTR records. Everything else is forwarded as raw bytes.

Hand-written rather than through dnspython: the server answers every name lookup of
every container, and dnspython's parse-and-render cost ~0.3 ms a query and ~100 ms of
imports on the start of the server that the first container of an `up` waits for.
"""
from __future__ import annotations

import socket
import struct
from typing import NamedTuple

A, PTR = 1, 12
FORMERR, SERVFAIL, NOTIMP, REFUSED = 1, 2, 4, 5
_HEADER = struct.Struct(">HHHHHH")  # id, flags, qd, an, ns, ar counts
_QR, _OPCODE, _AA, _RA = 0x8000, 0x7800, 0x0400, 0x0080
_KEEP = 0x7900  # opcode and RD, as asked


class Question(NamedTuple):
    name: str  # dotted, lower case, with the trailing dot: "web.", "2.0.18.172.in-addr.arpa."
    rdtype: int
    end: int  # where the question section ends in the query


class NotAQuery(ValueError):
    """A query of another kind than a standard one (an update, a notify...)."""


def is_response(wire: bytes) -> bool:
    """Whether `wire` is a response (never answered: two servers could bounce it)."""
    return len(wire) >= _HEADER.size and bool(wire[2] & 0x80)


def question(wire: bytes) -> Question:
    """The first question of a standard query; ValueError when there is none, NotAQuery
    for another kind of query."""
    if len(wire) < _HEADER.size:
        raise ValueError("short message")
    _, flags, questions, _, _, _ = _HEADER.unpack_from(wire)
    if flags & _OPCODE:
        raise NotAQuery("not a standard query")
    if questions < 1:
        raise ValueError("no question")
    labels, offset = [], _HEADER.size
    while True:
        if offset >= len(wire):
            raise ValueError("truncated name")
        length = wire[offset]
        offset += 1
        if length == 0:
            break
        if length > 63 or offset + length > len(wire):  # a pointer, or past the end
            raise ValueError("bad label")
        label = wire[offset:offset + length].decode("ascii", "replace").lower()
        if "." in label:  # one label "a.b" must not read as the two names' labels
            raise ValueError("a dot in a label")
        labels.append(label)
        offset += length
    if offset + 4 > len(wire):
        raise ValueError("truncated question")
    rdtype = struct.unpack_from(">H", wire, offset)[0]
    return Question(".".join(labels) + ".", rdtype, offset + 4)


def encode_name(name: str) -> bytes:
    """`name` in wire form; ValueError for one DNS cannot carry (a label over 63 bytes,
    a name over 255: a container may have a longer name)."""
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode()
            if len(raw) > 63:
                raise ValueError(f"label too long for DNS: {label[:20]}...")
            out += bytes([len(raw)]) + raw
    if len(out) + 1 > 255:
        raise ValueError("name too long for DNS")
    return out + b"\0"


def response(wire: bytes, asked: Question, rdtype: int, values: list[str], ttl: int) -> bytes:
    """An authoritative answer to `wire`'s question: A records (addresses) or PTR records
    (names), in the order given; none is an empty NOERROR answer."""
    query_id, flags = struct.unpack_from(">HH", wire)
    header = _HEADER.pack(query_id, _QR | _AA | _RA | (flags & _KEEP), 1, len(values), 0, 0)
    records = b""
    for value in values:
        data = socket.inet_aton(value) if rdtype == A else encode_name(value)
        records += b"\xc0\x0c" + struct.pack(">HHIH", rdtype, 1, ttl, len(data)) + data
    return header + wire[_HEADER.size:asked.end] + records


def error(wire: bytes, rcode: int) -> bytes:
    """A bare response with `rcode`, for a query that gets no answer."""
    header = bytearray(wire[:12])
    header[2] |= 0x80  # a response
    header[3] = (header[3] & 0xF0) | rcode
    return bytes(header[:4]) + b"\0" * 8
