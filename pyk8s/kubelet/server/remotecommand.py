"""Exec and attach: the kubelet end of kubectl's WebSocket stream, bridged to the
container runtime's streaming server.

The API server relays kubectl's WebSocket here with the client's subprotocol
(`v5.channel.k8s.io` from kubectl >= 1.30; the official Python client offers v5, then
v4). Each binary frame starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the
final Status (JSON), 4 terminal resize (`{"Width":W,"Height":H}`); v5 adds 255,
"close the stream named by the next byte" (stdin's end of file).

The runtime side is SPDY (see runtimestream): a stream per channel. The bridge copies
stdin and resize frames to their streams and ends stdin with a FIN on v5's close
signal; it forwards stdout and stderr as they come, and once both have ended, the
Status the runtime wrote on its error stream goes out on channel 3 (upstream's form,
which kubectl turns into `command terminated with exit code N`) and the WebSocket is
closed normally.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from pyk8s.kubelet.server import runtimestream
from pyk8s.kubelet.server.runtimestream import RemoteStreams
from pyk8s.kubelet.server.spdyconn import SpdyStream, StreamClosedError

log = logging.getLogger(__name__)

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
SUPPORTED_PROTOCOLS = (V5, V4)
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


@dataclass(frozen=True)
class StreamOptions:
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def _flag(query: Mapping[str, str], *names: str) -> bool:
    return any(query.get(n, "") in ("1", "true", "True") for n in names)


def stream_options(query: Mapping[str, str]) -> StreamOptions:
    """Options from the kubelet URL's query, as the API server sends them (input,
    output, error, tty = "1"; the stdin/stdout/stderr spellings are accepted too)."""
    tty = _flag(query, "tty")
    stdin = _flag(query, "input", "stdin")
    stdout = _flag(query, "output", "stdout")
    stderr = _flag(query, "error", "stderr") and not tty  # a terminal has no stderr
    if not (stdin or stdout or stderr):
        raise ValueError("you must specify at least 1 of stdin, stdout, stderr")
    return StreamOptions(stdin, stdout, stderr, tty)


def offered_protocols(request: web.Request) -> list[str]:
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    return [p.strip() for p in header.split(",") if p.strip()]


def negotiate(offered: list[str]) -> str | None:
    """The first protocol the client offered that this server speaks, as Go's
    websocket server picks."""
    return next((p for p in offered if p in SUPPORTED_PROTOCOLS), None)


def is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


class RuntimeDialError(Exception):
    """The runtime's streaming server did not accept the stream."""


async def serve(
    request: web.Request, url: str, protocol: str, opts: StreamOptions
) -> web.StreamResponse:
    """Open the runtime's streams for `url`, then accept the client's WebSocket with
    `protocol` and bridge the two until the command ends or the client leaves."""
    try:
        streams = await runtimestream.open_streams(
            url, opts.stdin, opts.stdout, opts.stderr, opts.tty
        )
    except runtimestream.DialError as e:
        raise RuntimeDialError(f"error dialing backend: {e}") from e
    try:
        ws = web.WebSocketResponse(protocols=[protocol], max_msg_size=0)
        await ws.prepare(request)
        # As upstream's WebSocket server: an empty frame on the first output channel
        # tells the client the streams are set up.
        first = STDOUT if opts.stdout else STDERR if opts.stderr else ERROR
        await ws.send_bytes(bytes([first]))
        await Bridge(ws, streams).run()
        return ws
    finally:
        await streams.close()


class Bridge:
    def __init__(self, ws: web.WebSocketResponse, streams: RemoteStreams) -> None:
        self.ws = ws
        self.streams = streams

    async def run(self) -> None:
        inbound = asyncio.create_task(self._from_client(), name="exec-stdin")
        outbound = asyncio.create_task(self._to_client(), name="exec-output")
        try:
            await asyncio.wait({inbound, outbound}, return_when=asyncio.FIRST_COMPLETED)
            if inbound.done() and not outbound.done():
                # The client left: nobody reads the output any more.
                await self.streams.close()
        finally:
            for task in (inbound, outbound):
                task.cancel()
            for task in (inbound, outbound):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def _from_client(self) -> None:
        async for msg in self.ws:
            # Text frames count as bytes too (the Python client writes str stdin as text).
            if msg.type == WSMsgType.TEXT:
                frame = msg.data.encode()
            elif msg.type == WSMsgType.BINARY:
                frame = msg.data
            else:
                continue
            if not frame:
                continue
            channel, data = frame[0], frame[1:]
            try:
                await self._client_frame(channel, data)
            except StreamClosedError:
                log.debug("runtime stream for channel %d is closed", channel)

    async def _client_frame(self, channel: int, data: bytes) -> None:
        s = self.streams
        if channel == STDIN and s.stdin is not None and data:
            await s.stdin.write(data)
        elif channel == RESIZE and s.resize is not None:
            await s.resize.write(data)
        elif channel == CLOSE and data[:1] == bytes([STDIN]) and s.stdin is not None:
            await s.stdin.close()

    async def _to_client(self) -> None:
        s = self.streams
        await asyncio.gather(self._copy(s.stdout, STDOUT), self._copy(s.stderr, STDERR))
        status = await _read_all(s.error)
        if status:
            await self.ws.send_bytes(bytes([ERROR]) + status)

    async def _copy(self, stream: SpdyStream | None, channel: int) -> None:
        if stream is None:
            return
        while chunk := await stream.read():
            await self.ws.send_bytes(bytes([channel]) + chunk)


async def _read_all(stream: SpdyStream) -> bytes:
    parts = []
    while chunk := await stream.read():
        parts.append(chunk)
    return b"".join(parts)
