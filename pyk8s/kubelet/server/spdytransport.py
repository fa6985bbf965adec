"""Byte transports a SPDY connection runs on, taken from an aiohttp request.

- `WebSocketTransport`: kubectl's tunnel (subprotocol "SPDY/3.1+portforward.k8s.io")
  carries the SPDY byte stream in binary websocket messages; message boundaries
  mean nothing (client-go's TunnelingConnection writes one message per write).
- `upgrade_raw`: the classic `Upgrade: SPDY/3.1` request answered with 101, after
  which the connection itself carries SPDY. aiohttp only hands over the socket
  for websocket/tcp upgrades, so we install our own payload parser on the
  request's protocol (as aiohttp's WebSocketResponse does) before the 101 goes
  out: every later byte then reaches us instead of the HTTP parser.
"""

from __future__ import annotations

import asyncio
from collections import deque

from aiohttp import WSMsgType, web


class WebSocketTransport:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    async def read(self) -> bytes:
        while True:
            msg = await self._ws.receive()
            if msg.type == WSMsgType.BINARY:
                if msg.data:
                    return bytes(msg.data)
                continue
            if msg.type in (WSMsgType.PING, WSMsgType.PONG):
                continue
            # TEXT is not part of the tunnel protocol; CLOSE/CLOSED/ERROR end it.
            return b""

    async def write(self, data: bytes) -> None:
        if self._ws.closed:
            raise ConnectionResetError("websocket closed")
        await self._ws.send_bytes(data)

    async def close(self) -> None:
        await self._ws.close()


class _RawFeeder:
    """Stands in for aiohttp's payload parser: queues what the peer sends after the
    101, pausing the socket while too much is unread."""

    def __init__(self, transport: asyncio.Transport, limit: int = 1024 * 1024) -> None:
        self._transport = transport
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._limit = limit
        self._paused = False
        self._eof = False
        self._wakeup = asyncio.Event()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if data:
            self._chunks.append(bytes(data))
            self._size += len(data)
            if self._size > self._limit and not self._paused:
                self._paused = True
                self._transport.pause_reading()
            self._wakeup.set()
        return False, b""

    def feed_eof(self) -> None:
        self._eof = True
        self._wakeup.set()

    async def read(self) -> bytes:
        while not self._chunks:
            if self._eof:
                return b""
            self._wakeup.clear()
            await self._wakeup.wait()
        chunk = self._chunks.popleft()
        self._size -= len(chunk)
        if self._paused and self._size <= self._limit // 2:
            self._paused = False
            self._transport.resume_reading()
        return chunk


class _UpgradedResponse(web.StreamResponse):
    """A 101 whose body is the upgraded protocol: nothing to finish at the end."""

    async def write_eof(self, data: bytes = b"") -> None:
        return None


class RawTransport:
    def __init__(
        self, request: web.Request, response: _UpgradedResponse, feeder: _RawFeeder
    ) -> None:
        self._request = request
        self.response = response
        self._feeder = feeder

    async def read(self) -> bytes:
        return await self._feeder.read()

    async def write(self, data: bytes) -> None:
        transport = self._request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("connection closed")
        transport.write(data)
        # The protocol pauses writing when the socket buffer is full; wait it out.
        await self._request.protocol._drain_helper()

    async def close(self) -> None:
        transport = self._request.transport
        if transport is not None:
            transport.close()


async def upgrade_raw(request: web.Request, headers: dict[str, str]) -> RawTransport:
    """Answer 101 Switching Protocols and take the connection over."""
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("connection lost before upgrade")
    response = _UpgradedResponse(status=101, headers=headers)
    response.force_close()
    feeder = _RawFeeder(transport)
    request.protocol.set_parser(feeder)  # type: ignore[arg-type]  # duck-typed parser
    request.protocol.keep_alive(False)
    await response.prepare(request)
    return RawTransport(request, response, feeder)
