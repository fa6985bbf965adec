"""Parsing a watch response: newline-delimited JSON events, split anywhere by chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import orjson

from pyk8s.client.errors import ApiError


class WatchEvent(NamedTuple):
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: dict[str, Any]


class LineSplitter:
    """Feeds on byte chunks, returns the complete non-blank lines seen so far."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buf += chunk
        # Most chunks of a large object carry no newline: don't rescan the buffer for them.
        if b"\n" not in chunk:
            return []
        *lines, rest = self._buf.split(b"\n")
        self._buf = bytearray(rest)
        return [bytes(line) for line in lines if line.strip()]

    def flush(self) -> bytes:
        """Whatever is left after the stream ended (a last line without a newline)."""
        rest, self._buf = bytes(self._buf), bytearray()
        return rest if rest.strip() else b""


def parse_event(line: bytes) -> WatchEvent:
    """One event; an ERROR event raises its Status as ApiError."""
    doc = orjson.loads(line)
    ev_type = doc.get("type", "")
    obj = doc.get("object") or {}
    if ev_type == "ERROR":
        raise ApiError(obj)
    return WatchEvent(ev_type, obj)


async def iter_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[WatchEvent]:
    splitter = LineSplitter()
    async for chunk in chunks:
        for line in splitter.feed(chunk):
            yield parse_event(line)
    tail = splitter.flush()
    if tail:
        yield parse_event(tail)
