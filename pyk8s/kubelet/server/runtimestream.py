"""The kubelet as a client of the container runtime's streaming server (CRI Exec and
Attach URLs), over SPDY/3.1 as upstream's kubelet and API server talk to it.

Why SPDY and not the runtime's WebSocket: containerd's streaming server speaks the
remotecommand WebSocket protocols only up to v4.channel.k8s.io, which cannot end stdin
while the output streams stay open (v5's close signal does not exist there), so
`echo hi | kubectl exec -i POD -- cat` would never end. Over SPDY every channel is a
stream of its own, and stdin's end is a FIN on its stream.

The exchange (remotecommand protocol v4.channel.k8s.io over SPDY):
  POST <url> with `Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version: v4.channel.k8s.io`
  -> 101; then the client opens one stream per channel, named by the `streamtype`
  header: error, stdin, stdout, stderr (not with a tty), resize (only with a tty).
  The server runs the command once they are all there, copies its output to stdout
  and stderr, writes the final Status (JSON) on the error stream and closes the
  connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

from yarl import URL

from pyk8s.kubelet.server.spdyconn import SpdyConnection, SpdyStream

PROTOCOL = "v4.channel.k8s.io"
HEAD_LIMIT = 64 * 1024
READ_SIZE = 64 * 1024


class DialError(Exception):
    """The streaming server refused or could not be reached."""


class StreamTransport:
    """SPDY's byte transport over an asyncio stream pair (either end of a connection)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def read(self) -> bytes:
        try:
            return await self.reader.read(READ_SIZE)
        except (ConnectionError, OSError):
            return b""

    async def write(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise ConnectionResetError("connection closed")
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, list[str]]]:
    """An HTTP/1.1 message head: (start line, headers by lower-case name)."""
    raw = await reader.readuntil(b"\r\n\r\n")
    if len(raw) > HEAD_LIMIT:
        raise DialError("response head too large")
    lines = raw.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], headers


def _connect_args(url: URL) -> tuple[str, int, ssl.SSLContext | None]:
    tls = None
    if url.scheme == "https":
        # The runtime's streaming server is local and signs its own certificate.
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    return url.host or "127.0.0.1", url.port or (443 if tls else 80), tls


async def dial(url: str, protocol: str = PROTOCOL) -> tuple[StreamTransport, str]:
    """Upgrade a connection to `url` to SPDY/3.1; returns it with the negotiated
    remotecommand protocol."""
    u = URL(url)
    host, port, tls = _connect_args(u)
    try:
        reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    except OSError as e:
        raise DialError(f"dial tcp {host}:{port}: {e}") from e
    request = (
        f"POST {u.raw_path_qs} HTTP/1.1\r\nHost: {u.raw_authority}\r\n"
        "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
        f"X-Stream-Protocol-Version: {protocol}\r\nContent-Length: 0\r\n\r\n"
    )
    try:
        writer.write(request.encode("latin-1"))
        start, headers = await read_head(reader)
        status = int(start.split(" ", 2)[1])
        if status != 101:
            raise DialError(await _refusal(reader, start, headers))
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
        writer.close()
        raise DialError(f"unable to upgrade connection: {e}") from e
    except DialError:
        writer.close()
        raise
    negotiated = (headers.get("x-stream-protocol-version") or [""])[0]
    return StreamTransport(reader, writer), negotiated


async def _refusal(reader: asyncio.StreamReader, start: str, headers: dict[str, list[str]]) -> str:
    length = int((headers.get("content-length") or ["0"])[0])
    body = await reader.readexactly(min(length, HEAD_LIMIT)) if length else b""
    text = body.decode("utf-8", "replace").strip()
    return f"unable to upgrade connection: {text or start.split(' ', 1)[1]}"


@dataclass
class RemoteStreams:
    """The client's streams of one exec or attach."""

    conn: SpdyConnection
    serving: asyncio.Task[None]
    error: SpdyStream
    stdin: SpdyStream | None = None
    stdout: SpdyStream | None = None
    stderr: SpdyStream | None = None
    resize: SpdyStream | None = None

    async def close(self) -> None:
        await _abandon(self.conn, self.serving)


async def _abandon(conn: SpdyConnection, serving: asyncio.Task[None]) -> None:
    await conn.close()
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await serving


async def open_streams(
    url: str, stdin: bool, stdout: bool, stderr: bool, tty: bool
) -> RemoteStreams:
    """Dial the streaming URL and open the streams the server waits for."""
    transport, negotiated = await dial(url)
    if negotiated != PROTOCOL:
        await transport.close()
        raise DialError(f"unable to upgrade connection: unsupported protocol {negotiated!r}")
    conn = SpdyConnection(transport, server=False)
    serving = asyncio.create_task(conn.serve(), name="runtime-spdy")
    wanted = [
        ("error", True),
        ("stdin", stdin),
        ("stdout", stdout),
        ("stderr", stderr and not tty),
        ("resize", tty),
    ]
    opened: dict[str, SpdyStream] = {}
    try:
        for kind, on in wanted:
            if on:
                opened[kind] = await conn.open_stream({"streamType": kind})
        for stream in opened.values():
            await asyncio.wait_for(stream.wait_reply(), 30)
    except (ConnectionError, TimeoutError) as e:
        await _abandon(conn, serving)
        raise DialError(f"unable to create streams: {e}") from e
    return RemoteStreams(conn, serving, **opened)
