"""The kubelet's port-forward endpoint: forward TCP connections into a pod.

Three ways in, as upstream's kubelet (pkg/cri/streaming/portforward) accepts them:

- websocket, subprotocol "SPDY/3.1+portforward.k8s.io": kubectl >= 1.31 (feature
  PortForwardWebsockets) tunnels SPDY/3.1 in binary messages;
- `Upgrade: SPDY/3.1` with `X-Stream-Protocol-Version: portforward.k8s.io`:
  kubectl's fallback, SPDY on the raw connection;
- websocket "v4.channel.k8s.io" (or base64, or none): the official Python client,
  ports from the query, two channels per port (`portforward_v4`).

Over SPDY every forwarded connection is a pair of streams sharing a `requestID`
header: `streamType: error` (server to client: why forwarding failed) and
`streamType: data` (the TCP payload, FIN for half-close), both with `port`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from pyk8s.kubelet.server import portforward_v4, spdytransport
from pyk8s.kubelet.server.spdyconn import (
    ByteTransport,
    SpdyConnection,
    SpdyStream,
    StreamClosedError,
)

log = logging.getLogger(__name__)

PROTOCOL_V1 = "portforward.k8s.io"
TUNNEL_PROTOCOL = "SPDY/3.1+" + PROTOCOL_V1
STREAM_CREATION_TIMEOUT = 30.0  # the kubelet's default --streaming-connection... creation timeout
COPY_BUFFER = 64 * 1024

Connect = Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class PodTarget(Protocol):
    """What port-forward needs of a pod (the kubelet server's PodRef)."""

    sandbox_id: str
    pod_ip: str
    netns: str


def default_connect(pod: PodTarget) -> Connect:
    """TCP to the pod's IP: the node reaches pod IPs directly through its bridge."""

    async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not pod.pod_ip:
            raise OSError("pod has no IP address")
        return await asyncio.open_connection(pod.pod_ip, port, limit=COPY_BUFFER)

    return connect


def dial_error(exc: BaseException, host: str, port: int) -> str:
    """An OS error in the words Go's net package uses ("dial tcp4 ...: connect: ...")."""
    family = "tcp6" if ":" in host else "tcp4"
    address = f"[{host}]:{port}" if family == "tcp6" else f"{host}:{port}"
    if isinstance(exc, TimeoutError):
        return f"dial {family} {address}: i/o timeout"
    errno = getattr(exc, "errno", None)
    if errno:
        reason = os.strerror(errno)
        return f"dial {family} {address}: connect: {reason[:1].lower()}{reason[1:]}"
    return f"dial {family} {address}: {exc}"


def forward_error(pod: PodTarget, port: int, exc: BaseException) -> str:
    """The error-stream text for a failed connection, shaped as kubelet+containerd's
    ("error forwarding port P to pod SANDBOX, uid : failed to execute portforward
    in network namespace ...")."""
    host = pod.pod_ip or "localhost"
    return (
        f"error forwarding port {port} to pod {pod.sandbox_id}, uid : "
        f'failed to execute portforward in network namespace "{pod.netns}": '
        f'failed to connect to {host}:{port} inside namespace "{pod.sandbox_id}", '
        f"IPv4: {dial_error(exc, host, port)}"
    )


async def handle_port_forward(
    request: web.Request, pod: PodTarget, connect: Connect | None = None
) -> web.StreamResponse:
    """Serve one port-forward request until the client goes away."""
    connect = connect or default_connect(pod)
    offered = _websocket_protocols(request)
    if offered is not None:
        if TUNNEL_PROTOCOL in offered:
            return await _serve_tunnel(request, pod, connect)
        return await portforward_v4.serve(request, pod, connect, forward_error)
    if _is_spdy_upgrade(request):
        return await _serve_raw_spdy(request, pod, connect)
    return web.Response(status=400, text="unable to upgrade: missing upgrade headers in request")


def install(server: Any) -> None:
    """Plug port-forward into the kubelet server (`KubeletServer.port_forward_handler`)."""
    server.port_forward_handler = lambda req, pod: handle_port_forward(req, pod)


# -- entry points -------------------------------------------------------------


def _websocket_protocols(request: web.Request) -> list[str] | None:
    """The offered subprotocols of a websocket upgrade, None if not a websocket."""
    if request.headers.get("Upgrade", "").strip().lower() != "websocket":
        return None
    raw = request.headers.getall("Sec-WebSocket-Protocol", [])
    return [p.strip() for value in raw for p in value.split(",") if p.strip()]


def _is_spdy_upgrade(request: web.Request) -> bool:
    connection = request.headers.get("Connection", "").lower()
    return "upgrade" in connection and "spdy/3.1" in request.headers.get("Upgrade", "").lower()


async def _serve_tunnel(request: web.Request, pod: PodTarget, connect: Connect) -> web.StreamResponse:
    # A SPDY frame is at most 16 MiB + 8 bytes and kubectl sends one write per message.
    ws = web.WebSocketResponse(protocols=[TUNNEL_PROTOCOL], max_msg_size=17 * 1024 * 1024)
    await ws.prepare(request)
    await serve_spdy(spdytransport.WebSocketTransport(ws), pod, connect)
    if not ws.closed:
        await ws.close()
    return ws


async def _serve_raw_spdy(request: web.Request, pod: PodTarget, connect: Connect) -> web.StreamResponse:
    offered = [p.strip() for v in request.headers.getall("X-Stream-Protocol-Version", [])
               for p in v.split(",") if p.strip()]
    if not offered:
        return web.Response(status=400,
                            text="unable to upgrade: X-Stream-Protocol-Version is required")
    if PROTOCOL_V1 not in offered:
        text = (f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
                f"server accepts [{PROTOCOL_V1}]")
        return web.Response(status=403, text=text,
                            headers={"X-Accepted-Stream-Protocol-Versions": PROTOCOL_V1})
    headers = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
               "X-Stream-Protocol-Version": PROTOCOL_V1}
    raw = await spdytransport.upgrade_raw(request, headers)
    try:
        await serve_spdy(raw, pod, connect)
    finally:
        await raw.close()
    return raw.response


