"""How a Client's requests reach a server: the Transport seam.

A transport moves bytes: it knows nothing of Kubernetes objects, errors or
watches. `AiohttpTransport` speaks HTTPS through one aiohttp.ClientSession; an
in-process transport (driving the API server's handlers without sockets, as
httpx's ASGI transport does) only has to implement the same two methods.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import aiohttp


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = ""


@dataclass
class StreamResponse:
    """A response whose body arrives in chunks (a watch). Chunks split lines anywhere."""

    status: int
    chunks: AsyncIterator[bytes]
    content_type: str = ""

    async def read(self) -> bytes:
        return b"".join([c async for c in self.chunks])


class Transport(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes | None,
        headers: dict[str, str],
    ) -> Response: ...

    def stream(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> AbstractAsyncContextManager[StreamResponse]: ...

    async def close(self) -> None: ...


class AiohttpTransport:
    """HTTP(S) to `base_url` over one lazily created aiohttp session."""

    def __init__(
        self,
        base_url: str,
        ssl: ssl_module.SSLContext | bool = True,
        request_timeout: float = 60.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._ssl = ssl
        self._request_timeout = request_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None
        self._closing: set[asyncio.Future[None]] = set()

    def _get_session(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop, as aiohttp requires.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes | None,
        headers: dict[str, str],
    ) -> Response:
        timeout = aiohttp.ClientTimeout(
            total=self._request_timeout, sock_connect=self._connect_timeout
        )
        async with self._get_session().request(
            method, self.base_url + path, params=query, data=body, headers=headers, timeout=timeout
        ) as resp:
            return Response(resp.status, await resp.read(), resp.content_type)

    @asynccontextmanager
    async def stream(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> AsyncIterator[StreamResponse]:
        # A watch lasts as long as the server keeps it open: no total or read timeout.
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self._connect_timeout, sock_read=None
        )
        async with self._get_session().request(
            method, self.base_url + path, params=query, headers=headers, timeout=timeout
        ) as resp:
            self._track_close(resp)
            yield StreamResponse(resp.status, resp.content.iter_any(), resp.content_type)

    def _track_close(self, resp: aiohttp.ClientResponse) -> None:
        # A watch left mid-stream is closed, not pooled, and a TLS close finishes
        # asynchronously (aiohttp issue 1925): remember it so close() can wait for it.
        conn = resp.connection
        closed = conn.protocol.closed if conn is not None and conn.protocol is not None else None
        if closed is None or closed.done():
            return
        self._closing.add(closed)
        closed.add_done_callback(_forget_close(self._closing))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=2.0)


def _forget_close(pending: set[asyncio.Future[None]]) -> Callable[[asyncio.Future[None]], None]:
    def done(fut: asyncio.Future[None]) -> None:
        pending.discard(fut)
        if not fut.cancelled():
            fut.exception()  # retrieved, so asyncio does not log it as never retrieved

    return done
