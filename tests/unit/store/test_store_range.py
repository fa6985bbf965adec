"""Conformance: range reads (prefix, order, pagination, revision, count)."""

from __future__ import annotations

import pytest

from pyk8s.store.interface import FutureRevisionError, Store


async def _fill(store: Store, keys: list[str]) -> None:
    for key in keys:
        await store.create(key, key.encode())


async def test_prefix_selects_and_orders_by_key(store: Store) -> None:
    await _fill(store, ["/p/c", "/p/a", "/pb", "/q/x", "/p/b", "/p"])
    result = await store.range("/p/")
    assert [kv.key for kv in result.kvs] == ["/p/a", "/p/b", "/p/c"]
    assert [kv.value for kv in result.kvs] == [b"/p/a", b"/p/b", b"/p/c"]
    assert result.more is False
    assert result.count == 3
    assert result.revision == store.current_revision() == 6


async def test_empty_prefix_is_everything(store: Store) -> None:
    await _fill(store, ["/b", "/a", "/c/d"])
    result = await store.range("")
    assert [kv.key for kv in result.kvs] == ["/a", "/b", "/c/d"]


async def test_empty_range_reports_current_revision(store: Store) -> None:
    await _fill(store, ["/x"])
    result = await store.range("/nothing/")
    assert (result.kvs, result.more, result.count, result.revision) == ([], False, 0, 1)


async def test_non_ascii_keys_sort_and_match(store: Store) -> None:
    await _fill(store, ["/u/\u00e9", "/u/z", "/u/\U0001f600", "/u\u00ff"])
    result = await store.range("/u/")
    assert [kv.key for kv in result.kvs] == ["/u/z", "/u/\u00e9", "/u/\U0001f600"]


async def test_limit_sets_more_and_count_is_total(store: Store) -> None:
    await _fill(store, [f"/k/{i:02d}" for i in range(10)])
    result = await store.range("/k/", limit=4)
    assert [kv.key for kv in result.kvs] == ["/k/00", "/k/01", "/k/02", "/k/03"]
    assert result.more is True
    assert result.count == 10
    exact = await store.range("/k/", limit=10)
    assert len(exact.kvs) == 10 and exact.more is False and exact.count == 10


async def test_pagination_with_start_after_at_a_fixed_revision(store: Store) -> None:
    await _fill(store, [f"/k/{i:02d}" for i in range(10)])
    first = await store.range("/k/", limit=3)
    # Writes after the first page must not show up in later pages read at its revision.
    await store.create("/k/055", b"late")
    await store.delete("/k/07")
    keys, after = [kv.key for kv in first.kvs], first.kvs[-1].key
    while True:
        page = await store.range("/k/", start_after=after, limit=3, revision=first.revision)
        assert page.revision == first.revision
        assert page.count == 10
        keys += [kv.key for kv in page.kvs]
        if not page.more:
            break
        after = page.kvs[-1].key
    assert keys == [f"/k/{i:02d}" for i in range(10)]


async def test_start_after_excludes_the_key_itself(store: Store) -> None:
    await _fill(store, ["/k/a", "/k/b", "/k/c"])
    result = await store.range("/k/", start_after="/k/b")
    assert [kv.key for kv in result.kvs] == ["/k/c"]
    assert result.count == 3


async def test_range_at_revision_sees_that_state(store: Store) -> None:
    a = await store.create("/k/a", b"a1")
    await store.create("/k/b", b"b1")
    mid = store.current_revision()
    await store.update("/k/a", b"a2", a.mod_revision)
    await store.delete("/k/b")
    await store.create("/k/c", b"c1")
    then = await store.range("/k/", revision=mid)
    assert [(kv.key, kv.value) for kv in then.kvs] == [("/k/a", b"a1"), ("/k/b", b"b1")]
    assert then.revision == mid and then.count == 2
    now = await store.range("/k/")
    assert [(kv.key, kv.value) for kv in now.kvs] == [("/k/a", b"a2"), ("/k/c", b"c1")]
    assert now.kvs[0].version == 2 and now.kvs[0].create_revision == a.create_revision


async def test_deleted_keys_are_not_listed_or_counted(store: Store) -> None:
    await _fill(store, [f"/k/{i}" for i in range(5)])
    await store.delete("/k/1")
    await store.delete("/k/3")
    result = await store.range("/k/", limit=2)
    assert [kv.key for kv in result.kvs] == ["/k/0", "/k/2"]
    assert result.more is True and result.count == 3


async def test_range_at_future_revision_fails(store: Store) -> None:
    await _fill(store, ["/a"])
    with pytest.raises(FutureRevisionError):
        await store.range("/", revision=2)
