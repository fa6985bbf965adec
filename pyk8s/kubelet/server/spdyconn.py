"""A SPDY/3.1 connection on asyncio: streams, pings, GOAWAY and flow control.

The connection reads and writes an abstract byte transport, so the same code runs
on a raw upgraded socket and inside websocket binary messages (kubectl's
"SPDY/3.1+portforward.k8s.io" tunnel). It is symmetric: a server accepts the
peer's streams through `on_stream`, a client opens them with `open_stream`.

Flow control (SPDY/3.1 section 2.6.8). Receiving: every stream and the session
start with a 64 KiB window; as the application *consumes* data we send
WINDOW_UPDATE (per stream and for the session, stream id 0), so a compliant
sender never stalls. Sending: we track the peer's windows, and wait for them to
reopen, but only once the peer has shown it does flow control (it sent a
WINDOW_UPDATE or an initial window size). kubectl's SPDY library
(moby/spdystream) implements no flow control at all: it never sends
WINDOW_UPDATE, and waiting for one would stall every transfer past 64 KiB.
Such a peer is also free to overrun our window, so incoming data is buffered,
and the reader pauses (backpressure on the transport) when one stream holds
more than `max_buffered` unread bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from pyk8s.kubelet.server import spdy
from pyk8s.kubelet.server.spdy import (
    DataFrame,
    GoAway,
    HeadersFrame,
    Ping,
    RstStream,
    Settings,
    SynReply,
    SynStream,
    WindowUpdate,
)

log = logging.getLogger(__name__)

# Data frames we send are at most this large, so streams interleave and a
# window reopening half-way is used at once.
MAX_DATA_CHUNK = 32 * 1024


class ByteTransport(Protocol):
    """An ordered, reliable byte pipe; message boundaries carry no meaning."""

    async def read(self) -> bytes:
        """The next bytes available; b"" once the peer has closed."""
        ...

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


class StreamClosedError(ConnectionError):
    """Writing to a stream that was reset, finished, or whose connection ended."""


class _Signal:
    """Wake every waiter on each notify, without lost wake-ups: waiters check their
    condition, then wait on the current event, which notify replaces."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()

    def notify_all(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


class SpdyStream:
    """One SPDY stream: read what the peer sends, write, close (FIN) or reset."""

    def __init__(self, conn: SpdyConnection, stream_id: int, headers: spdy.Headers) -> None:
        self._conn = conn
        self.stream_id = stream_id
        self.headers = headers
        self.remote_closed = False  # peer sent FIN
        self.local_closed = False  # we sent FIN
        self.reset_received = False
        self.reset_sent = False
        self._chunks: deque[bytes] = deque()
        self.buffered = 0
        self.send_window = conn.peer_initial_window
        self.recv_window = conn.initial_recv_window
        self._unacked = 0  # consumed bytes not yet returned with WINDOW_UPDATE
        self._changed = _Signal()
        self._replied = asyncio.Event()

    def header(self, name: str) -> str:
        """The first value of a header, "" when absent (as http.Header.Get)."""
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    @property
    def is_reset(self) -> bool:
        return self.reset_received or self.reset_sent

    @property
    def finished(self) -> bool:
        return self.is_reset or (self.local_closed and self.remote_closed)

    async def read(self, max_bytes: int = -1) -> bytes:
        """The next data; b"" at the peer's FIN, on reset, or when the connection ends."""
        while not self._chunks:
            if self.remote_closed or self.is_reset:
                return b""
            await self._changed.wait()
        chunk = self._chunks.popleft()
        if 0 <= max_bytes < len(chunk):
            chunk, rest = chunk[:max_bytes], chunk[max_bytes:]
            self._chunks.appendleft(rest)
        self.buffered -= len(chunk)
        self._conn._buffer_drained.notify_all()
        await self._conn._consumed(self, len(chunk))
        return chunk

    async def write(self, data: bytes) -> None:
        """Send data, in frames the peer's windows allow."""
        view = memoryview(data)
        while view:
            sent = await self._conn._send_data(self, view)
            view = view[sent:]

    async def close(self) -> None:
        """Half-close: an empty DATA frame with FIN. Idempotent."""
        if self.local_closed or self.is_reset or self._conn.is_closed:
            return
        self.local_closed = True
        with contextlib.suppress(StreamClosedError):
            await self._conn._send(DataFrame(self.stream_id, b"", fin=True))
        self._conn._forget_if_finished(self)

    async def reset(self, status: int = spdy.CANCEL) -> None:
        """Abort both directions with RST_STREAM. Idempotent."""
        if self.is_reset:
            return
        self.reset_sent = True
        self._chunks.clear()
        self._wake()
        self._conn._forget_if_finished(self)
        if not self._conn.is_closed:
            with contextlib.suppress(StreamClosedError):
                await self._conn._send(RstStream(self.stream_id, status))

    async def wait_reply(self) -> None:
        """For streams we opened: wait for the peer's SYN_REPLY (or a reset)."""
        await self._replied.wait()
        if self.is_reset:
            raise StreamClosedError(f"stream {self.stream_id} was reset")

    # -- connection side --------------------------------------------------

    def _deliver(self, data: bytes, fin: bool) -> None:
        if data and not self.is_reset and not self.remote_closed:
            self._chunks.append(data)
            self.buffered += len(data)
        if fin:
            self.remote_closed = True
        self._wake()

    def _wake(self) -> None:
        self._changed.notify_all()


OnStream = Callable[[SpdyStream], bool]


class SpdyConnection:
    """Run `serve()` as a task; it returns when the transport closes."""

    def __init__(
        self,
        transport: ByteTransport,
        *,
        server: bool = True,
        on_stream: OnStream | None = None,
        enforce_peer_window: bool | None = None,
        initial_recv_window: int = spdy.DEFAULT_WINDOW,
        max_buffered: int = 1024 * 1024,
    ) -> None:
        self._transport = transport
        self._on_stream = on_stream
        self._encoder = spdy.FrameEncoder()
        self._decoder = spdy.FrameDecoder()
        self._write_lock = asyncio.Lock()
        self.streams: dict[int, SpdyStream] = {}
        self._next_id = 2 if server else 1
        self._last_peer_id = 0
        self._next_ping = 2 if server else 1
        self._pings: dict[int, asyncio.Future[None]] = {}
        # None: decide from the peer's behaviour (see the module docstring).
        self._enforce = enforce_peer_window
        self.peer_initial_window = spdy.DEFAULT_WINDOW
        self.initial_recv_window = initial_recv_window
        self.send_window = spdy.DEFAULT_WINDOW  # the peer's session window (3.1)
        self.recv_window = initial_recv_window
        self._session_unacked = 0
        self._max_buffered = max_buffered
        self._window_changed = _Signal()
        self._buffer_drained = _Signal()
        self.goaway_received = False
        self.goaway_sent = False
        self.is_closed = False
        self.closed = asyncio.Event()

    @property
    def enforcing_peer_window(self) -> bool:
        return bool(self._enforce)

    # -- public API ---------------------------------------------------------

    async def serve(self) -> None:
        """Read and dispatch frames until the transport ends or the peer misbehaves."""
        try:
            while not self.is_closed:
                data = await self._transport.read()
                if not data:
                    break
                await self._dispatch_all(self._decoder.feed(data))
        except spdy.SpdyProtocolError as exc:
            log.info("SPDY protocol error from peer: %s", exc)
            with contextlib.suppress(StreamClosedError):
                await self.goaway(1)
        except (ConnectionError, StreamClosedError):
            pass
        finally:
            self._teardown()

    async def open_stream(
        self, headers: Mapping[str, str | Sequence[str]], *, fin: bool = False
    ) -> SpdyStream:
        """Send SYN_STREAM; `await stream.wait_reply()` to wait for the answer."""
        if self.is_closed or self.goaway_received:
            raise StreamClosedError("connection is going away")
        sid, self._next_id = self._next_id, self._next_id + 2
        stream = SpdyStream(self, sid, spdy.normalize_headers(headers))
        stream.local_closed = fin
        self.streams[sid] = stream
        await self._send(SynStream(sid, stream.headers, fin=fin))
        return stream

    async def ping(self) -> None:
        """Send a PING and wait for the peer to echo it."""
        pid, self._next_ping = self._next_ping, self._next_ping + 2
        waiter = asyncio.get_running_loop().create_future()
        self._pings[pid] = waiter
        try:
            await self._send(Ping(pid))
            await waiter
        finally:
            self._pings.pop(pid, None)

    async def goaway(self, status: int = 0) -> None:
        if self.goaway_sent or self.is_closed:
            return
        self.goaway_sent = True
        await self._send(GoAway(self._last_peer_id, status))

    async def close(self) -> None:
        """GOAWAY, then close the transport; streams still open end as reset."""
        with contextlib.suppress(StreamClosedError):
            await self.goaway()
        self._teardown()
        with contextlib.suppress(Exception):
            await self._transport.close()

    # -- sending --------------------------------------------------------------

    async def _send(self, frame: spdy.Frame) -> None:
        async with self._write_lock:
            if self.is_closed:
                raise StreamClosedError("connection closed")
            # Encode under the lock: header compression state must follow wire order.
            data = self._encoder.encode(frame)
            try:
                await self._transport.write(data)
            except (ConnectionError, RuntimeError) as exc:
                self._teardown()
                raise StreamClosedError(str(exc)) from exc

    async def _send_data(self, stream: SpdyStream, view: memoryview) -> int:
        while True:
            if stream.local_closed or stream.is_reset or self.is_closed:
                raise StreamClosedError(f"stream {stream.stream_id} is closed for writing")
            allowed = min(stream.send_window, self.send_window) if self._enforce else len(view)
            if allowed > 0:
                break
            await self._window_changed.wait()
        n = min(len(view), allowed, MAX_DATA_CHUNK)
        stream.send_window -= n
        self.send_window -= n
        await self._send(DataFrame(stream.stream_id, bytes(view[:n])))
        return n

    async def _consumed(self, stream: SpdyStream, n: int) -> None:
        """Return consumed bytes to the peer's windows, in batches of half a window."""
        if self.is_closed or n == 0:
            return
        threshold = self.initial_recv_window // 2
        stream._unacked += n
        self._session_unacked += n
        if stream._unacked >= threshold and not (stream.remote_closed or stream.is_reset):
            delta, stream._unacked = stream._unacked, 0
            stream.recv_window += delta
            with contextlib.suppress(StreamClosedError):
                await self._send(WindowUpdate(stream.stream_id, delta))
        if self._session_unacked >= threshold:
            delta, self._session_unacked = self._session_unacked, 0
            self.recv_window += delta
            with contextlib.suppress(StreamClosedError):
                await self._send(WindowUpdate(0, delta))

    # -- receiving ------------------------------------------------------------

    async def _dispatch_all(self, frames: list[spdy.Frame]) -> None:
        for frame in frames:
            await self._dispatch(frame)

    async def _dispatch(self, frame: spdy.Frame) -> None:
        match frame:
            case DataFrame():
                await self._on_data(frame)
            case SynStream():
                await self._on_syn_stream(frame)
            case SynReply() | HeadersFrame():
                self._on_reply(frame)
            case RstStream():
                self._on_rst(frame)
            case WindowUpdate():
                self._on_window_update(frame)
            case Settings():
                self._on_settings(frame)
            case Ping(ping_id=pid):
                await self._on_ping(pid)
            case GoAway():
                self.goaway_received = True

    async def _on_data(self, frame: DataFrame) -> None:
        stream = self.streams.get(frame.stream_id)
        if stream is None:
            return  # a stream we already forgot (reset or finished): drop, as spdystream does
        stream.recv_window -= len(frame.data)
        self.recv_window -= len(frame.data)
        stream._deliver(frame.data, frame.fin)
        self._forget_if_finished(stream)
        while stream.buffered > self._max_buffered and not self.is_closed:
            await self._buffer_drained.wait()  # backpressure: stop reading the transport

    async def _on_syn_stream(self, frame: SynStream) -> None:
        sid = frame.stream_id
        own_parity = self._next_id % 2
        if sid % 2 == own_parity or sid <= self._last_peer_id or sid in self.streams:
            await self._send(RstStream(sid, spdy.PROTOCOL_ERROR))
            return
        self._last_peer_id = sid
        if self.goaway_sent:
            await self._send(RstStream(sid, spdy.REFUSED_STREAM))
            return
        stream = SpdyStream(self, sid, frame.headers)
        stream.remote_closed = frame.fin
        stream.local_closed = frame.unidirectional
        self.streams[sid] = stream
        accepted = self._on_stream(stream) if self._on_stream is not None else False
        if not accepted:
            await stream.reset(spdy.CANCEL)
            return
        stream._replied.set()
        await self._send(SynReply(sid, {}))

    def _on_reply(self, frame: SynReply | HeadersFrame) -> None:
        stream = self.streams.get(frame.stream_id)
        if stream is None:
            return
        if isinstance(frame, HeadersFrame):
            for name, values in frame.headers.items():
                stream.headers.setdefault(name, []).extend(values)
        stream._replied.set()
        if frame.fin:
            stream._deliver(b"", True)
            self._forget_if_finished(stream)

    def _on_rst(self, frame: RstStream) -> None:
        stream = self.streams.pop(frame.stream_id, None)
        if stream is None:
            return
        stream.reset_received = True
        # Data that arrived before the reset stays readable, as moby/spdystream keeps
        # it: containerd writes an exec's final Status, then resets that stream.
        stream._replied.set()
        stream._wake()
        self._buffer_drained.notify_all()
        self._window_changed.notify_all()

    def _on_window_update(self, frame: WindowUpdate) -> None:
        if self._enforce is None:
            self._enforce = True  # the peer does flow control: honour its windows
        if frame.stream_id == 0:
            self.send_window = min(self.send_window + frame.delta, spdy.MAX_WINDOW)
        elif (stream := self.streams.get(frame.stream_id)) is not None:
            stream.send_window = min(stream.send_window + frame.delta, spdy.MAX_WINDOW)
        self._window_changed.notify_all()

    def _on_settings(self, frame: Settings) -> None:
        size = frame.get(spdy.SETTINGS_INITIAL_WINDOW_SIZE)
        if size is None:
            return
        if self._enforce is None:
            self._enforce = True
        delta = size - self.peer_initial_window
        self.peer_initial_window = size
        for stream in self.streams.values():
            stream.send_window += delta
        self._window_changed.notify_all()

    async def _on_ping(self, pid: int) -> None:
        if pid % 2 != self._next_ping % 2:
            await self._send(Ping(pid))  # the peer's ping: echo it
        elif (waiter := self._pings.get(pid)) is not None and not waiter.done():
            waiter.set_result(None)

    # -- bookkeeping ------------------------------------------------------------

    def _forget_if_finished(self, stream: SpdyStream) -> None:
        if stream.finished and self.streams.get(stream.stream_id) is stream:
            del self.streams[stream.stream_id]

    def _teardown(self) -> None:
        if self.is_closed:
            return
        self.is_closed = True
        for stream in list(self.streams.values()):
            stream.remote_closed = True
            stream._replied.set()
            stream._wake()
        self.streams.clear()
        for waiter in self._pings.values():
            if not waiter.done():
                waiter.set_exception(StreamClosedError("connection closed"))
        self._window_changed.notify_all()
        self._buffer_drained.notify_all()
        self.closed.set()
