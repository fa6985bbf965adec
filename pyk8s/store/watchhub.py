"""In-process watch fan-out for a store whose writes commit on this event loop's behalf.

The store hands every committed batch of events, in revision order, to `WatchHub.publish`
on the event loop, before it acknowledges the writes. A `WatchStream` first replays the
store's log from the revision the caller asked for, then follows the hub live:

1. subscribe (the subscription remembers `hub.revision`, the newest revision already
   published: everything after it will arrive in the subscription's queue);
2. replay the log for revisions [start, subscribed revision] in pages;
3. drain the queue, skipping anything already yielded.

Everything in 1 and 3 runs on the event loop, so there is no gap and no duplicate at the
boundary.

Slow watchers. Each subscription has its own queue, so a slow watcher never blocks the
writer or other watchers. The queue is bounded (`queue_limit` events): a watcher that
falls that far behind is unsubscribed and, like etcd's "unsynced" watchers, catches up
from the log once its consumer has drained what was queued; if the revisions it still
needs have been compacted meanwhile, its iterator raises CompactedError (the API server
answers 410 Gone and the client re-lists). Memory per watcher is thus bounded, and no
event is silently dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from pyk8s.store.interface import CompactedError, Event

# Queue markers: the hub closed; the subscription overflowed and must catch up from the log.
_CLOSED = object()
_OVERFLOW = object()

DEFAULT_QUEUE_LIMIT = 10_000
# Log rows read per replay query: bounds the memory a replay holds at once.
REPLAY_PAGE = 1_000

# (prefix, from_revision, to_revision, limit) -> events in revision order.
ReadHistory = Callable[[str, int, int, int], Awaitable[list[Event]]]


class Subscription:
    __slots__ = ("prefix", "revision", "queue", "limit")

    def __init__(self, prefix: str, revision: int, limit: int) -> None:
        self.prefix = prefix
        # The newest revision already published when this subscription was made.
        self.revision = revision
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.limit = limit


class WatchHub:
    """Live fan-out of committed events. Loop-thread only."""

    def __init__(self, revision: int = 0, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        # Newest published revision: the store's current revision as the loop sees it.
        self.revision = revision
        self.closed = False
        self.queue_limit = queue_limit
        self._by_prefix: dict[str, set[Subscription]] = {}

    def subscriber_count(self) -> int:
        return sum(len(subs) for subs in self._by_prefix.values())

    def subscribe(self, prefix: str) -> Subscription:
        sub = Subscription(prefix, self.revision, self.queue_limit)
        if self.closed:
            sub.queue.put_nowait(_CLOSED)
        else:
            self._by_prefix.setdefault(prefix, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._by_prefix.get(sub.prefix)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._by_prefix[sub.prefix]

    def publish(self, events: list[Event]) -> None:
        """Offer committed events (revision order) to every matching subscriber."""
        if not events:
            return
        self.revision = events[-1].revision
        for prefix, subs in list(self._by_prefix.items()):
            matching = [ev for ev in events if ev.kv.key.startswith(prefix)]
            if matching:
                for sub in list(subs):
                    self._offer(sub, matching)

    def _offer(self, sub: Subscription, events: list[Event]) -> None:
        if sub.queue.qsize() + len(events) > sub.limit:
            # Too far behind: stop queueing; the stream catches up from the log.
            self.unsubscribe(sub)
            sub.queue.put_nowait(_OVERFLOW)
            return
        for ev in events:
            sub.queue.put_nowait(ev)

    def close(self) -> None:
        self.closed = True
        for subs in self._by_prefix.values():
            for sub in subs:
                sub.queue.put_nowait(_CLOSED)
        self._by_prefix.clear()


class WatchStream:
    """The async iterator `Store.watch` returns.

    Breaking out of `async for` drops the last reference to the stream, and `__del__`
    unsubscribes at once (the async generator's own `finally` only runs later, from the
    loop's async-generator finalizer). `aclose()` does the same explicitly. A caller that
    keeps a reference after breaking out must call `aclose()`.
    """

    def __init__(
        self,
        hub: WatchHub,
        prefix: str,
        start_revision: int,
        read_history: ReadHistory,
        compact_revision: Callable[[], int],
    ) -> None:
        # The generator references the _Watch, never this wrapper, so dropping the
        # wrapper frees it immediately (no reference cycle to wait for).
        self._watch = _Watch(hub, prefix, read_history, compact_revision)
        self._gen = self._watch.run(start_revision)

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> Event:
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        self._watch.unsubscribe()
        await self._gen.aclose()

    def __del__(self) -> None:
        self._watch.unsubscribe()


class _Watch:
    def __init__(
        self,
        hub: WatchHub,
        prefix: str,
        read_history: ReadHistory,
        compact_revision: Callable[[], int],
    ) -> None:
        self._hub = hub
        self._prefix = prefix
        self._read_history = read_history
        self._compact_revision = compact_revision
        self._sub: Subscription | None = None

    def unsubscribe(self) -> None:
        if self._sub is not None:
            self._hub.unsubscribe(self._sub)
            self._sub = None

    async def run(self, start_revision: int) -> AsyncIterator[Event]:
        try:
            next_rev = start_revision or self._hub.revision + 1
            self._check_compacted(next_rev)
            while not self._hub.closed:
                sub = self._sub = self._hub.subscribe(self._prefix)
                async for ev in self._replay(next_rev, sub.revision):
                    yield ev
                    next_rev = ev.revision + 1
                next_rev = max(next_rev, sub.revision + 1)
                async for ev in self._follow(sub):
                    if ev.revision >= next_rev:
                        yield ev
                        next_rev = ev.revision + 1
                self.unsubscribe()
        finally:
            self.unsubscribe()

    async def _replay(self, from_rev: int, to_rev: int) -> AsyncIterator[Event]:
        while from_rev <= to_rev and not self._hub.closed:
            events = await self._read_history(self._prefix, from_rev, to_rev, REPLAY_PAGE)
            # A compaction that committed before our read may have removed rows we need.
            # Stores publish the compact revision before deleting any row, so checking
            # after the read is enough.
            self._check_compacted(from_rev)
            if self._hub.closed:
                return
            for ev in events:
                yield ev
            if len(events) < REPLAY_PAGE:
                return
            from_rev = events[-1].revision + 1

    async def _follow(self, sub: Subscription) -> AsyncIterator[Event]:
        """Live events until the hub closes (generator ends) or the queue overflowed
        (generator ends with the hub still open: the caller catches up from the log)."""
        while True:
            item = await sub.queue.get()
            if item is _OVERFLOW or item is _CLOSED or self._hub.closed:
                return
            assert isinstance(item, Event)
            yield item

    def _check_compacted(self, revision: int) -> None:
        compacted = self._compact_revision()
        if revision <= compacted:
            raise CompactedError(revision, compacted)
