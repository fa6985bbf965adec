"""SPDY/3.1 codec and connection: wire format against vectors from another
implementation (Chromium's SPDY framer tests), header compression against plain
zlib, and flow-control window accounting against a hand-driven peer."""

from __future__ import annotations

import asyncio
import zlib

import pytest

from pyk8s.kubelet.server import spdy
from pyk8s.kubelet.server.spdy import (
    DataFrame,
    FrameDecoder,
    FrameEncoder,
    GoAway,
    HeadersFrame,
    Ping,
    RstStream,
    Settings,
    SynReply,
    SynStream,
    WindowUpdate,
)
from pyk8s.kubelet.server.spdyconn import SpdyConnection, SpdyStream, StreamClosedError

# Chromium spdy_framer_test: HEADERS, stream 1, {"bar": "foo", "foo": "bar"}, compressed.
CHROMIUM_HEADERS = bytes.fromhex(
    "80030008 00000021 00000001"
    "38eae3c6 a7c202e5 0e50c24b 4a04e50b e6b4fc7c 240a2808 000000ff ff"
)


def test_dictionary_is_the_spdy3_dictionary() -> None:
    assert len(spdy.DICTIONARY) == 1423
    # The dictionary id in the zlib header of every SPDY/3 header stream.
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2
    assert CHROMIUM_HEADERS[14:18] == (0xE3C6A7C2).to_bytes(4, "big")


def test_decodes_a_compressed_headers_frame_from_another_implementation() -> None:
    frames = FrameDecoder().feed(CHROMIUM_HEADERS)
    assert frames == [HeadersFrame(1, {"bar": ["foo"], "foo": ["bar"]}, fin=False)]


def test_header_blocks_decompress_with_plain_zlib_and_share_one_context() -> None:
    comp = spdy.HeaderCompressor()
    first = {"streamtype": ["error"], "port": ["8080"], "requestid": ["0"]}
    second = {"streamtype": ["data"], "port": ["8080"], "requestid": ["0"]}
    block1, block2 = comp.compress(first), comp.compress(second)
    plain = zlib.decompressobj(zdict=spdy.DICTIONARY)
    assert plain.decompress(block1) == spdy.pack_header_block(first)
    assert plain.decompress(block2) == spdy.pack_header_block(second)
    # The second block leans on the first: alone it does not decode.
    with pytest.raises(zlib.error):
        zlib.decompressobj(zdict=spdy.DICTIONARY).decompress(block2)
    assert len(block2) < len(block1)


def test_multi_valued_headers_are_nul_joined() -> None:
    block = spdy.pack_header_block({"x": ["a", "b"]})
    assert block == b"\x00\x00\x00\x01" b"\x00\x00\x00\x01x" b"\x00\x00\x00\x03a\x00b"
    assert spdy.unpack_header_block(block) == {"x": ["a", "b"]}


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        (RstStream(1, spdy.PROTOCOL_ERROR), "80030003 00000008 00000001 00000001"),
        (RstStream(0x7FFFFFFF, spdy.INTERNAL_ERROR), "80030003 00000008 7fffffff 00000006"),
        (Ping(0x12345678), "80030006 00000004 12345678"),
        (GoAway(0x7FFFFFFF, 2), "80030007 00000008 7fffffff 00000002"),
        (WindowUpdate(1, 0x7FFFFFFF), "80030009 00000008 00000001 7fffffff"),
        (Settings([(0x04, 0x030201, 0x0A0B0C0D)]),
         "80030004 0000000c 00000001 04030201 0a0b0c0d"),
        (DataFrame(1, b"hi", fin=True), "00000001 01000002 6869"),
        (DataFrame(0x7FFFFFFF, b""), "7fffffff 00000000"),
    ],
)
def test_fixed_frames_match_reference_bytes(frame: spdy.Frame, wire: str) -> None:
    encoded = FrameEncoder().encode(frame)
    assert encoded == bytes.fromhex(wire)
    assert FrameDecoder().feed(encoded) == [frame]


