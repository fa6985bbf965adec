"""A transport that serves a Client's requests from an API server in the same event loop.

    server = APIServer(open_store(path), tokens=[token])
    async with Client.in_process(server, token) as c:
        await c.get(c.resource("v1", "namespaces"), "default")

No socket, no TLS, no HTTP parsing: each request becomes an aiohttp `web.Request`
handed to the application's own request pipeline (the middlewares, errors then
auth, then the dispatcher), and the response is captured by a writer of ours as
aiohttp's `StreamResponse.prepare`/`write`/`write_eof` emit it. So statuses,
headers (Warning, Content-Type, ...) and bodies are those the HTTP server would
send, and a watch's chunks reach the client as the handler writes them.

Why drive the application rather than talk HTTP over a socketpair: it is several
times faster, and every piece used is aiohttp's public surface or close to it:
`AppRunner.setup()` (runs the app's startup signals and freezes it, exactly as
for a TCP site, but opens no listener), `runner.server` with its
`request_factory` and `request_handler` (the app's `_make_request` and
`_handle`), and an unconnected `RequestHandler` from `runner.server()` standing
in for the connection. What the connection loop would add around the handler
(an HTTPException becoming the response, a bare 500 for anything escaping the
middlewares, prepare + write_eof) is redone in `_serve`, a dozen lines.

Connection semantics, kept as aiohttp's server has them:
- a handler runs in a task of its own; a caller cancelled or timed out mid-request
  abandons the answer but the handler finishes (aiohttp's default
  handler_cancellation=False);
- leaving a `stream()` is a dropped connection: the handler's next write raises
  ConnectionResetError; the handler is also cancelled (as with aiohttp's
  handler_cancellation=True), so a watch waiting for its next event ends now,
  where over HTTP it would linger until that event;
- a handler that fails after sending part of a body surfaces as
  aiohttp.ClientPayloadError, one that ends without any response as
  aiohttp.ServerDisconnectedError, as over HTTP.

Not emulated: content encoding (the client would decompress; bodies are handed
over as written), the socket (`request.transport` and `request.remote` are None), TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, NamedTuple

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http import HttpVersion11, RawRequestMessage
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from pyk8s.client.transport import Response, StreamResponse

if TYPE_CHECKING:
    from pyk8s.apiserver.server import APIServer

log = logging.getLogger(__name__)

# Methods after which aiohttp's client sends "Content-Length: 0" when there is no body.
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# A streaming handler's write waits once this much is queued and unread, as a
# socket write waits for the peer (aiohttp's StreamWriter drains at 64 KiB).
_HIGH_WATER = 64 * 1024
# How long leaving a stream waits for its handler to wind down.
_HANG_UP_WAIT = 5.0
_READ_LIMIT = 2**16


@dataclass
class InProcessResponse(Response):
    """A Response that also carries the server's headers (Warning, Content-Type, ...)."""

    headers: CIMultiDictProxy[str] = field(default_factory=lambda: CIMultiDictProxy(CIMultiDict()))


@dataclass
class InProcessStreamResponse(StreamResponse):
    headers: CIMultiDictProxy[str] = field(default_factory=lambda: CIMultiDictProxy(CIMultiDict()))


