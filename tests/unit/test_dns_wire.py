"""The wire codec and the server's answers, decoded by an independent parser (dnspython)."""

from __future__ import annotations

import struct

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from pyk8s.client import Indexer
from pyk8s.dns import wire
from pyk8s.dns.forward import Forwarder, parse_upstream
from pyk8s.dns.records import Resolver
from pyk8s.dns.server import DnsServer

HEADLESS_SIZE = 60


def _server() -> DnsServer:
    services, slices, namespaces = Indexer(), Indexer(), Indexer()
    namespaces.set("default", {"metadata": {"name": "default"}})
    services.set(
        "default/web",
        {
            "metadata": {"namespace": "default", "name": "web"},
            "spec": {"clusterIP": "198.18.100.5", "ports": [{"name": "http", "port": 80}]},
        },
    )
    services.set(
        "default/many",
        {"metadata": {"namespace": "default", "name": "many"}, "spec": {"clusterIP": "None"}},
    )
    endpoints = [
        {"addresses": [f"198.18.1.{i}"], "hostname": f"replica-number-{i}"}
        for i in range(1, HEADLESS_SIZE + 1)
    ]
    slices.set(
        "default/many-1",
        {
            "metadata": {
                "namespace": "default",
                "name": "many-1",
                "labels": {"kubernetes.io/service-name": "many"},
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        },
    )
    resolver = Resolver("cluster.local", services, slices, None, namespaces)
    return DnsServer(resolver, Forwarder([]))


def ask(server: DnsServer, q: dns.message.Message, tcp: bool = False) -> dns.message.Message:
    resp, pending = server.answer_nowait(q.to_wire(), tcp)
    assert pending is None and resp is not None
    return dns.message.from_wire(resp)


def test_answer_decodes_with_id_flags_and_question_echoed() -> None:
    q = dns.message.make_query("Web.Default.svc.cluster.local", "A")
    r = ask(_server(), q)
    assert r.id == q.id
    assert r.flags & dns.flags.QR and r.flags & dns.flags.AA and r.flags & dns.flags.RD
    assert r.flags & dns.flags.RA
    assert r.question[0].name == dns.name.from_text("Web.Default.svc.cluster.local")
    assert [rd.address for rd in r.answer[0]] == ["198.18.100.5"]
    assert r.answer[0].ttl == 5


def test_edns_is_answered_with_edns_only_when_asked() -> None:
    server = _server()
    with_edns = ask(
        server, dns.message.make_query("web.default.svc.cluster.local", "A", use_edns=0)
    )
    assert with_edns.edns == 0 and with_edns.payload == wire.MAX_UDP_SIZE
    plain = ask(
        server, dns.message.make_query("web.default.svc.cluster.local", "A", use_edns=False)
    )
    assert plain.edns == -1


def test_compressed_answers_decode_and_stay_small() -> None:
    q = dns.message.make_query("_http._tcp.many.default.svc.cluster.local", "SRV")
    resp, _ = _server().answer_nowait(q.to_wire(), True)
    r = dns.message.from_wire(resp)
    assert len(r.answer[0]) == HEADLESS_SIZE
    targets = {str(rd.target) for rd in r.answer[0]}
    assert "replica-number-7.many.default.svc.cluster.local." in targets
    additional = {str(rrset.name): rrset[0].address for rrset in r.additional}
    assert additional["replica-number-7.many.default.svc.cluster.local."] == "198.18.1.7"
    # Each SRV owner is a 2-byte pointer; uncompressed it would take the whole name again.
    assert len(resp) < HEADLESS_SIZE * (len("_http._tcp.many.default.svc.cluster.local") + 90)


def test_udp_answers_are_truncated_to_the_client_size_and_tcp_ones_are_not() -> None:
    server = _server()
    name = "many.default.svc.cluster.local"
    small = ask(server, dns.message.make_query(name, "A", use_edns=False))
    assert small.flags & dns.flags.TC
    assert 0 < len(small.answer[0]) < HEADLESS_SIZE
    assert len(small.to_wire()) <= 512
    big = ask(server, dns.message.make_query(name, "A", use_edns=0, payload=4096))
    assert big.flags & dns.flags.TC or len(big.answer[0]) == HEADLESS_SIZE
    full = ask(server, dns.message.make_query(name, "A"), tcp=True)
    assert not full.flags & dns.flags.TC and len(full.answer[0]) == HEADLESS_SIZE


def test_additional_records_go_first_without_setting_tc() -> None:
    q = wire.parse_query(dns.message.make_query("web.default.svc.cluster.local", "A").to_wire())
    answer = [wire.RR(q.name, wire.A, 5, f"198.18.0.{i}") for i in range(1, 4)]
    extra = [wire.RR(f"extra-{i}.example.test", wire.A, 5, "198.18.9.9") for i in range(40)]
    r = dns.message.from_wire(wire.encode_response(q, 0, answer, [], extra, limit=512))
    assert not r.flags & dns.flags.TC
    assert len(r.answer[0]) == 3 and 0 < len(r.additional) < 40
    too_many = [wire.RR(q.name, wire.A, 5, f"198.18.1.{i}") for i in range(1, 60)]
    r = dns.message.from_wire(wire.encode_response(q, 0, too_many, [], extra, limit=512))
    assert r.flags & dns.flags.TC and not r.additional and 0 < len(r.answer[0]) < 59


def test_malformed_and_unsupported_messages() -> None:
    server = _server()
    assert server.answer_nowait(b"\x01\x02\x03", False) == (None, None)
    q = dns.message.make_query("web.default.svc.cluster.local", "A")
    two_questions = bytearray(q.to_wire())
    struct.pack_into("!H", two_questions, 4, 2)
    resp, _ = server.answer_nowait(bytes(two_questions), False)
    assert dns.message.from_wire(resp, question_only=True).rcode() == dns.rcode.FORMERR
    reply = dns.message.make_response(q)
    assert server.answer_nowait(reply.to_wire(), False) == (None, None)  # never answer a reply
    update = dns.message.make_query("web.default.svc.cluster.local", "A")
    update.set_opcode(dns.opcode.NOTIFY)
    assert ask(server, update).rcode() == dns.rcode.NOTIMP
    axfr = dns.message.make_query("cluster.local", "AXFR")
    assert ask(server, axfr, tcp=True).rcode() == dns.rcode.REFUSED


def test_a_label_with_a_dot_is_nothing_in_the_cluster() -> None:
    name = dns.name.Name([b"web.default", b"svc", b"cluster", b"local", b""])
    r = ask(_server(), dns.message.make_query(name, "A"))
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.question[0].name == name


def test_cached_answers_follow_changes_and_carry_the_new_id() -> None:
    server = _server()
    q1 = dns.message.make_query("web.default.svc.cluster.local", "A")
    q2 = dns.message.make_query("web.default.svc.cluster.local", "A")
    assert ask(server, q1).answer and ask(server, q2).id == q2.id
    server.resolver.services.pop("default/web")
    server.resolver.touch()
    assert ask(server, q1).rcode() == dns.rcode.NXDOMAIN


def test_names_outside_the_zone_need_the_network() -> None:
    q = dns.message.make_query("example.test", "A")
    resp, pending = _server().answer_nowait(q.to_wire(), False)
    assert resp is None and pending is not None and pending.name == "example.test"


def test_parse_message_reads_answers_back() -> None:
    q = wire.parse_query(dns.message.make_query("svc.example.test", "A").to_wire())
    answers = [
        wire.RR("svc.example.test", wire.CNAME, 30, "real.example.test"),
        wire.RR("real.example.test", wire.A, 30, "198.18.0.1"),
        wire.RR("real.example.test", wire.MX, 30, (10, "mx.example.test")),
    ]
    msg = wire.parse_message(wire.encode_response(q, wire.NOERROR, answers))
    assert msg.answers == answers and msg.rcode == wire.NOERROR


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("198.18.0.1", ("198.18.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:54", ("::1", 54)),
        ("fd00::1", ("fd00::1", 53)),
    ],
)
def test_parse_upstream(text: str, want: tuple[str, int]) -> None:
    assert parse_upstream(text) == want


def test_parse_upstream_refuses_names() -> None:
    with pytest.raises(ValueError):
        parse_upstream("dns.example.test")
