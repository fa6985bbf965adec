"""SPDY/3.1 framing: frames to bytes and back, with zlib-compressed header blocks.

kubectl's port-forward speaks SPDY/3.1 (through moby/spdystream), either on a raw
upgraded connection or tunnelled inside binary websocket messages. This module is
only the wire format; `spdyconn` runs a connection (streams, flow control) on it.

Wire format (SPDY Protocol Draft 3 / 3.1, section 2.2):
  control frame: 1 | version(15) | type(16) | flags(8) | length(24) | payload
  data frame:    0 | stream-id(31)          | flags(8) | length(24) | payload
Header blocks (section 2.6.10) are a count then (name, value) pairs, each a 32-bit
length and bytes; several values of one name are joined with NUL. The block is
compressed with zlib primed with the dictionary below, and the compression
context lives for the whole connection, one per direction: a block can refer to
bytes of every earlier block, so the same encoder and decoder must see every
header frame in order.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

VERSION = 3

SYN_STREAM = 1
SYN_REPLY = 2
RST_STREAM = 3
SETTINGS = 4
PING = 6
GOAWAY = 7
HEADERS = 8
WINDOW_UPDATE = 9

FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02

# RST_STREAM status codes (section 2.6.3); 0 is invalid on the wire.
PROTOCOL_ERROR = 1
INVALID_STREAM = 2
REFUSED_STREAM = 3
UNSUPPORTED_VERSION = 4
CANCEL = 5
INTERNAL_ERROR = 6
FLOW_CONTROL_ERROR = 7
STREAM_IN_USE = 8
STREAM_ALREADY_CLOSED = 9
FRAME_TOO_LARGE = 11

# SETTINGS ids (section 2.6.4) that matter here.
SETTINGS_MAX_CONCURRENT_STREAMS = 4
SETTINGS_INITIAL_WINDOW_SIZE = 7

# Flow-control windows start at 64 KiB for every stream and, in 3.1, for the session.
DEFAULT_WINDOW = 64 * 1024
MAX_WINDOW = 0x7FFFFFFF
MAX_FRAME_PAYLOAD = 0xFFFFFF


def _dictionary() -> bytes:
    """The SPDY/3 header-compression dictionary (Draft 3, section 2.6.10.1).

    A protocol constant: length-prefixed header names and common values, then raw
    text. Its Adler-32 (0xe3c6a7c2) is the dictionary id every SPDY/3 zlib stream
    carries; tests check both the id and a compressed vector from another codec.
    """
    prefixed = (
        "options head post put delete trace accept accept-charset accept-encoding"
        " accept-language accept-ranges age allow authorization cache-control"
        " connection content-base content-encoding content-language content-length"
        " content-location content-md5 content-range content-type date etag expect"
        " expires from host if-match if-modified-since if-none-match if-range"
        " if-unmodified-since last-modified location max-forwards pragma"
        " proxy-authenticate proxy-authorization range referer retry-after server te"
        " trailer transfer-encoding upgrade user-agent vary via warning"
        " www-authenticate method get status"
    ).split()
    prefixed += ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie"]
    prefixed += ["keep-alive", "origin"]
    raw = (
        "100101201202205206300302303304305306307402405406407408409410411412413414"
        "415416417502504505"
        "203 Non-Authoritative Information204 No Content301 Moved Permanently"
        "400 Bad Request401 Unauthorized403 Forbidden404 Not Found"
        "500 Internal Server Error501 Not Implemented503 Service Unavailable"
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00"
        " Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,"
        "application/xhtml+xml,text/plain,text/javascript,publicprivate"
        "max-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
    )
    block = b"".join(struct.pack(">I", len(w)) + w.encode() for w in prefixed)
    return block + raw.encode()


DICTIONARY = _dictionary()

Headers = dict[str, list[str]]


class SpdyProtocolError(Exception):
    """The peer sent bytes that are not valid SPDY/3.1."""


@dataclass
class DataFrame:
    stream_id: int
    data: bytes = b""
    fin: bool = False


@dataclass
class SynStream:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False
    unidirectional: bool = False
    associated_id: int = 0
    priority: int = 0


@dataclass
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass
class RstStream:
    stream_id: int
    status: int = CANCEL


@dataclass
class Settings:
    # (flags, id, value) triples, in wire order.
    entries: list[tuple[int, int, int]] = field(default_factory=list)

    def get(self, setting_id: int) -> int | None:
        for _flags, sid, value in self.entries:
            if sid == setting_id:
                return value
        return None


@dataclass
class Ping:
    ping_id: int


@dataclass
class GoAway:
    last_good_stream_id: int = 0
    status: int = 0


@dataclass
class HeadersFrame:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass
class WindowUpdate:
    stream_id: int  # 0 is the session (3.1)
    delta: int


Frame = (
    DataFrame
    | SynStream
    | SynReply
    | RstStream
    | Settings
    | Ping
    | GoAway
    | HeadersFrame
    | WindowUpdate
)


def normalize_headers(headers: Mapping[str, str | Sequence[str]]) -> Headers:
    """Lower-case names (the peer rejects others) and list-valued values."""
    out: Headers = {}
    for name, value in headers.items():
        values = [value] if isinstance(value, str) else list(value)
        out.setdefault(name.lower(), []).extend(values)
    return out


def pack_header_block(headers: Headers) -> bytes:
    """The uncompressed name/value block of section 2.6.10."""
    parts = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        for item in (name.encode(), "\x00".join(values).encode()):
            parts.append(struct.pack(">I", len(item)))
            parts.append(item)
    return b"".join(parts)


def unpack_header_block(block: bytes) -> Headers:
    count, pos = _u32(block, 0), 4
    headers: Headers = {}
    for _ in range(count):
        name, pos = _lv(block, pos)
        value, pos = _lv(block, pos)
        key = name.decode("latin-1").lower()
        if key in headers:
            raise SpdyProtocolError(f"duplicate header {key!r} in header block")
        headers[key] = value.decode("latin-1").split("\x00")
    if pos != len(block):
        raise SpdyProtocolError("trailing bytes after header block")
    return headers


def _u32(buf: bytes, pos: int) -> int:
    if pos + 4 > len(buf):
        raise SpdyProtocolError("truncated header block")
    return struct.unpack_from(">I", buf, pos)[0]


def _lv(buf: bytes, pos: int) -> tuple[bytes, int]:
    n = _u32(buf, pos)
    end = pos + 4 + n
    if end > len(buf):
        raise SpdyProtocolError("truncated header block")
    return buf[pos + 4 : end], end


class HeaderCompressor:
    """One direction's stateful zlib context: every block is sync-flushed, never ended."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, zdict=DICTIONARY)

    def compress(self, headers: Headers) -> bytes:
        block = pack_header_block(headers)
        return self._z.compress(block) + self._z.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    def __init__(self) -> None:
        self._z = zlib.decompressobj(zdict=DICTIONARY)

    def decompress(self, data: bytes) -> Headers:
        try:
            block = self._z.decompress(data)
        except zlib.error as exc:
            raise SpdyProtocolError(f"header block does not decompress: {exc}") from exc
        return unpack_header_block(block)


