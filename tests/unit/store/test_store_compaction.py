"""Conformance: compaction, and restart persistence."""

from __future__ import annotations

import asyncio
import random

import pytest

from pyk8s.store.compactor import compaction_target, run_compactor
from pyk8s.store.interface import CompactedError, FutureRevisionError, KeyValue, Store


async def _history(store: Store) -> dict[int, dict[str, KeyValue]]:
    """Random writes; returns the expected state of the store at every revision."""
    rng = random.Random(7)
    live: dict[str, KeyValue] = {}
    states: dict[int, dict[str, KeyValue]] = {}
    for i in range(300):
        key = f"/c/{rng.randrange(25):02d}"
        if key in live and rng.random() < 0.25:
            await store.delete(key)
            del live[key]
        elif key in live:
            live[key] = await store.update(key, b"%d" % i, live[key].mod_revision)
        else:
            live[key] = await store.create(key, b"%d" % i)
        states[store.current_revision()] = dict(live)
    return states


async def _assert_state_at(store: Store, revision: int, expected: dict[str, KeyValue]) -> None:
    result = await store.range("/c/", revision=revision)
    assert result.kvs == [expected[k] for k in sorted(expected)], f"at revision {revision}"
    assert result.count == len(expected)


async def test_reads_at_or_after_compact_revision_are_intact(store: Store) -> None:
    states = await _history(store)
    compact_at = 150
    await store.compact(compact_at)
    assert store.compact_revision() == compact_at
    for rev in range(compact_at, store.current_revision() + 1, 7):
        await _assert_state_at(store, rev, states[rev])
    for key, kv in states[compact_at].items():
        assert await store.get(key, revision=compact_at) == kv
    await _assert_state_at(store, 0, states[store.current_revision()])


async def test_reads_before_compact_revision_fail(store: Store) -> None:
    a = await store.create("/c/a", b"1")
    await store.update("/c/a", b"2", a.mod_revision)
    await store.create("/c/b", b"")
    await store.compact(3)
    with pytest.raises(CompactedError) as exc:
        await store.get("/c/a", revision=2)
    assert (exc.value.requested, exc.value.compacted) == (2, 3)
    with pytest.raises(CompactedError):
        await store.range("/c/", revision=1)
    assert (await store.get("/c/a", revision=3)).value == b"2"


async def test_deleted_keys_stay_deleted_after_compaction(store: Store) -> None:
    await store.create("/c/a", b"1")
    await store.delete("/c/a")
    await store.create("/c/b", b"1")
    await store.compact(store.current_revision())
    assert await store.get("/c/a") is None
    assert [kv.key for kv in (await store.range("/c/")).kvs] == ["/c/b"]
    again = await store.create("/c/a", b"2")
    assert again.version == 1 and again.create_revision == again.mod_revision == 4


async def test_compact_revision_bounds(store: Store) -> None:
    for i in range(5):
        await store.create(f"/c/{i}", b"")
    with pytest.raises(FutureRevisionError):
        await store.compact(6)
    await store.compact(3)
    with pytest.raises(CompactedError):
        await store.compact(3)
    with pytest.raises(CompactedError):
        await store.compact(2)
    await store.compact(5)
    assert store.compact_revision() == 5


async def test_watch_from_compacted_revision_fails(store: Store) -> None:
    for i in range(5):
        await store.create(f"/c/{i}", b"")
    await store.compact(3)
    for start in (1, 3):
        with pytest.raises(CompactedError) as exc:
            await anext(store.watch("/c/", start))
        assert exc.value.compacted == 3
    it = store.watch("/c/", 4)
    assert [(await anext(it)).revision for _ in range(2)] == [4, 5]
    await it.aclose()


async def test_writes_continue_after_compaction(store: Store) -> None:
    a = await store.create("/c/a", b"1")
    await store.compact(1)
    updated = await store.update("/c/a", b"2", a.mod_revision)
    assert updated == KeyValue("/c/a", b"2", 1, 2, 2)
    it = store.watch("/c/", 2)
    ev = await anext(it)
    assert ev.prev_kv == a, "prev_kv survives compaction of the previous revision"
    await it.aclose()


async def test_restart_keeps_everything_committed(backend) -> None:
    store = await backend.open()
    a = await store.create("/r/a", b"1")
    a2 = await store.update("/r/a", b"2", a.mod_revision)
    b = await store.create("/r/b", b"b")
    await store.delete("/r/b")
    await store.compact(2)
    await store.close()

    reopened = await backend.open()
    assert reopened.current_revision() == 4
    assert reopened.compact_revision() == 2
    assert await reopened.get("/r/a") == a2
    assert await reopened.get("/r/b") is None
    assert await reopened.get("/r/b", revision=3) == b
    with pytest.raises(CompactedError):
        await reopened.get("/r/a", revision=1)
    c = await reopened.create("/r/c", b"")
    assert c.mod_revision == 5, "revisions continue where they stopped"
    events = [await anext(it) for it in [reopened.watch("/r/", 3)] for _ in range(3)]
    assert [(e.type, e.revision) for e in events] == [("PUT", 3), ("DELETE", 4), ("PUT", 5)]


async def test_revision_never_reused_after_compacting_the_newest_row(backend) -> None:
    store = await backend.open()
    await store.create("/r/a", b"")
    await store.delete("/r/a")  # revision 2, a tombstone: compaction removes it
    await store.compact(2)
    await store.close()
    reopened = await backend.open()
    assert reopened.current_revision() == 2
    assert (await reopened.create("/r/a", b"")).mod_revision == 3


def test_compaction_target_keeps_an_interval_and_n_revisions() -> None:
    assert compaction_target(100, 150, 0) == 100  # upstream: the previous tick's revision
    assert compaction_target(100, 150, 80) == 70
    assert compaction_target(0, 10, 100) == -90


async def test_run_compactor_compacts_periodically(store: Store) -> None:
    for i in range(10):
        await store.create(f"/c/{i}", b"")
    task = asyncio.ensure_future(run_compactor(store, 0.01, keep_revisions=3))
    await asyncio.sleep(0.015)  # first tick: the previous tick's revision is 10
    for i in range(10, 20):
        await store.create(f"/c/{i}", b"")
    for _ in range(200):
        await asyncio.sleep(0.01)
        if store.compact_revision() == 17:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.compact_revision() == 17
    assert len((await store.range("/c/")).kvs) == 20