def test_every_frame_type_round_trips_even_fed_byte_by_byte() -> None:
    frames: list[spdy.Frame] = [
        SynStream(1, {"streamtype": ["error"], "port": ["80"]}, fin=False, priority=3),
        SynStream(3, {"streamtype": ["data"], "port": ["80"]}, fin=True, unidirectional=True),
        SynReply(1, {}),
        SynReply(3, {"status": ["200"]}, fin=True),
        HeadersFrame(3, {"x-extra": ["1", "2"]}),
        DataFrame(3, b"x" * 70000),
        DataFrame(3, b"", fin=True),
        RstStream(5, spdy.CANCEL),
        Settings([(0, spdy.SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20)]),
        Ping(7),
        GoAway(3, 0),
        WindowUpdate(0, 32768),
    ]
    encoder = FrameEncoder()  # one compression context for the whole connection
    wire = b"".join(encoder.encode(f) for f in frames)
    decoder, got = FrameDecoder(), []
    for i in range(0, len(wire), 997):  # odd-sized slices split every frame somewhere
        got += decoder.feed(wire[i : i + 997])
    assert got == frames
    assert FrameDecoder().feed(wire) == frames


def test_unknown_control_frames_are_skipped_and_bad_versions_refused() -> None:
    unknown = bytes.fromhex("8003000a 00000004 deadbeef")
    ping = FrameEncoder().encode(Ping(1))
    assert FrameDecoder().feed(unknown + ping) == [Ping(1)]
    with pytest.raises(spdy.SpdyProtocolError):
        FrameDecoder().feed(bytes.fromhex("80020006 00000004 00000001"))


# -- connection: a hand-driven peer over an in-memory transport -----------------


class MemoryTransport:
    def __init__(self) -> None:
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue()

    async def read(self) -> bytes:
        return await self.inbox.get()

    async def write(self, data: bytes) -> None:
        self.outbox.put_nowait(data)

    async def close(self) -> None:
        self.inbox.put_nowait(b"")


class Peer:
    """The other end, frame by frame: what we send and what the connection wrote."""

    def __init__(self, transport: MemoryTransport) -> None:
        self.transport = transport
        self.encoder, self.decoder = FrameEncoder(), FrameDecoder()

    def send(self, *frames: spdy.Frame) -> None:
        for frame in frames:
            self.transport.inbox.put_nowait(self.encoder.encode(frame))

    def received(self) -> list[spdy.Frame]:
        frames = []
        while not self.transport.outbox.empty():
            frames += self.decoder.feed(self.transport.outbox.get_nowait())
        return frames


async def settle() -> None:
    """Let every ready task run until nothing is left to do (all in memory)."""
    for _ in range(200):
        await asyncio.sleep(0)


def data_bytes(frames: list[spdy.Frame], stream_id: int) -> int:
    return sum(len(f.data) for f in frames if isinstance(f, DataFrame) and f.stream_id == stream_id)


async def accepted_stream(**kwargs: object) -> tuple[SpdyConnection, Peer, SpdyStream]:
    transport = MemoryTransport()
    accepted: list[SpdyStream] = []
    conn = SpdyConnection(transport, on_stream=lambda s: accepted.append(s) or True, **kwargs)
    peer = Peer(transport)
    asyncio.get_running_loop().create_task(conn.serve())
    peer.send(SynStream(1, {"streamtype": ["data"], "port": ["80"]}))
    await settle()
    assert peer.received() == [SynReply(1, {})]
    return conn, peer, accepted[0]


async def test_sender_honours_the_peers_windows_once_it_does_flow_control() -> None:
    conn, peer, stream = await accepted_stream(enforce_peer_window=True)
    writer = asyncio.ensure_future(stream.write(b"y" * 100_000))
    await settle()
    assert data_bytes(peer.received(), 1) == spdy.DEFAULT_WINDOW
    assert not writer.done()
    assert stream.send_window == 0 and conn.send_window == 0
    peer.send(WindowUpdate(1, 10_000))
    await settle()
    assert data_bytes(peer.received(), 1) == 0  # the session window is still closed
    peer.send(WindowUpdate(0, 50_000))
    await settle()
    assert data_bytes(peer.received(), 1) == 10_000
    assert (stream.send_window, conn.send_window) == (0, 40_000)
    peer.send(WindowUpdate(1, 1 << 20))
    await settle()
    assert data_bytes(peer.received(), 1) == 100_000 - spdy.DEFAULT_WINDOW - 10_000
    assert writer.done() and writer.exception() is None
    await conn.close()


