"""Port-forward over the websocket channel protocol (the official Python client).

As upstream's wsstream port-forward: ports come from the query (`port`, as the API
server passes them to the kubelet, or `ports`, as clients send them; repeated or
comma-separated). Port i gets channel 2i (data, both ways) and 2i+1 (error,
server to client); the first message on each channel is the port as 2 bytes
little-endian. A binary message is [channel byte][payload]; with
"v4.base64.channel.k8s.io" it is text: the channel as an ASCII digit, then base64.
The protocol has no per-channel half-close: a port is done when its pod
connection ends, and the websocket closes once every port is done.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

BINARY_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")
BASE64_PROTOCOL = "v4.base64.channel.k8s.io"
COPY_BUFFER = 64 * 1024

Connect = Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
ErrorText = Callable[[Any, int, BaseException], str]


def parse_ports(request: web.Request) -> list[int]:
    """Ports from the query; ValueError with upstream's wording when unusable."""
    values = request.query.getall("port", []) + request.query.getall("ports", [])
    if not values:
        raise ValueError('query parameter "port" is required')
    ports = []
    for value in values:
        if not value:
            raise ValueError('query parameter "port" cannot be empty')
        for item in value.split(","):
            if not item.strip().isdigit():
                raise ValueError(f"unable to parse {value!r} as a port")
            port = int(item)
            if not 0 < port < 65536:
                raise ValueError(f"port {value!r} must be > 0")
            ports.append(port)
    return ports


async def serve(request: web.Request, pod: Any, connect: Connect,
                error_text: ErrorText) -> web.StreamResponse:
    try:
        ports = parse_ports(request)
    except ValueError as exc:
        return web.Response(status=400, text=str(exc))
    ws = web.WebSocketResponse(protocols=(*BINARY_PROTOCOLS, BASE64_PROTOCOL))
    await ws.prepare(request)
    session = _ChannelSession(ws, ports, base64_mode=ws.ws_protocol == BASE64_PROTOCOL)
    await session.run(pod, connect, error_text)
    return ws


class _ChannelSession:
    def __init__(self, ws: web.WebSocketResponse, ports: list[int], *, base64_mode: bool) -> None:
        self._ws = ws
        self._ports = ports
        self._base64 = base64_mode
        # Client-to-pod bytes per port; bounded so a slow pod pushes back on the socket.
        self._inbound = [asyncio.Queue[bytes | None](maxsize=64) for _ in ports]
        self._send_lock = asyncio.Lock()
        self._done = [False for _ in ports]

    async def run(self, pod: Any, connect: Connect, error_text: ErrorText) -> None:
        for i, port in enumerate(self._ports):
            prefix = struct.pack("<H", port)
            await self._send(2 * i, prefix)
            await self._send(2 * i + 1, prefix)
        workers = [asyncio.ensure_future(self._port(i, pod, connect, error_text))
                   for i in range(len(self._ports))]
        all_done = asyncio.gather(*workers, return_exceptions=True)
        reader = asyncio.ensure_future(self._read_client())
        try:
            await asyncio.wait([reader, all_done], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [reader, *workers]:
                task.cancel()
            await asyncio.gather(reader, all_done, return_exceptions=True)
            await self._ws.close()

    async def _send(self, channel: int, payload: bytes) -> None:
        async with self._send_lock:
            if self._base64:
                text = chr(ord("0") + channel) + base64.b64encode(payload).decode()
                await self._ws.send_str(text)
            else:
                await self._ws.send_bytes(bytes([channel]) + payload)

    async def _read_client(self) -> None:
        """Route client messages to the ports' queues until the websocket closes."""
        async for msg in self._ws:
            decoded = self._decode(msg.type, msg.data)
            if decoded is None:
                continue
            channel, payload = decoded
            index = channel // 2
            if channel % 2 == 0 and index < len(self._inbound) and payload:
                if not self._done[index]:  # a finished port's queue is no longer drained
                    await self._inbound[index].put(payload)
        for queue in self._inbound:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    def _decode(self, kind: WSMsgType, data: Any) -> tuple[int, bytes] | None:
        if kind == WSMsgType.BINARY and data:
            return data[0], bytes(data[1:])
        if kind == WSMsgType.TEXT and data:
            try:
                return ord(data[0]) - ord("0"), base64.b64decode(data[1:])
            except ValueError:
                return None
        return None

    async def _port(self, i: int, pod: Any, connect: Connect, error_text: ErrorText) -> None:
        port = self._ports[i]
        try:
            reader, writer = await connect(port)
        except OSError as exc:
            text = error_text(pod, port, exc)
            log.info("port-forward: %s", text)
            self._done[i] = True
            await self._send(2 * i + 1, text.encode())
            return
        up = asyncio.ensure_future(self._client_to_pod(i, writer))
        try:
            # The port is done when the pod side ends, as upstream's forwarder returns.
            while data := await reader.read(COPY_BUFFER):
                await self._send(2 * i, data)
        except OSError:
            pass
        finally:
            self._done[i] = True
            up.cancel()
            await asyncio.gather(up, return_exceptions=True)
            writer.close()

    async def _client_to_pod(self, i: int, writer: asyncio.StreamWriter) -> None:
        while (data := await self._inbound[i].get()) is not None:
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
