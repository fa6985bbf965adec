"""A fake upstream resolver on 127.0.0.1 (UDP and TCP, ephemeral port) for the cluster
DNS tests, and a few DNS client helpers. Built on dnspython, independently of the
server's own codec. Never a public resolver."""

from __future__ import annotations

import asyncio
import contextlib
import struct

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class FakeUpstream:
    """Answers A queries for `records`; NXDOMAIN otherwise. Names in `truncated` come
    back with TC set over UDP (and in full over TCP). `seen` logs (transport, name)."""

    def __init__(self, records: dict[str, list[str]], truncated: frozenset[str] = frozenset()):
        self.records = records
        self.truncated = truncated
        self.seen: list[tuple[str, str]] = []
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    def answer(self, data: bytes, transport: str) -> bytes:
        q = dns.message.from_wire(data)
        r = dns.message.make_response(q)
        qname = q.question[0].name
        name = qname.to_text(omit_final_dot=True).lower()
        self.seen.append((transport, name))
        if name not in self.records:
            r.set_rcode(dns.rcode.NXDOMAIN)
        elif transport == "udp" and name in self.truncated:
            r.flags |= dns.flags.TC
        elif q.question[0].rdtype == dns.rdatatype.A:
            r.answer.append(dns.rrset.from_text_list(qname, 60, "IN", "A", self.records[name]))
        return r.to_wire()

    async def start(self) -> FakeUpstream:
        loop = asyncio.get_running_loop()
        for _ in range(20):
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=("127.0.0.1", 0)
            )
            port = udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, "127.0.0.1", port)
            except OSError:
                udp.close()
                continue
            self._udp, self.port = udp, port
            return self
        raise OSError("no free port for the fake upstream")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 2)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            (size,) = struct.unpack("!H", await reader.readexactly(2))
            resp = self.answer(await reader.readexactly(size), "tcp")
            writer.write(struct.pack("!H", len(resp)) + resp)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, upstream: FakeUpstream) -> None:
        self.upstream = upstream
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # noqa: ANN001
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # noqa: ANN001
        assert self.transport is not None
        self.transport.sendto(self.upstream.answer(data, "udp"), addr)


async def query(
    port: int, name: str, rdtype: str = "A", *, tcp: bool = False, payload: int = 1232
) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, use_edns=0, payload=payload)
    send = dns.asyncquery.tcp if tcp else dns.asyncquery.udp
    return await send(q, "127.0.0.1", port=port, timeout=5)


def addresses(resp: dns.message.Message, rdtype: str = "A") -> list[str]:
    want = dns.rdatatype.from_text(rdtype)
    return sorted(rd.address for rrset in resp.answer if rrset.rdtype == want for rd in rrset)
