"""Conformance: watch (replay from the log, live events, the boundary between them)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from pyk8s.store.interface import Event, KeyValue, Store


async def take(it: AsyncIterator[Event], n: int, timeout: float = 5.0) -> list[Event]:
    async def collect() -> list[Event]:
        return [await anext(it) for _ in range(n)]

    return await asyncio.wait_for(collect(), timeout)


async def test_replay_from_revision_then_live(store: Store) -> None:
    a = await store.create("/w/a", b"1")
    await store.update("/w/a", b"2", a.mod_revision)
    it = store.watch("/w/", 1)
    replayed = await take(it, 2)
    assert [e.revision for e in replayed] == [1, 2]
    await store.create("/w/b", b"3")
    live = await take(it, 1)
    assert live[0].revision == 3 and live[0].kv.key == "/w/b"
    await it.aclose()


async def test_start_zero_means_from_now(store: Store) -> None:
    await store.create("/w/old", b"x")
    it = store.watch("/w/", 0)
    task = asyncio.ensure_future(take(it, 1))
    await asyncio.sleep(0.01)
    await store.create("/w/new", b"y")
    events = await task
    assert [e.kv.key for e in events] == ["/w/new"]
    await it.aclose()


async def test_event_shapes(store: Store) -> None:
    created = await store.create("/w/a", b"1")
    updated = await store.update("/w/a", b"2", created.mod_revision)
    deleted = await store.delete("/w/a")
    recreated = await store.create("/w/a", b"3")
    it = store.watch("/w/", 1)
    put1, put2, gone, put3 = await take(it, 4)
    assert put1 == Event("PUT", created, None, 1)
    assert put2 == Event("PUT", updated, created, 2)
    assert gone.type == "DELETE" and gone.revision == 3
    assert gone.kv.key == "/w/a" and gone.kv.value == b"2" and gone.kv.mod_revision == 3
    assert gone.kv == deleted
    assert gone.prev_kv == updated
    assert put3 == Event("PUT", recreated, None, 4)
    await it.aclose()


async def test_prefix_filters_replay_and_live(store: Store) -> None:
    await store.create("/w/a", b"")
    await store.create("/wx", b"")
    await store.create("/w/b", b"")
    it = store.watch("/w/", 1)
    assert [e.kv.key for e in await take(it, 2)] == ["/w/a", "/w/b"]
    await store.create("/v", b"")
    await store.create("/w/c", b"")
    assert [(e.kv.key, e.revision) for e in await take(it, 1)] == [("/w/c", 5)]
    await it.aclose()


async def test_watch_from_future_revision_waits_for_it(store: Store) -> None:
    await store.create("/w/a", b"")
    it = store.watch("/w/", 4)
    task = asyncio.ensure_future(take(it, 1))
    for key in ("/w/b", "/w/c", "/w/d"):
        await store.create(key, b"")
    assert [e.revision for e in await task] == [4]
    await it.aclose()


async def test_watcher_is_offered_the_event_before_the_write_returns(store: Store) -> None:
    seen: list[int] = []

    async def consume() -> None:
        async for ev in store.watch("/w/", 0):
            seen.append(ev.revision)

    task = asyncio.ensure_future(consume())
    first = await store.create("/w/first", b"")
    while not seen:  # wait until the watcher is subscribed and live
        await asyncio.sleep(0.001)
        if not seen and store.current_revision() == first.mod_revision:
            await store.update("/w/first", b"", 0)
    for i in range(20):
        kv = await store.create(f"/w/{i}", b"")
        # No sleep: the consumer was woken by the event before this write was acknowledged.
        assert seen[-1] == kv.mod_revision
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_replay_live_boundary_under_concurrent_writes(store: Store) -> None:
    """Watchers starting at old revisions while writers run see exactly the committed
    sequence: no gap, no duplicate, in order."""
    committed: list[tuple[int, str]] = []

    async def writer(w: int) -> None:
        rng = random.Random(w)
        live: dict[str, KeyValue] = {}
        for i in range(150):
            key = f"/h/{w}/{rng.randrange(10)}"
            if key in live and rng.random() < 0.3:
                kv = await store.delete(key, live.pop(key).mod_revision)
            elif key in live:
                kv = live[key] = await store.update(key, b"%d" % i, live[key].mod_revision)
            else:
                kv = live[key] = await store.create(key, b"%d" % i)
            committed.append((kv.mod_revision, key))
            if i % 10 == 0:
                await asyncio.sleep(0)

    async def watcher(delay: float, prefix: str) -> list[tuple[int, str]]:
        await asyncio.sleep(delay)
        start = max(1, store.current_revision() - 40)
        got: list[tuple[int, str]] = []
        async for ev in store.watch(prefix, start):
            got.append((ev.revision, ev.kv.key))
            if ev.kv.key == "/h/1/end":
                break
        return [(start, "")] + got

    watchers = [
        asyncio.ensure_future(watcher(d, p))
        for d in (0.0, 0.005, 0.01, 0.02, 0.04)
        for p in ("/h/", "/h/1/")
    ]
    await asyncio.gather(*(writer(w) for w in range(4)))
    final_revision = (await store.create("/h/1/end", b"")).mod_revision  # every watcher's last
    results = await asyncio.wait_for(asyncio.gather(*watchers), 10)
    committed.sort()
    for (start, _), *got in results:
        prefix = "/h/1/" if all(k.startswith("/h/1/") for _, k in got) else "/h/"
        expected = [(r, k) for r, k in committed if r >= start and k.startswith(prefix)]
        expected.append((final_revision, "/h/1/end"))
        assert got == expected


async def test_slow_watcher_blocks_neither_writers_nor_other_watchers(store: Store) -> None:
    stalled = store.watch("/s/", 0)
    stalled_first = asyncio.ensure_future(anext(stalled))  # subscribed, then never read again
    fast = store.watch("/s/", 0)
    fast_events = asyncio.ensure_future(take(fast, 500))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(asyncio.gather(*(store.create(f"/s/{i}", b"x") for i in range(500))), 10)
    events = await fast_events
    assert [e.revision for e in events] == list(range(1, 501))
    assert (await stalled_first).revision == 1
    await stalled.aclose()
    await fast.aclose()


async def test_close_ends_watch_iterators(backend) -> None:
    store = await backend.open()
    await store.create("/c/a", b"")
    received: list[int] = []

    async def consume() -> str:
        async for ev in store.watch("/c/", 1):
            received.append(ev.revision)
        return "ended"

    task = asyncio.ensure_future(consume())
    while not received:
        await asyncio.sleep(0.001)
    await store.close()
    assert await asyncio.wait_for(task, 5) == "ended"
    assert received == [1]
