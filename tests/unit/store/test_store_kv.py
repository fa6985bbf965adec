"""Conformance: single-key writes, reads, revisions and compare-and-swap."""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.store.interface import (
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionMismatchError,
    Store,
)


async def test_empty_store(store: Store) -> None:
    assert store.current_revision() == 0
    assert store.compact_revision() == 0
    assert await store.get("/a") is None


async def test_create_then_get(store: Store) -> None:
    kv = await store.create("/registry/pods/default/nginx", b"v1")
    assert kv == KeyValue("/registry/pods/default/nginx", b"v1", 1, 1, 1)
    assert store.current_revision() == 1
    assert await store.get("/registry/pods/default/nginx") == kv


async def test_create_existing_key_fails_with_current(store: Store) -> None:
    first = await store.create("/a", b"1")
    with pytest.raises(KeyExistsError) as exc:
        await store.create("/a", b"2")
    assert exc.value.key == "/a"
    assert exc.value.current == first
    assert store.current_revision() == 1, "a failed write must not take a revision"


async def test_update_bumps_version_and_keeps_create_revision(store: Store) -> None:
    await store.create("/other", b"x")
    created = await store.create("/a", b"1")
    updated = await store.update("/a", b"2", created.mod_revision)
    assert updated == KeyValue("/a", b"2", create_revision=2, mod_revision=3, version=2)
    again = await store.update("/a", b"3", updated.mod_revision)
    assert (again.version, again.mod_revision, again.create_revision) == (3, 4, 2)
    assert await store.get("/a") == again


async def test_update_with_stale_revision_fails_with_current(store: Store) -> None:
    created = await store.create("/a", b"1")
    updated = await store.update("/a", b"2", created.mod_revision)
    with pytest.raises(RevisionMismatchError) as exc:
        await store.update("/a", b"3", created.mod_revision)
    assert exc.value.key == "/a"
    assert exc.value.current == updated
    assert await store.get("/a") == updated


async def test_unconditional_update_needs_an_existing_key(store: Store) -> None:
    created = await store.create("/a", b"1")
    updated = await store.update("/a", b"2", 0)
    assert updated.version == 2 and updated.mod_revision == created.mod_revision + 1
    with pytest.raises(KeyNotFoundError) as exc:
        await store.update("/missing", b"x", 0)
    assert exc.value.key == "/missing"


async def test_update_missing_key_with_revision_is_not_found(store: Store) -> None:
    with pytest.raises(KeyNotFoundError):
        await store.update("/missing", b"x", 7)


async def test_delete_returns_last_value_at_delete_revision(store: Store) -> None:
    created = await store.create("/a", b"1")
    updated = await store.update("/a", b"2", created.mod_revision)
    deleted = await store.delete("/a", updated.mod_revision)
    assert deleted.key == "/a"
    assert deleted.value == b"2"
    assert deleted.mod_revision == 3 == store.current_revision()
    assert deleted.create_revision == 1
    assert await store.get("/a") is None


async def test_delete_errors(store: Store) -> None:
    with pytest.raises(KeyNotFoundError):
        await store.delete("/missing")
    created = await store.create("/a", b"1")
    await store.update("/a", b"2", created.mod_revision)
    with pytest.raises(RevisionMismatchError) as exc:
        await store.delete("/a", created.mod_revision)
    assert exc.value.current is not None and exc.value.current.value == b"2"
    await store.delete("/a")  # unconditional
    with pytest.raises(KeyNotFoundError):
        await store.delete("/a")
    with pytest.raises(KeyNotFoundError):
        await store.update("/a", b"3", 0)


async def test_recreate_after_delete_starts_a_new_incarnation(store: Store) -> None:
    await store.create("/a", b"1")
    await store.delete("/a")
    again = await store.create("/a", b"new")
    assert again == KeyValue("/a", b"new", create_revision=3, mod_revision=3, version=1)


async def test_revisions_are_global_and_strictly_increasing(store: Store) -> None:
    seen = []
    for i in range(5):
        seen.append((await store.create(f"/k/{i}", b"x")).mod_revision)
        with pytest.raises(KeyExistsError):
            await store.create(f"/k/{i}", b"x")
    kv = await store.update("/k/0", b"y", seen[0])
    seen.append(kv.mod_revision)
    seen.append((await store.delete("/k/1")).mod_revision)
    assert seen == list(range(1, 8))
    assert store.current_revision() == 7


async def test_get_at_revision_reads_history(store: Store) -> None:
    v1 = await store.create("/a", b"1")
    v2 = await store.update("/a", b"2", v1.mod_revision)
    await store.create("/b", b"b")
    deleted = await store.delete("/a")
    assert await store.get("/a", revision=v1.mod_revision) == v1
    assert await store.get("/a", revision=v2.mod_revision) == v2
    assert await store.get("/a", revision=v2.mod_revision + 1) == v2
    assert await store.get("/a", revision=deleted.mod_revision) is None
    assert await store.get("/b", revision=v2.mod_revision) is None


async def test_get_at_future_revision_fails(store: Store) -> None:
    await store.create("/a", b"1")
    with pytest.raises(FutureRevisionError) as exc:
        await store.get("/a", revision=5)
    assert (exc.value.requested, exc.value.current) == (5, 1)


async def test_values_are_bytes_round_trip(store: Store) -> None:
    blob = bytes(range(256)) * 40
    await store.create("/bin", blob)
    got = await store.get("/bin")
    assert got is not None and got.value == blob


async def test_write_is_readable_once_acknowledged(store: Store) -> None:
    async def write_then_read(i: int) -> None:
        kv = await store.create(f"/ryw/{i}", str(i).encode())
        assert store.current_revision() >= kv.mod_revision
        assert await store.get(f"/ryw/{i}") == kv

    await asyncio.gather(*(write_then_read(i) for i in range(50)))


async def test_racing_updates_from_one_revision_exactly_one_wins(store: Store) -> None:
    base = await store.create("/a", b"0")
    results = await asyncio.gather(
        *(store.update("/a", f"{i}".encode(), base.mod_revision) for i in range(10)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, KeyValue)]
    losers = [r for r in results if isinstance(r, RevisionMismatchError)]
    assert len(winners) == 1 and len(losers) == 9
    assert all(loser.current == winners[0] for loser in losers)
    assert await store.get("/a") == winners[0]


async def test_racing_creates_exactly_one_wins(store: Store) -> None:
    results = await asyncio.gather(
        *(store.create("/a", f"{i}".encode()) for i in range(10)), return_exceptions=True
    )
    assert sum(isinstance(r, KeyValue) for r in results) == 1
    assert sum(isinstance(r, KeyExistsError) for r in results) == 9


async def test_concurrent_read_modify_write_loses_no_increment(store: Store) -> None:
    await store.create("/counter", b"0")

    async def incrementer() -> None:
        for _ in range(200):
            while True:
                kv = await store.get("/counter")
                assert kv is not None
                try:
                    await store.update("/counter", b"%d" % (int(kv.value) + 1), kv.mod_revision)
                    break
                except RevisionMismatchError:
                    continue

    await asyncio.gather(*(incrementer() for _ in range(8)))
    final = await store.get("/counter")
    assert final is not None
    assert int(final.value) == 1600
    assert final.version == 1601