async def test_auto_mode_sends_freely_to_a_peer_without_flow_control() -> None:
    # kubectl's spdystream never sends WINDOW_UPDATE: waiting for one would stall.
    conn, peer, stream = await accepted_stream()
    await stream.write(b"z" * 300_000)
    await stream.close()
    frames = peer.received()
    assert data_bytes(frames, 1) == 300_000
    assert frames[-1] == DataFrame(1, b"", fin=True)
    assert not conn.enforcing_peer_window
    await conn.close()


async def test_a_window_update_switches_auto_mode_to_enforcing() -> None:
    conn, peer, stream = await accepted_stream()
    peer.send(WindowUpdate(1, 1000))
    await settle()
    assert conn.enforcing_peer_window
    assert stream.send_window == spdy.DEFAULT_WINDOW + 1000
    await conn.close()


async def test_receiver_returns_consumed_bytes_with_window_updates() -> None:
    conn, peer, stream = await accepted_stream()
    peer.send(DataFrame(1, b"a" * 40_000), DataFrame(1, b"b" * 24_000))
    await settle()
    assert stream.recv_window == spdy.DEFAULT_WINDOW - 64_000
    assert peer.received() == []  # nothing consumed yet: no credit
    got = await stream.read()
    assert len(got) == 40_000
    await settle()
    assert peer.received() == [WindowUpdate(1, 40_000), WindowUpdate(0, 40_000)]
    assert stream.recv_window == spdy.DEFAULT_WINDOW - 24_000
    assert len(await stream.read(1000)) == 1000  # partial reads credit too, in batches
    await settle()
    assert peer.received() == []
    await conn.close()


async def test_settings_initial_window_size_moves_open_stream_windows() -> None:
    conn, peer, stream = await accepted_stream()
    peer.send(Settings([(0, spdy.SETTINGS_INITIAL_WINDOW_SIZE, 1000)]))
    await settle()
    assert stream.send_window == 1000 and conn.enforcing_peer_window
    writer = asyncio.ensure_future(stream.write(b"q" * 5000))
    await settle()
    assert data_bytes(peer.received(), 1) == 1000
    writer.cancel()
    await conn.close()


async def test_fin_reset_ping_and_refused_streams() -> None:
    transport = MemoryTransport()
    conn = SpdyConnection(transport, on_stream=lambda s: s.header("port") == "80")
    peer = Peer(transport)
    serving = asyncio.ensure_future(conn.serve())
    peer.send(SynStream(1, {"port": ["80"]}), SynStream(3, {"port": ["81"]}), Ping(5))
    await settle()
    assert peer.received() == [SynReply(1, {}), RstStream(3, spdy.CANCEL), Ping(5)]
    stream = conn.streams[1]
    peer.send(DataFrame(1, b"hello", fin=True))
    await settle()
    assert await stream.read() == b"hello"
    assert await stream.read() == b""  # FIN
    peer.send(RstStream(1, spdy.CANCEL))
    await settle()
    with pytest.raises(StreamClosedError):
        await stream.write(b"late")
    transport.inbox.put_nowait(b"")  # the transport ends: serve() returns
    await serving
    assert conn.is_closed


async def test_two_connections_talk_to_each_other() -> None:
    a, b = MemoryTransport(), MemoryTransport()
    a.outbox, b.outbox = b.inbox, a.inbox  # cross-wired

    async def echo(stream: SpdyStream) -> None:
        while data := await stream.read():
            await stream.write(data)
        await stream.close()

    server = SpdyConnection(
        a, on_stream=lambda s: asyncio.ensure_future(echo(s)) is not None)
    client = SpdyConnection(b, server=False, enforce_peer_window=True)
    tasks = [asyncio.ensure_future(server.serve()), asyncio.ensure_future(client.serve())]
    stream = await client.open_stream({"streamType": "data"})
    await stream.wait_reply()
    payload = bytes(range(256)) * 4096  # 1 MiB: many windows' worth each way
    sender = asyncio.ensure_future(stream.write(payload))
    got = bytearray()
    while len(got) < len(payload):
        got += await stream.read()
    await sender
    await stream.close()
    assert await stream.read() == b""
    assert bytes(got) == payload
    await client.ping()
    await client.close()
    await server.close()
    await asyncio.gather(*tasks)