def _control(frame_type: int, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME_PAYLOAD:
        raise ValueError("control frame payload too large")
    head = struct.pack(">HHI", 0x8000 | VERSION, frame_type, (flags << 24) | len(payload))
    return head + payload


def _flags(fin: bool, unidirectional: bool = False) -> int:
    return (FLAG_FIN if fin else 0) | (FLAG_UNIDIRECTIONAL if unidirectional else 0)


class FrameEncoder:
    """Frames to bytes. Owns the outgoing header-compression context, so frames
    must be written to the wire in the order they are encoded."""

    def __init__(self) -> None:
        self._headers = HeaderCompressor()

    def encode(self, frame: Frame) -> bytes:
        match frame:
            case DataFrame(stream_id=sid, data=data, fin=fin):
                if len(data) > MAX_FRAME_PAYLOAD:
                    raise ValueError("data frame payload too large")
                return struct.pack(">II", sid & MAX_WINDOW, (_flags(fin) << 24) | len(data)) + data
            case SynStream():
                body = struct.pack(
                    ">IIBB", frame.stream_id, frame.associated_id, (frame.priority & 7) << 5, 0
                )
                body += self._headers.compress(frame.headers)
                return _control(SYN_STREAM, _flags(frame.fin, frame.unidirectional), body)
            case SynReply(stream_id=sid, headers=headers, fin=fin):
                body = struct.pack(">I", sid) + self._headers.compress(headers)
                return _control(SYN_REPLY, _flags(fin), body)
            case HeadersFrame(stream_id=sid, headers=headers, fin=fin):
                body = struct.pack(">I", sid) + self._headers.compress(headers)
                return _control(HEADERS, _flags(fin), body)
            case RstStream(stream_id=sid, status=status):
                return _control(RST_STREAM, 0, struct.pack(">II", sid, status))
            case Settings(entries=entries):
                body = struct.pack(">I", len(entries)) + b"".join(
                    struct.pack(">II", (fl << 24) | sid, value) for fl, sid, value in entries
                )
                return _control(SETTINGS, 0, body)
            case Ping(ping_id=pid):
                return _control(PING, 0, struct.pack(">I", pid))
            case GoAway(last_good_stream_id=last, status=status):
                return _control(GOAWAY, 0, struct.pack(">II", last, status))
            case WindowUpdate(stream_id=sid, delta=delta):
                return _control(WINDOW_UPDATE, 0, struct.pack(">II", sid, delta))
        raise TypeError(f"not a SPDY frame: {frame!r}")


class FrameDecoder:
    """Bytes to frames, incrementally: feed whatever arrived, get whole frames back.

    Owns the incoming header-decompression context. Unknown control frame types
    are skipped, as the spec asks (section 2.2.1)."""

    def __init__(self, max_payload: int = MAX_FRAME_PAYLOAD) -> None:
        self._buf = bytearray()
        self._headers = HeaderDecompressor()
        self._max = max_payload

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= 8:
            word, flags_len = struct.unpack_from(">II", self._buf, 0)
            length = flags_len & 0xFFFFFF
            if length > self._max:
                raise SpdyProtocolError(f"frame of {length} bytes exceeds {self._max}")
            if len(self._buf) < 8 + length:
                break
            payload = bytes(self._buf[8 : 8 + length])
            del self._buf[: 8 + length]
            frame = self._parse(word, flags_len >> 24, payload)
            if frame is not None:
                frames.append(frame)
        return frames

    def _parse(self, word: int, flags: int, payload: bytes) -> Frame | None:
        if not word & 0x80000000:
            return DataFrame(word & MAX_WINDOW, payload, bool(flags & FLAG_FIN))
        version, frame_type = (word >> 16) & 0x7FFF, word & 0xFFFF
        if version != VERSION:
            raise SpdyProtocolError(f"unsupported SPDY version {version}")
        parse = _PARSERS.get(frame_type)
        return None if parse is None else parse(self, flags, payload)

    def _syn_stream(self, flags: int, p: bytes) -> SynStream:
        _need(p, 10, "SYN_STREAM")
        sid, assoc, prio, _slot = struct.unpack_from(">IIBB", p, 0)
        return SynStream(
            sid & MAX_WINDOW,
            self._headers.decompress(p[10:]),
            bool(flags & FLAG_FIN),
            bool(flags & FLAG_UNIDIRECTIONAL),
            assoc & MAX_WINDOW,
            prio >> 5,
        )

    def _syn_reply(self, flags: int, p: bytes) -> SynReply:
        _need(p, 4, "SYN_REPLY")
        sid = _u32(p, 0) & MAX_WINDOW
        return SynReply(sid, self._headers.decompress(p[4:]), bool(flags & FLAG_FIN))

    def _headers_frame(self, flags: int, p: bytes) -> HeadersFrame:
        _need(p, 4, "HEADERS")
        sid = _u32(p, 0) & MAX_WINDOW
        return HeadersFrame(sid, self._headers.decompress(p[4:]), bool(flags & FLAG_FIN))

    def _rst(self, flags: int, p: bytes) -> RstStream:
        _need(p, 8, "RST_STREAM")
        sid, status = struct.unpack_from(">II", p, 0)
        return RstStream(sid & MAX_WINDOW, status)

    def _settings(self, flags: int, p: bytes) -> Settings:
        _need(p, 4, "SETTINGS")
        count = _u32(p, 0)
        _need(p, 4 + 8 * count, "SETTINGS")
        entries = []
        for i in range(count):
            id_word, value = struct.unpack_from(">II", p, 4 + 8 * i)
            entries.append((id_word >> 24, id_word & 0xFFFFFF, value))
        return Settings(entries)

    def _ping(self, flags: int, p: bytes) -> Ping:
        _need(p, 4, "PING")
        return Ping(_u32(p, 0))

    def _goaway(self, flags: int, p: bytes) -> GoAway:
        _need(p, 4, "GOAWAY")
        status = _u32(p, 4) if len(p) >= 8 else 0
        return GoAway(_u32(p, 0) & MAX_WINDOW, status)

    def _window_update(self, flags: int, p: bytes) -> WindowUpdate:
        _need(p, 8, "WINDOW_UPDATE")
        sid, delta = struct.unpack_from(">II", p, 0)
        return WindowUpdate(sid & MAX_WINDOW, delta & MAX_WINDOW)


def _need(payload: bytes, n: int, what: str) -> None:
    if len(payload) < n:
        raise SpdyProtocolError(f"{what} frame too short ({len(payload)} bytes)")


_PARSERS = {
    SYN_STREAM: FrameDecoder._syn_stream,
    SYN_REPLY: FrameDecoder._syn_reply,
    RST_STREAM: FrameDecoder._rst,
    SETTINGS: FrameDecoder._settings,
    PING: FrameDecoder._ping,
    GOAWAY: FrameDecoder._goaway,
    HEADERS: FrameDecoder._headers_frame,
    WINDOW_UPDATE: FrameDecoder._window_update,
}
