"""Port-forward against the kubelet's handler, with real sockets on 127.0.0.1.

The handler is mounted in a small aiohttp app; "the pod" is a TCP server on an
ephemeral loopback port (PodRef.pod_ip is 127.0.0.1). Clients:
- SPDY/3.1 tunnelled in websocket messages, as kubectl >= 1.31 speaks it (a client
  built from our own codec, both with and without flow control, as kubectl's
  spdystream has none);
- SPDY/3.1 on a raw `Upgrade: SPDY/3.1` connection (kubectl's fallback);
- the v4 websocket channel protocol, by hand and through the official Python client.
The whole path through the API server with the real kubectl is in
test_port_forward_kubectl.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from pyk8s.kubelet.server.portforward import TUNNEL_PROTOCOL, handle_port_forward
from pyk8s.kubelet.server.spdyconn import SpdyConnection, SpdyStream

MIB = 1024 * 1024
GUARD = 60.0  # turns a hang into a failure; no test asserts on time


@dataclass(frozen=True)
class FakePod:
    sandbox_id: str = "sandbox-0123456789abcdef"
    pod_ip: str = "127.0.0.1"
    netns: str = "/var/run/netns/cni-test"


POD = FakePod()


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo everything; on the client's EOF, finish sending and close (half-close aware)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.write_eof()
        await writer.drain()
    finally:
        writer.close()


@dataclass
class Rig:
    url: str  # http://127.0.0.1:PORT of the app serving the handler
    echo_port: int
    closed_port: int


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    echo = await asyncio.start_server(_echo, "127.0.0.1", 0)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await handle_port_forward(request, POD)

    app = web.Application()
    app.router.add_route("*", "/portForward/{ns}/{pod}", handler)
    # Where the official client sends its request (no API server in between here).
    app.router.add_route("*", "/api/v1/namespaces/{ns}/pods/{pod}/portforward", handler)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Rig(f"http://127.0.0.1:{port}", echo.sockets[0].getsockname()[1], _unused_port())
    finally:
        await runner.cleanup()
        echo.close()
        await echo.wait_closed()


# -- a SPDY client, as kubectl's port forwarder behaves -------------------------------


class WsTransport:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def read(self) -> bytes:
        msg = await self.ws.receive()
        return bytes(msg.data) if msg.type == aiohttp.WSMsgType.BINARY else b""

    async def write(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def close(self) -> None:
        await self.ws.close()


class SocketTransport:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 first: bytes = b"") -> None:
        self.reader, self.writer, self.first = reader, writer, first

    async def read(self) -> bytes:
        if self.first:
            data, self.first = self.first, b""
            return data
        return await self.reader.read(65536)

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()


def _no_flow_control(conn: SpdyConnection) -> None:
    """Behave as moby/spdystream: never send WINDOW_UPDATE."""

    async def consumed(stream: SpdyStream, n: int) -> None:
        return None

    conn._consumed = consumed  # type: ignore[method-assign]


class Forwarder:
    """kubectl's handleConnection: an error stream (closed at once) and a data stream
    per forwarded connection, paired by requestID."""

    def __init__(self, conn: SpdyConnection) -> None:
        self.conn = conn
        self.next_id = 0
        self.task = asyncio.ensure_future(conn.serve())

    async def open(self, port: int) -> tuple[SpdyStream, SpdyStream]:
        headers = {"streamType": "error", "port": str(port), "requestID": str(self.next_id)}
        self.next_id += 1
        error = await self.conn.open_stream(headers)
        await error.wait_reply()
        await error.close()
        data = await self.conn.open_stream({**headers, "streamType": "data"})
        await data.wait_reply()
        return data, error

    async def close(self) -> None:
        await self.conn.close()
        await self.task


async def read_all(stream: SpdyStream) -> bytes:
    out = bytearray()
    async with asyncio.timeout(GUARD):
        while chunk := await stream.read():
            out += chunk
    return bytes(out)


async def round_trip(fwd: Forwarder, port: int, payload: bytes) -> bytes:
    async with asyncio.timeout(GUARD):
        data, error = await fwd.open(port)
        sender = asyncio.ensure_future(_send_and_fin(data, payload))
        echoed = await read_all(data)
        await sender
        assert await read_all(error) == b""
    return echoed


async def _send_and_fin(stream: SpdyStream, payload: bytes) -> None:
    await stream.write(payload)
    await stream.close()


@pytest.fixture
async def tunnel(rig: Rig) -> AsyncIterator[Forwarder]:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{rig.url}/portForward/default/p",
                                      protocols=[TUNNEL_PROTOCOL], max_msg_size=0)
        assert ws.protocol == TUNNEL_PROTOCOL
        fwd = Forwarder(SpdyConnection(WsTransport(ws), server=False))
        try:
            yield fwd
        finally:
            await fwd.close()


async def test_tunnel_round_trips_one_mebibyte_both_ways(tunnel: Forwarder, rig: Rig) -> None:
    payload = os.urandom(MIB)
    echoed = await round_trip(tunnel, rig.echo_port, payload)
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()
    # The client returned credit as it read, so the server honoured its windows.
    assert tunnel.conn.enforcing_peer_window


async def test_tunnel_with_a_client_that_does_no_flow_control(rig: Rig) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{rig.url}/portForward/default/p",
                                      protocols=[TUNNEL_PROTOCOL], max_msg_size=0)
        conn = SpdyConnection(WsTransport(ws), server=False)
        _no_flow_control(conn)
        fwd = Forwarder(conn)
        payload = os.urandom(MIB)
        assert await round_trip(fwd, rig.echo_port, payload) == payload
        await fwd.close()


async def test_tunnel_reports_a_closed_port_on_the_error_stream(tunnel: Forwarder, rig: Rig) -> None:
    data, error = await tunnel.open(rig.closed_port)
    text = (await read_all(error)).decode()
    port = rig.closed_port
    assert text == (
        f"error forwarding port {port} to pod {POD.sandbox_id}, uid : failed to execute "
        f'portforward in network namespace "{POD.netns}": failed to connect to '
        f'127.0.0.1:{port} inside namespace "{POD.sandbox_id}", IPv4: dial tcp4 '
        f"127.0.0.1:{port}: connect: connection refused"
    )
    assert await read_all(data) == b""  # the data stream is finished too
    # The session survives: the next connection works.
    assert await round_trip(tunnel, rig.echo_port, b"still there") == b"still there"


async def test_tunnel_carries_concurrent_connections(tunnel: Forwarder, rig: Rig) -> None:
    payloads = [os.urandom(200_000 + i) for i in range(4)]
    echoed = await asyncio.gather(*(round_trip(tunnel, rig.echo_port, p) for p in payloads))
    assert list(echoed) == payloads


async def test_half_close_reaches_the_pod_and_its_reply_still_arrives(rig: Rig) -> None:
    """The client's FIN becomes a write shutdown at the pod, which then answers."""
    async def digest(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = await reader.read()  # until EOF: only a half-close lets this return
        writer.write(hashlib.sha256(body).hexdigest().encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(digest, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"{rig.url}/portForward/default/p",
                                          protocols=[TUNNEL_PROTOCOL])
            fwd = Forwarder(SpdyConnection(WsTransport(ws), server=False))
            body = os.urandom(300_000)
            answer = await round_trip(fwd, port, body)
            assert answer.decode() == hashlib.sha256(body).hexdigest()
            await fwd.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_streams_without_port_or_type_are_refused(tunnel: Forwarder) -> None:
    for headers in ({"streamType": "data", "requestID": "9"},
                    {"port": "80", "requestID": "9"},
                    {"port": "80", "streamType": "stdin", "requestID": "9"},
                    {"port": "0", "streamType": "data", "requestID": "9"}):
        stream = await tunnel.conn.open_stream(headers)
        with pytest.raises(ConnectionError):  # RST_STREAM instead of SYN_REPLY
            await stream.wait_reply()


async def test_raw_spdy_upgrade(rig: Rig) -> None:
    host, port = rig.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /portForward/default/p HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        b"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
        b"X-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n"
    )
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 101 Switching Protocols"
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    assert headers["upgrade"] == "SPDY/3.1"
    assert headers["x-stream-protocol-version"] == "portforward.k8s.io"
    fwd = Forwarder(SpdyConnection(SocketTransport(reader, writer), server=False))
    payload = os.urandom(MIB)
    assert await round_trip(fwd, rig.echo_port, payload) == payload
    data, error = await fwd.open(rig.closed_port)
    assert b"connect: connection refused" in await read_all(error)
    await fwd.close()


async def test_raw_spdy_upgrade_refuses_other_protocols(rig: Rig) -> None:
    async with aiohttp.ClientSession() as session:
        resp = await session.post(f"{rig.url}/portForward/default/p", headers={
            "Connection": "Upgrade", "Upgrade": "SPDY/3.1",
            "X-Stream-Protocol-Version": "v4.channel.k8s.io"})
        assert resp.status == 403
        assert resp.headers["X-Accepted-Stream-Protocol-Versions"] == "portforward.k8s.io"
        assert "unable to negotiate protocol" in await resp.text()


# -- the v4 channel protocol --------------------------------------------------------------


async def test_v4_channels_forward_each_port(rig: Rig) -> None:
    ports = f"{rig.echo_port},{rig.closed_port}"
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{rig.url}/portForward/default/p?port={ports}",
                                      protocols=["v4.channel.k8s.io"])
        assert ws.protocol == "v4.channel.k8s.io"
        first = [await ws.receive_bytes() for _ in range(4)]
        le = [struct.pack("<H", p) for p in (rig.echo_port, rig.closed_port)]
        assert first == [b"\x00" + le[0], b"\x01" + le[0], b"\x02" + le[1], b"\x03" + le[1]]
        error = await ws.receive_bytes()
        assert error[0] == 3
        assert error[1:].decode().endswith(
            f"dial tcp4 127.0.0.1:{rig.closed_port}: connect: connection refused")
        payload = os.urandom(MIB)
        for i in range(0, len(payload), 100_000):
            await ws.send_bytes(b"\x00" + payload[i : i + 100_000])
        got = bytearray()
        async with asyncio.timeout(GUARD):
            while len(got) < len(payload):
                msg = await ws.receive_bytes()
                assert msg[0] == 0
                got += msg[1:]
        assert bytes(got) == payload
        await ws.close()


