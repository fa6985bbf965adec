"""The DNS server: UDP and TCP listeners on one port, answering cluster names from a
Resolver and forwarding the rest.

Cluster answers are computed on the event loop as the datagram arrives (no task,
no await) and kept in a small response cache that is dropped whenever an informer
delivers a change, so repeated names cost a dictionary lookup; only forwarded
queries and ExternalName targets outside the zone go to the network, each in a
task of its own. Port 0 binds an ephemeral port, the same for UDP and TCP
(`port` tells which).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
from typing import Any

from pyk8s.dns.forward import Forwarder
from pyk8s.dns.records import Answer, Resolver
from pyk8s.dns.wire import (
    ANY,
    AXFR,
    CLASS_IN,
    CNAME,
    FORMERR,
    IXFR,
    MAX_TCP_SIZE,
    NOERROR,
    NOTIMP,
    NXDOMAIN,
    QR,
    REFUSED,
    RR,
    SERVFAIL,
    Query,
    WireError,
    build_query,
    encode_response,
    error_response,
    parse_message,
    parse_query,
    read_header,
)

log = logging.getLogger(__name__)

CACHE_ENTRIES = 4096
MAX_CHASE = 8  # CNAME hops inside the zone before giving up


class DnsServer:
    def __init__(
        self,
        resolver: Resolver,
        forwarder: Forwarder,
        *,
        idle_timeout: float = 10.0,
        cache_entries: int = CACHE_ENTRIES,
    ) -> None:
        self.resolver = resolver
        self.forwarder = forwarder
        self.idle_timeout = idle_timeout
        self.cache_entries = cache_entries  # 0: no response cache
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._cache: dict[tuple[bytes, bool], bytes] = {}
        self._cache_generation = -1

    # -- answering -------------------------------------------------------------------------

    def answer_nowait(self, data: bytes, tcp: bool) -> tuple[bytes | None, Query | None]:
        """(response, None) when the answer is known now, (None, query) when it needs
        the network, (None, None) when the message is to be dropped."""
        try:
            _, flags = read_header(data)
        except WireError:
            return None, None
        if flags & QR:
            return None, None  # a response sent to a server: never answer (no ping-pong)
        if self._cache_generation != self.resolver.generation:
            self._cache.clear()
            self._cache_generation = self.resolver.generation
        # Only parsed, well-formed queries are cached: a hit needs no parsing.
        key = (data[2:], tcp)
        hit = self._cache.get(key) if self.cache_entries else None
        if hit is not None:
            return data[:2] + hit, None
        try:
            q = parse_query(data)
        except WireError:
            return error_response(data, FORMERR), None
        resp = self._local(q, tcp)
        if resp is not None:
            if len(self._cache) >= self.cache_entries:
                self._cache.clear()
            if self.cache_entries:
                self._cache[key] = resp[2:]
            return resp, None
        return None, q

    def _local(self, q: Query, tcp: bool) -> bytes | None:
        """The response when it is known without the network; None otherwise."""
        limit = q.size_limit(tcp)
        if q.opcode != 0:
            return encode_response(q, NOTIMP, limit=limit, authoritative=False)
        if self.resolver.in_zone(q.name):
            if q.qclass not in (CLASS_IN, ANY) or q.qtype in (AXFR, IXFR):
                return encode_response(q, REFUSED, limit=limit)
            ans = self.resolver.resolve(q.name, q.qtype)
            if ans.chase:
                return None
            return self._encode(q, ans, limit)
        ans = self.resolver.reverse(q.name, q.qtype) if q.qclass == CLASS_IN else None
        return self._encode(q, ans, limit) if ans is not None else None

    @staticmethod
    def _encode(q: Query, ans: Answer, limit: int) -> bytes:
        return encode_response(q, ans.rcode, ans.answer, ans.authority, ans.additional, limit=limit)

    async def answer(self, data: bytes, tcp: bool) -> bytes | None:
        """The response to one message, forwarding or chasing when needed."""
        resp, q = self.answer_nowait(data, tcp)
        if q is None:
            return resp
        try:
            if self.resolver.in_zone(q.name):
                return await self._chased(q, tcp)
            reply = await self.forwarder.exchange(data, tcp=tcp, limit=q.size_limit(tcp))
            return reply if reply is not None else encode_response(q, SERVFAIL, authoritative=False)
        except Exception:  # noqa: BLE001 - a query must get an answer whatever went wrong
            log.exception("dns: answering %s type %d", q.name, q.qtype)
            return encode_response(q, SERVFAIL, authoritative=False)

    async def _chased(self, q: Query, tcp: bool) -> bytes:
        """An ExternalName's CNAME followed by its target's records, resolved here when
        the target is in the zone, upstream otherwise (the plugin's upstream lookup)."""
        ans = self.resolver.resolve(q.name, q.qtype)
        records, rcode = await self._chase(ans.chase, q.qtype, 0)
        out = Answer(rcode, ans.answer + records)
        if rcode == NXDOMAIN:
            out.authority = [self.resolver.soa()] if self.resolver.in_zone(ans.chase) else []
        return self._encode(q, out, q.size_limit(tcp))

    async def _chase(self, target: str, qtype: int, depth: int) -> tuple[list[RR], int]:
        if self.resolver.in_zone(target):
            ans = self.resolver.resolve(target, qtype)
            if ans.chase and depth < MAX_CHASE:
                more, rcode = await self._chase(ans.chase, qtype, depth + 1)
                return ans.answer + more, rcode
            return ans.answer, ans.rcode
        query = build_query(int.from_bytes(secrets.token_bytes(2)), target, qtype)
        reply = await self.forwarder.exchange(query, tcp=False, limit=MAX_TCP_SIZE)
        if reply is None:
            return [], NOERROR  # the CNAME alone: the client may follow it itself
        msg = parse_message(reply)
        records = [rr for rr in msg.answers if rr.rtype in (qtype, CNAME) or qtype == ANY]
        return records, NXDOMAIN if msg.rcode == NXDOMAIN else NOERROR

    # -- listeners -------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port over UDP and TCP (port 0: one free port for both)."""
        loop = asyncio.get_running_loop()
        for _ in range(20):
            udp, _proto = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(host, port)
            )
            bound = udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, host, bound)
            except OSError:
                udp.close()
                if port:
                    raise
                continue  # the ephemeral UDP port is taken over TCP: draw another
            self._udp, self.port = udp, bound
            return
        raise OSError(f"no port free for both UDP and TCP on {host}")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._tcp is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 2.0)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_datagram(self, data: bytes, addr: Any, transport: asyncio.DatagramTransport) -> None:
        try:
            resp, q = self.answer_nowait(data, tcp=False)
        except Exception:  # noqa: BLE001 - one bad query must not stop the listener
            log.exception("dns: answering a datagram")
            resp, q = error_response(data, SERVFAIL), None
        if resp is not None:
            transport.sendto(resp, addr)
        elif q is not None:
            self._spawn(self._answer_later(data, addr, transport))

    async def _answer_later(self, data: bytes, addr: Any, transport: asyncio.DatagramTransport):
        resp = await self.answer(data, tcp=False)
        if resp is not None and not transport.is_closing():
            transport.sendto(resp, addr)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._writers.add(writer)
        try:
            while True:
                async with asyncio.timeout(self.idle_timeout):
                    (size,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(size)
                resp = await self.answer(data, tcp=True)
                if resp is None:
                    break
                writer.write(struct.pack("!H", len(resp)) + resp)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        self.server.on_datagram(data, addr, self.transport)

    def error_received(self, exc: Exception) -> None:
        log.debug("dns: udp error: %r", exc)