async def serve_spdy(transport: ByteTransport, pod: PodTarget, connect: Connect) -> None:
    """Run port-forward over a SPDY connection on `transport` until it closes."""
    forwarder = _SpdyForwarder(pod, connect)
    conn = SpdyConnection(transport, server=True, on_stream=forwarder.on_stream)
    try:
        await conn.serve()
    finally:
        await forwarder.shutdown()


# -- SPDY stream pairs ----------------------------------------------------------


class _Pair:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.data: SpdyStream | None = None
        self.error: SpdyStream | None = None
        self.complete = asyncio.Event()

    def add(self, stream: SpdyStream) -> str | None:
        kind = stream.header("streamType")
        if getattr(self, kind) is not None:
            return f"{kind} stream already assigned"
        setattr(self, kind, stream)
        if self.data is not None and self.error is not None:
            self.complete.set()
        return None


def _invalid_stream(stream: SpdyStream) -> str | None:
    """Why a new stream is refused (upstream's httpStreamReceived checks), or None."""
    port = stream.header("port")
    if not port:
        return '"port" header is required'
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"unable to parse {port!r} as a port"
    kind = stream.header("streamType")
    if not kind:
        return '"streamType" header is required'
    if kind not in ("error", "data"):
        return f"invalid stream type {kind!r}"
    return None


def _request_id(stream: SpdyStream) -> str:
    request_id = stream.header("requestID")
    if request_id:
        return request_id
    # Clients older than the requestID header open error then data with
    # consecutive odd ids; upstream pairs them the same way.
    offset = 0 if stream.header("streamType") == "error" else 2
    return str(stream.stream_id - offset)


class _SpdyForwarder:
    def __init__(self, pod: PodTarget, connect: Connect) -> None:
        self._pod = pod
        self._connect = connect
        self._pairs: dict[str, _Pair] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def on_stream(self, stream: SpdyStream) -> bool:
        problem = _invalid_stream(stream)
        if problem is not None:
            log.info("port-forward: refusing stream %d: %s", stream.stream_id, problem)
            return False
        request_id = _request_id(stream)
        pair = self._pairs.get(request_id)
        if pair is None:
            pair = self._pairs[request_id] = _Pair(request_id)
            self._spawn(self._monitor(pair))
        problem = pair.add(stream)
        if problem is not None:
            text = f"error processing stream for request {request_id}: {problem}"
            self._spawn(_print_error(pair.error, text))
        elif pair.complete.is_set():
            self._spawn(self._forward(pair))
        return True

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _monitor(self, pair: _Pair) -> None:
        try:
            await asyncio.wait_for(pair.complete.wait(), STREAM_CREATION_TIMEOUT)
        except TimeoutError:
            text = f"(request={pair.request_id}) timed out waiting for streams"
            log.info("port-forward: %s", text)
            await _print_error(pair.error, text)
            if pair.error is not None:
                await pair.error.close()
        finally:
            self._pairs.pop(pair.request_id, None)

    async def _forward(self, pair: _Pair) -> None:
        assert pair.data is not None and pair.error is not None
        port = int(pair.data.header("port"))
        try:
            reader, writer = await self._connect(port)
        except OSError as exc:
            text = forward_error(self._pod, port, exc)
            log.info("port-forward: %s", text)
            await _print_error(pair.error, text)
            await pair.data.close()
            await pair.error.close()
            return
        try:
            await splice(pair.data, pair.error, reader, writer)
        finally:
            writer.close()
            await pair.data.close()
            await pair.error.close()


async def _print_error(stream: SpdyStream | None, text: str) -> None:
    if stream is not None:
        with contextlib.suppress(StreamClosedError):
            await stream.write(text.encode())


# -- copying --------------------------------------------------------------------


async def _client_to_pod(stream: SpdyStream, writer: asyncio.StreamWriter) -> bool:
    """Copy until the client's FIN, then shut down our write side to the pod.
    False when the pod connection failed (reset, broken pipe)."""
    while data := await stream.read():
        try:
            writer.write(data)
            await writer.drain()
        except OSError:
            return False
    if not stream.is_reset and writer.can_write_eof():
        with contextlib.suppress(OSError):
            writer.write_eof()
    return True


async def _pod_to_client(reader: asyncio.StreamReader, stream: SpdyStream) -> bool:
    """Copy until the pod's EOF, then FIN the data stream."""
    while True:
        try:
            data = await reader.read(COPY_BUFFER)
        except OSError:
            return False
        if not data:
            break
        try:
            await stream.write(data)
        except StreamClosedError:
            return True  # the client is gone: nothing left to tell it
    await stream.close()
    return True


async def splice(data: SpdyStream, error: SpdyStream,
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy both ways with half-close, until both directions end, the client resets
    the stream, or the pod connection breaks (then both streams are reset, as
    upstream does for ECONNRESET/EPIPE, keeping the rest of the session alive)."""
    up = asyncio.ensure_future(_client_to_pod(data, writer))
    down = asyncio.ensure_future(_pod_to_client(reader, data))
    pending: set[asyncio.Future[bool]] = {up, down}
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            broken = any(not task.result() for task in done)
            if broken:
                await data.reset()
                await error.reset()
            if broken or data.is_reset:
                break
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
