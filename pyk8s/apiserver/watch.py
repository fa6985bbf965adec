"""WATCH: a chunked stream of {"type","object"} lines from the watch cache.

Without a resourceVersion (or with "0") the stream starts with ADDED for every
current object, then live events; with one it resumes after that revision, or
answers an ERROR event with 410 when the revision is older than the history held.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from pyk8s.api.resources import ResourceType
from pyk8s.apiserver import listing, response
from pyk8s.apiserver.conversion import served_raw
from pyk8s.apiserver.watchcache import CacheEvent, WatchCache, Watcher
from pyk8s.machinery import errors

BOOKMARK_INTERVAL = 60.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class _Encoder:
    """Turns cache events into wire lines, in the client's chosen representation."""

    def __init__(self, res: ResourceType, query: Any, accept: str) -> None:
        self.res = res
        self.query = query
        self.as_table = "as=Table" in accept
        self.as_metadata = "as=PartialObjectMetadata" in accept
        self.first_table = True

    def line(self, ev_type: str, ev: CacheEvent) -> bytes:
        if self.as_table:
            table = response.table(
                self.res, [ev.entry.obj], ev.rv, self.query, with_columns=self.first_table
            )
            self.first_table = False
            return orjson.dumps({"type": ev_type, "object": table}) + b"\n"
        if self.as_metadata:
            return (
                orjson.dumps({"type": ev_type, "object": response.partial_metadata(ev.entry.obj)})
                + b"\n"
            )
        raw = served_raw(self.res, ev.entry.raw)
        return b'{"type":"' + ev_type.encode() + b'","object":' + raw + b"}\n"

    def bookmark(self, rv: int, initial_end: bool = False) -> bytes:
        md: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            md["annotations"] = {INITIAL_EVENTS_END: "true"}
        obj = {"kind": self.res.kind, "apiVersion": self.res.api_version, "metadata": md}
        return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"


def _error_line(err: errors.StatusError) -> bytes:
    return orjson.dumps({"type": "ERROR", "object": err.status()}) + b"\n"


async def serve_watch(
    request: web.Request, cache: WatchCache, res: ResourceType, namespace: str, name: str
) -> web.StreamResponse:
    query = request.query
    matches = listing.make_filter(res, query)
    if name:  # a watch on one object is a watch with metadata.name=<name>
        inner = matches

        def matches(obj: dict[str, Any]) -> bool:
            return obj.get("metadata", {}).get("name") == name and (inner is None or inner(obj))

    prefix = listing.key_prefix(res, namespace)
    rv_param = query.get("resourceVersion", "")
    send_initial = query.get("sendInitialEvents") in ("true", "1")
    bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
    timeout = _timeout(query)

    if rv_param not in ("", "0"):
        try:
            wanted = int(rv_param)
        except ValueError:
            raise errors.bad_request(f'invalid resource version "{rv_param}"') from None
        await cache.wait_fresh(wanted)
    else:
        wanted = 0
        await cache.wait_fresh()

    rcache = cache.cache(res.store_prefix())
    watcher = Watcher(prefix, matches or (lambda obj: True))
    initial: list[tuple[str, CacheEvent]] = []
    gone: errors.StatusError | None = None
    # No await between reading the state and registering: no event can fall in between.
    if rv_param in ("", "0") or send_initial:
        for e in rcache.snapshot(prefix):
            if matches is None or matches(e.obj):
                initial.append(("ADDED", CacheEvent("ADDED", e, None, e.rv)))
        start_rv = cache.revision
    else:
        events = rcache.events_since(wanted, prefix)
        if events is None:
            gone = errors.gone(f"too old resource version: {wanted} ({rcache.history_floor + 1})")
        else:
            for ev in events:
                watcher.offer(ev)
        start_rv = cache.revision
    if gone is None:
        rcache.watchers.add(watcher)

    resp = web.StreamResponse(status=200)
    resp.content_type = "application/json"
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    enc = _Encoder(res, query, request.headers.get("Accept", ""))
    try:
        if gone is not None:
            await resp.write(_error_line(gone))
            return resp
        if initial:
            await resp.write(b"".join(enc.line(t, ev) for t, ev in initial))
        if send_initial and bookmarks:
            await resp.write(enc.bookmark(start_rv, initial_end=True))
        await _pump(resp, watcher, enc, cache, timeout, bookmarks)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        rcache.watchers.discard(watcher)
        watcher.close()
    return resp


def _timeout(query: Any) -> float:
    raw = query.get("timeoutSeconds", "")
    if not raw:
        return 0.0
    try:
        return max(float(raw), 0.0)
    except ValueError:
        raise errors.bad_request(f'invalid timeoutSeconds "{raw}"') from None


_BOOKMARK_DUE = object()  # queued by the bookmark timer
_DEADLINE = object()  # queued when timeoutSeconds has passed


async def _pump(
    resp: web.StreamResponse,
    watcher: Watcher,
    enc: _Encoder,
    cache: WatchCache,
    timeout: float,
    bookmarks: bool,
) -> None:
    """Write queued events until the watcher closes or the deadline. Timers only put
    markers in the queue, so waiting for the next event costs no timer of its own."""
    loop = asyncio.get_running_loop()
    queue = watcher.queue
    # [deadline timer, bookmark timer]; the bookmark timer re-arms itself.
    timers: list[asyncio.TimerHandle | None] = [None, None]
    if timeout:
        timers[0] = loop.call_later(timeout, queue.put_nowait, _DEADLINE)

    def bookmark_due() -> None:
        queue.put_nowait(_BOOKMARK_DUE)
        timers[1] = loop.call_later(BOOKMARK_INTERVAL, bookmark_due)

    if bookmarks:
        timers[1] = loop.call_later(BOOKMARK_INTERVAL, bookmark_due)
    try:
        while True:
            lines = []
            item = await queue.get()
            while True:
                if item is None or item is _DEADLINE:
                    if lines:
                        await resp.write(b"".join(lines))
                    return  # dropped (too slow), server stopping, or timeoutSeconds reached
                if item is _BOOKMARK_DUE:
                    lines.append(enc.bookmark(cache.revision))
                else:
                    lines.append(enc.line(item.type, item))
                if queue.empty():
                    break
                item = queue.get_nowait()
            # Everything already queued goes out in one write.
            await resp.write(b"".join(lines))
    finally:
        for t in timers:
            if t is not None:
                t.cancel()