async def test_v4_without_ports_is_a_bad_request(rig: Rig) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(f"{rig.url}/portForward/default/p",
                                     protocols=["v4.channel.k8s.io"])
        assert err.value.status == 400


def _official_client_exchange(base_url: str, port: int, closed: int) -> tuple[bytes, str | None]:
    from kubernetes import client
    from kubernetes.stream import portforward

    cfg = client.Configuration()
    cfg.host = base_url
    api = client.CoreV1Api(client.ApiClient(cfg))
    pf = portforward(api.connect_get_namespaced_pod_portforward, "p", "default",
                     ports=f"{port},{closed}")
    sock = pf.socket(port)
    sock.setblocking(True)
    payload = b"ping from the official client " * 1000
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    dead = pf.socket(closed)
    dead.settimeout(10)
    assert dead.recv(1) == b""  # the client closes a port's socket on its error
    error = pf.error(closed)
    sock.close()
    dead.close()
    pf.close()
    return got, error


async def test_official_python_client(rig: Rig) -> None:
    got, error = await asyncio.to_thread(
        _official_client_exchange, rig.url, rig.echo_port, rig.closed_port)
    assert got == b"ping from the official client " * 1000
    assert error is not None and error.startswith(
        f"error forwarding port {rig.closed_port} to pod {POD.sandbox_id}, uid : ")
