"""The API server's watch cache: every resource's objects in memory, kept current
from one store watch, serving reads and fanning out watch events.

As upstream's cacher: each object is decoded and encoded once per write; lists and
watch events are served from those bytes. Reads that must be consistent wait until
the cache has applied the store's current revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from pyk8s.store.interface import CompactedError, Event, Store

log = logging.getLogger(__name__)

# Events kept per resource for watch resumption; older resumes fall back to the store's log.
HISTORY = 20_000
# A watcher this far behind is dropped (its client re-lists), as upstream's cacher drops
# watchers whose buffer stays full.
MAX_PENDING = 50_000


class Entry:
    """One stored object at one revision: its wire bytes, and the decoded object on demand.

    Most watchers and list requests need only the bytes; the object is decoded the
    first time a selector, printer or writer asks for it. `obj` is shared and must
    never be mutated.
    """

    __slots__ = ("key", "raw", "rv", "_obj")

    def __init__(self, key: str, obj: dict[str, Any] | None, raw: bytes, rv: int) -> None:
        self.key = key
        self.raw = raw
        self.rv = rv
        self._obj = obj

    @property
    def obj(self) -> dict[str, Any]:
        if self._obj is None:
            self._obj = orjson.loads(self.raw)
        return self._obj


@dataclass(slots=True)
class CacheEvent:
    type: str  # ADDED, MODIFIED, DELETED
    entry: Entry
    prev: Entry | None
    rv: int


# The store writes every object as {"apiVersion":..,"kind":..,"metadata":{..},..}
# (registry.encode_for_store), without a resourceVersion: it is spliced in here.
_STORED_HEAD = re.compile(rb'^\{"apiVersion":"[^"\\]*","kind":"[^"\\]*","metadata":\{')


def decode_entry(key: str, value: bytes, rv: int) -> Entry:
    head = _STORED_HEAD.match(value)
    if head is not None:
        at = head.end()
        sep = b"" if value[at : at + 1] == b"}" else b","
        raw = b"".join(
            (value[:at], b'"resourceVersion":"', str(rv).encode(), b'"', sep, value[at:])
        )
        return Entry(key, None, raw, rv)
    obj = orjson.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
    return Entry(key, obj, orjson.dumps(obj), rv)


def entry_from_store_event(ev: Event, cached_prev: Entry | None = None) -> CacheEvent:
    """The cache event for a store event. The previous state is the cached entry when it
    is the one the store names (already decoded, often), else decoded from prev_kv."""
    entry = decode_entry(ev.kv.key, ev.kv.value, ev.revision)
    prev = None
    if ev.prev_kv is not None:
        if cached_prev is not None and cached_prev.rv == ev.prev_kv.mod_revision:
            prev = cached_prev
        else:
            prev = decode_entry(ev.prev_kv.key, ev.prev_kv.value, ev.prev_kv.mod_revision)
    if ev.type == "DELETE":
        return CacheEvent("DELETED", entry, prev, ev.revision)
    created = ev.prev_kv is None and ev.kv.version == 1
    return CacheEvent("ADDED" if created else "MODIFIED", entry, prev, ev.revision)


Filter = Callable[[dict[str, Any]], bool]


@dataclass(eq=False)
class Watcher:
    """One client's watch: filtered events in a queue the HTTP handler drains."""

    prefix: str
    matches: Filter
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    closed: bool = False

    def offer(self, ev: CacheEvent) -> None:
        if self.closed:
            return
        now = self.matches(ev.entry.obj) if ev.type != "DELETED" else False
        before = ev.prev is not None and self.matches(ev.prev.obj)
        if ev.type == "DELETED":
            if before:
                self._put(ev)
            return
        if now and before:
            self._put(ev)
        elif now:
            self._put(CacheEvent("ADDED", ev.entry, ev.prev, ev.rv))
        elif before:
            # The object left this watcher's selection: to the watcher it is gone.
            self._put(CacheEvent("DELETED", ev.entry, ev.prev, ev.rv))

    def _put(self, ev: CacheEvent) -> None:
        if self.queue.qsize() >= MAX_PENDING:
            self.close()
            return
        self.queue.put_nowait(ev)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class ResourceCache:
    """The objects of one resource (all namespaces) and their recent history."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.objects: dict[str, Entry] = {}
        self.history: deque[CacheEvent] = deque()
        # Events with rv > history_floor are all in `history`.
        self.history_floor = 0
        self.watchers: set[Watcher] = set()

    def apply(self, ev: CacheEvent) -> None:
        if ev.type == "DELETED":
            self.objects.pop(ev.entry.key, None)
        else:
            self.objects[ev.entry.key] = ev.entry
        self.history.append(ev)
        if len(self.history) > HISTORY:
            self.history_floor = self.history.popleft().rv
        for w in list(self.watchers):
            w.offer(ev)
            if w.closed:
                self.watchers.discard(w)

    def snapshot(self, key_prefix: str) -> list[Entry]:
        """Current entries under key_prefix, ordered by key."""
        if key_prefix == self.prefix:
            items = self.objects.items()
        else:
            items = ((k, e) for k, e in self.objects.items() if k.startswith(key_prefix))
        return [e for _, e in sorted(items, key=lambda kv: kv[0])]

    def events_since(self, rv: int, key_prefix: str) -> list[CacheEvent] | None:
        """Buffered events after rv, or None if rv is older than the buffer holds."""
        if rv < self.history_floor:
            return None
        return [e for e in self.history if e.rv > rv and e.entry.key.startswith(key_prefix)]


class WatchCache:
    """All resources' caches, fed by a single store watch over /registry/."""

    ROOT = "/registry/"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.caches: dict[str, ResourceCache] = {}
        self.revision = 0
        # (revision, future) pairs of readers waiting for the cache to catch up.
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self._task: asyncio.Task | None = None
        self.ready = asyncio.Event()

    def cache(self, prefix: str) -> ResourceCache:
        c = self.caches.get(prefix)
        if c is None:
            c = self.caches[prefix] = ResourceCache(prefix)
            c.history_floor = self.revision
        return c

    def _cache_for_key(self, key: str) -> ResourceCache:
        # /registry/<group>/<plural>/...: the resource prefix is the first three segments.
        parts = key.split("/", 4)
        return self.cache("/".join(parts[:4]) + "/")

    async def start(self) -> None:
        result = await self.store.range(self.ROOT)
        for kv in result.kvs:
            entry = decode_entry(kv.key, kv.value, kv.mod_revision)
            self._cache_for_key(kv.key).objects[kv.key] = entry
        self.revision = result.revision
        for c in self.caches.values():
            c.history_floor = self.revision
        self._task = asyncio.create_task(self._run(result.revision + 1), name="watch-cache")
        self.ready.set()

    async def _run(self, start: int) -> None:
        while True:
            try:
                async for ev in self.store.watch(self.ROOT, start):
                    self._apply(ev)
                    start = ev.revision + 1
                return  # the store closed
            except CompactedError:
                # Fell behind a compaction: rebuild from a fresh list.
                log.warning("watch cache fell behind compaction; relisting")
                await self._relist()
                start = self.revision + 1
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep the cache alive; retry the watch
                log.exception("watch cache: store watch failed; retrying")
                await asyncio.sleep(0.1)

    async def _relist(self) -> None:
        result = await self.store.range(self.ROOT)
        fresh: dict[str, dict[str, Entry]] = {}
        for kv in result.kvs:
            entry = decode_entry(kv.key, kv.value, kv.mod_revision)
            fresh.setdefault(self._cache_for_key(kv.key).prefix, {})[kv.key] = entry
        for prefix, c in self.caches.items():
            c.objects = fresh.get(prefix, {})
            c.history.clear()
            c.history_floor = result.revision
            for w in list(c.watchers):
                w.close()
            c.watchers.clear()
        self._advance(result.revision)

    def _apply(self, ev: Event) -> None:
        rcache = self._cache_for_key(ev.kv.key)
        cev = entry_from_store_event(ev, rcache.objects.get(ev.kv.key))
        rcache.apply(cev)
        self._advance(ev.revision)

    def _advance(self, rev: int) -> None:
        self.revision = rev
        if self._waiters:
            still = []
            for target, fut in self._waiters:
                if target <= rev:
                    if not fut.done():
                        fut.set_result(None)
                else:
                    still.append((target, fut))
            self._waiters = still

    async def wait_fresh(self, rev: int | None = None, timeout: float = 3.0) -> bool:
        """Wait until the cache has applied `rev` (default: the store's current revision)."""
        target = self.store.current_revision() if rev is None else rev
        if self.revision >= target:
            return True
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((target, fut))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fut, timeout)
        return self.revision >= target

    def compacted(self, revision: int) -> None:
        """History at or below a compacted revision is gone for watchers too (410 on resume)."""
        for c in self.caches.values():
            while c.history and c.history[0].rv <= revision:
                c.history.popleft()
            c.history_floor = max(c.history_floor, revision)

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for c in self.caches.values():
            for w in list(c.watchers):
                w.close()
