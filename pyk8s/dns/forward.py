"""Forwarding names outside the cluster to upstream resolvers (CoreDNS's `forward`).

A query is relayed as raw bytes under an ID of our own (so a reply can only match
the exchange that asked it), first over the client's transport: UDP, then TCP to
the same upstream when the reply comes back truncated. Upstreams are tried in
order, each for `timeout` seconds; None when none of them answers (the server then
answers SERVFAIL). The upstreams default to the host's /etc/resolv.conf.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import struct
from pathlib import Path

from pyk8s.dns.wire import QR, TC

log = logging.getLogger(__name__)

Upstream = tuple[str, int]


def parse_upstream(text: str) -> Upstream:
    """ "ip", "ip:port", "[v6]:port" or "v6" -> (ip, port); ValueError when not an address."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest.removeprefix(":")) if rest else 53
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = int(p)
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"port out of range: {text}")
    return host, port


def host_nameservers(path: Path = Path("/etc/resolv.conf")) -> list[str]:
    """The `nameserver` lines of a resolv.conf (missing file: none)."""
    try:
        text = path.read_text()
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            out.append(fields[1].split("%")[0])  # drop an IPv6 zone index
    return out


def default_upstreams(configured: list[str] | None, resolv_conf: Path) -> list[Upstream]:
    """The configured upstreams, or the host's nameservers when none are configured."""
    out = []
    for text in host_nameservers(resolv_conf) if configured is None else configured:
        try:
            out.append(parse_upstream(text))
        except ValueError:
            log.warning("dns: ignoring upstream %r: not an address", text)
    return out


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self, ident: bytes) -> None:
        self.ident = ident
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        # The socket is connected, so only the upstream reaches us; the ID ties the reply
        # to this query.
        if len(data) >= 12 and data[:2] == self.ident and data[2] & 0x80 and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


class Forwarder:
    def __init__(self, upstreams: list[Upstream], timeout: float = 2.0) -> None:
        self.upstreams = list(upstreams)
        self.timeout = timeout

    async def exchange(self, query: bytes, *, tcp: bool, limit: int = 512) -> bytes | None:
        """An upstream's reply to `query` (its ID restored), or None if none answered.
        Over UDP, a truncated reply is asked again over TCP and the full one relayed
        when it fits `limit`; otherwise the truncated one tells the client to retry."""
        ours = secrets.token_bytes(2)
        asked = ours + query[2:]
        for host, port in self.upstreams:
            try:
                async with asyncio.timeout(self.timeout):
                    reply = await (_tcp if tcp else _udp)(host, port, asked, ours)
                    if not tcp and reply[2] & (TC >> 8):
                        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                            full = await _tcp(host, port, asked, ours)
                            if len(full) <= limit:
                                reply = full
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as err:
                log.debug("dns: upstream %s:%d failed: %r", host, port, err)
                continue
            return query[:2] + reply[2:]
        return None


async def _udp(host: str, port: int, query: bytes, ident: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: _Exchange(ident), remote_addr=(host, port)
    )
    try:
        transport.sendto(query)
        return await proto.reply
    finally:
        transport.close()


async def _tcp(host: str, port: int, query: bytes, ident: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(struct.pack("!H", len(query)) + query)
        await writer.drain()
        (size,) = struct.unpack("!H", await reader.readexactly(2))
        reply = await reader.readexactly(size)
        if size < 12 or reply[:2] != ident or not reply[2] & (QR >> 8):
            raise ValueError("reply does not match the query")
        return reply
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