class InProcessTransport:
    """Serve requests with an API server's aiohttp application, in this event loop.

    `target` is an APIServer (its application is built with make_app) or a
    web.Application that nothing else runs: this transport runs its startup and
    cleanup signals. The server itself must be started (store, watch cache);
    whether it also listens on a port does not matter.
    """

    def __init__(
        self,
        target: APIServer | web.Application,
        *,
        request_timeout: float | None = None,
        host: str | None = None,
    ) -> None:
        self._target = target
        self._request_timeout = request_timeout
        self._host = host
        self._runner: web.AppRunner | None = None
        self._starting: asyncio.Future[_Pipeline] | None = None
        # Handlers running, with the sink each writes to (close() hangs them all up).
        self._tasks: dict[asyncio.Task[None], _ResponseSink] = {}

    # -- the Transport protocol -------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes | None,
        headers: dict[str, str],
    ) -> InProcessResponse:
        pipeline = await self._pipeline()
        sink = _ResponseSink(streaming=False)
        task = self._spawn(pipeline, sink, method, path, query, body, headers)
        # shield: a caller that gives up does not cancel the handler (see module doc).
        if self._request_timeout:
            async with asyncio.timeout(self._request_timeout):
                await asyncio.shield(task)
        else:
            await asyncio.shield(task)
        sink.raise_if_broken()
        return InProcessResponse(sink.status, sink.body(), sink.content_type(), sink.headers)

    @asynccontextmanager
    async def stream(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> AsyncIterator[InProcessStreamResponse]:
        pipeline = await self._pipeline()
        sink = _ResponseSink(streaming=True)
        task = self._spawn(pipeline, sink, method, path, query, None, headers)
        try:
            await sink.wait_headers()
            sink.raise_if_broken()
            yield InProcessStreamResponse(
                sink.status, sink.chunks(), sink.content_type(), sink.headers
            )
        finally:
            await _hang_up(task, sink)

    async def close(self) -> None:
        """Drop every open stream, let requests in flight finish, and clean the app up."""
        tasks = dict(self._tasks)
        for task, sink in tasks.items():
            sink.close()
            if sink.streaming:
                task.cancel()
        if tasks:
            await asyncio.wait(set(tasks), timeout=_HANG_UP_WAIT)
        runner, self._runner, self._starting = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    # -- plumbing ---------------------------------------------------------------

    async def _pipeline(self) -> _Pipeline:
        """The app's request factory and handler, set up once, on first use."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._setup())
        return await asyncio.shield(self._starting)

    async def _setup(self) -> _Pipeline:
        app = self._target if isinstance(self._target, web.Application) else self._make_app()
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()  # startup signals and freeze, as for a TCP site; no listener
        server = runner.server
        assert server is not None
        self._runner = runner
        # An unconnected protocol: the Request's view of "the connection" (no
        # transport, no peer, no TLS) and the flow-control target of its payload.
        return _Pipeline(server, server())

    def _make_app(self) -> web.Application:
        from pyk8s.apiserver.app import make_app

        server = self._target
        assert not isinstance(server, web.Application)
        if self._host is None:
            self._host = server.advertise_address
        return make_app(server)

    def _spawn(
        self,
        pipeline: _Pipeline,
        sink: _ResponseSink,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes | None,
        headers: dict[str, str],
    ) -> asyncio.Task[None]:
        message = _message(method, path, query, body, headers, self._host or "localhost")
        payload = _payload(pipeline.connection, body)
        task = asyncio.get_running_loop().create_task(_serve(pipeline, message, payload, sink))
        task.add_done_callback(sink.handler_done)
        self._tasks[task] = sink
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)


class _Pipeline(NamedTuple):
    server: web.Server  # request_factory builds a web.Request, request_handler is app._handle
    connection: web.RequestHandler


def _payload(connection: web.RequestHandler, body: bytes | None) -> StreamReader:
    if not body:
        return EMPTY_PAYLOAD
    reader = StreamReader(connection, _READ_LIMIT, loop=asyncio.get_running_loop())
    reader.feed_data(body)
    reader.feed_eof()
    return reader


async def _serve(
    pipeline: _Pipeline, message: RawRequestMessage, payload: StreamReader, sink: _ResponseSink
) -> None:
    """What aiohttp's connection loop does around the app's handler, minus the wire."""
    server = pipeline.server
    request = server.request_factory(
        message, payload, pipeline.connection, sink, asyncio.current_task()
    )
    try:
        resp = await server.request_handler(request)
    except web.HTTPException as exc:
        resp = _exception_response(exc)
    except TimeoutError:
        resp = _plain_error(HTTPStatus.GATEWAY_TIMEOUT)
    except Exception:  # noqa: BLE001 - answered with a bare 500, as aiohttp does
        log.exception("in-process request %s %s failed", message.method, message.path)
        if sink.output_size:
            return  # part of a body went out: the client sees it cut short
        resp = _plain_error(HTTPStatus.INTERNAL_SERVER_ERROR)
    with contextlib.suppress(ConnectionError):  # the client hung up
        await resp.prepare(request)
        await resp.write_eof()


async def _hang_up(task: asyncio.Task[None], sink: _ResponseSink) -> None:
    """The client side of a dropped connection: writes fail, the handler is stopped."""
    sink.close()
    if not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=_HANG_UP_WAIT)


def _message(
    method: str,
    path: str,
    query: dict[str, str],
    body: bytes | None,
    headers: dict[str, str],
    host: str,
) -> RawRequestMessage:
    """The parsed request aiohttp's server would build from what its client would send."""
    # The client's URL encoding and normalisation, then the server parser's split.
    target = URL("http://localhost" + path)
    if query:
        target = target.extend_query(query)
    url = URL.build(path=target.raw_path, query_string=target.raw_query_string, encoded=True)
    hdrs = CIMultiDict({"Host": host})
    hdrs.update(headers)
    if body:
        hdrs["Content-Length"] = str(len(body))
    elif method.upper() not in _BODYLESS_METHODS:
        hdrs["Content-Length"] = "0"
    raw = tuple((k.encode(), v.encode()) for k, v in hdrs.items())
    return RawRequestMessage(
        method.upper(),
        target.raw_path_qs,
        HttpVersion11,
        CIMultiDictProxy(hdrs),
        raw,
        False,  # should_close
        None,  # compression
        False,  # upgrade
        False,  # chunked
        url,
    )


def _exception_response(exc: web.HTTPException) -> web.StreamResponse:
    if isinstance(exc, web.StreamResponse):  # aiohttp 3: an HTTPException is a Response
        return exc
    return web.Response(status=exc.status, reason=exc.reason, text=exc.text, headers=exc.headers)


def _plain_error(status: HTTPStatus) -> web.Response:
    """aiohttp's own answer to a handler that raised past every middleware (a text body
    for a 500, none for a 504)."""
    text = ""
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        text = f"{status.value} {status.phrase}\n\n{status.description}"
    return web.Response(status=status.value, text=text, content_type="text/plain")


def _content_type(headers: CIMultiDictProxy[str]) -> str:
    """The media type as aiohttp's ClientResponse.content_type reports it."""
    raw = headers.get("Content-Type")
    if raw is None:
        return "application/octet-stream"
    return raw.split(";", 1)[0].strip().lower()


class _ResponseSink(AbstractStreamWriter):
    """The response writer a handler's StreamResponse writes to, read by the client.

    In request mode the body is collected and read once the handler is done; in
    streaming mode each write is handed to the reader as it happens, with a
    bounded backlog, and a closed reader makes writes fail as a closed socket does.
    """

    def __init__(self, streaming: bool) -> None:
        self.status = 0
        self.headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())
        self.streaming = streaming
        self._chunks: list[bytes] = []
        self._eof = False
        self._closed = False
        self._done = False
        self._headers_seen: asyncio.Future[None] | None = None
        self._readable: asyncio.Event | None = None
        self._drained: asyncio.Event | None = None
        if streaming:
            self._headers_seen = asyncio.get_running_loop().create_future()
            self._readable = asyncio.Event()
            self._drained = asyncio.Event()
            self._drained.set()

    # -- writer side (aiohttp's StreamResponse calls these) -----------------------

    async def write_headers(self, status_line: str, headers: CIMultiDict[str]) -> None:
        self._check_open()
        self.status = int(status_line.split(" ", 2)[1])
        self.headers = CIMultiDictProxy(CIMultiDict(headers))
        if self._headers_seen is not None and not self._headers_seen.done():
            self._headers_seen.set_result(None)

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        self._check_open()
        if not chunk:
            return
        data = bytes(chunk)
        self._chunks.append(data)
        self.output_size += len(data)
        self.buffer_size += len(data)
        if self._readable is not None:
            self._readable.set()
        if self.buffer_size > _HIGH_WATER:
            await self.drain()

    async def write_eof(self, chunk: bytes = b"") -> None:
        if chunk:
            await self.write(chunk)
        self._check_open()
        self._eof = True
        if self._readable is not None:
            self._readable.set()

    async def drain(self) -> None:
        if self._drained is not None and self.buffer_size > _HIGH_WATER:
            self._drained.clear()
            await self._drained.wait()
            self._check_open()

    def enable_compression(self, encoding: str = "deflate", strategy: int | None = None) -> None:
        """Bodies are handed over as the client would see them after decoding."""

    def enable_chunking(self) -> None:
        """Chunk framing is a wire matter; writes are delivered as they are."""

    def _check_open(self) -> None:
        if self._closed:
            raise aiohttp.ClientConnectionResetError("Cannot write to closing transport")

    # -- reader side (the transport) --------------------------------------------

    def handler_done(self, _task: asyncio.Task[None]) -> None:
        """The handler task ended, however it ended: wake a waiting reader."""
        self._done = True
        if self._headers_seen is not None and not self._headers_seen.done():
            self._headers_seen.set_result(None)
        if self._readable is not None:
            self._readable.set()

    async def wait_headers(self) -> None:
        assert self._headers_seen is not None
        await self._headers_seen

    def raise_if_broken(self) -> None:
        if not self.status:
            raise aiohttp.ServerDisconnectedError()
        if not self.streaming and not self._eof:
            raise aiohttp.ClientPayloadError("Response payload is not completed")

    def body(self) -> bytes:
        return b"".join(self._chunks)

    def content_type(self) -> str:
        return _content_type(self.headers)

    async def chunks(self) -> AsyncIterator[bytes]:
        """Each batch of writes as it arrives, until the handler's write_eof."""
        assert self._readable is not None and self._drained is not None
        while True:
            if self._chunks:
                data = b"".join(self._chunks)
                self._chunks.clear()
                self.buffer_size = 0
                self._drained.set()
                yield data
                continue
            if self._eof:
                return
            if self._done or self._closed:
                raise aiohttp.ClientPayloadError("Response payload is not completed")
            self._readable.clear()
            await self._readable.wait()

    def close(self) -> None:
        """The reader is gone: later writes fail, a write waiting on backlog fails now."""
        self._closed = True
        if self._drained is not None:
            self._drained.set()
        if self._readable is not None:
            self._readable.set()
