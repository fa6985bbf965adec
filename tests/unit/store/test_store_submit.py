"""Writes of one event-loop iteration reach the SQLite writer together: one commit for
all of them, each answered on its own, and none lost when the store closes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pyk8s.store.interface import KeyExistsError
from pyk8s.store.sqlite import SQLiteStore


@pytest.fixture
async def store(tmp_path: Path):
    s = SQLiteStore(str(tmp_path / "s.db"), durable=False)
    await s.start()
    try:
        yield s
    finally:
        await s.close()


async def test_writes_of_one_iteration_share_a_commit(store: SQLiteStore) -> None:
    commits = store.stats["commits"]
    kvs = await asyncio.gather(*(store.create(f"/k/{i}", b"v") for i in range(50)))
    assert sorted(kv.mod_revision for kv in kvs) == list(
        range(kvs[0].mod_revision, kvs[0].mod_revision + 50)
    )
    assert store.stats["commits"] - commits == 1


async def test_each_write_of_a_batch_gets_its_own_answer(store: SQLiteStore) -> None:
    await store.create("/taken", b"x")
    results = await asyncio.gather(
        store.create("/new", b"a"), store.create("/taken", b"b"), return_exceptions=True
    )
    assert results[0].key == "/new"
    assert isinstance(results[1], KeyExistsError)


async def test_close_commits_writes_still_waiting_for_their_iteration(tmp_path: Path) -> None:
    s = SQLiteStore(str(tmp_path / "c.db"), durable=False)
    await s.start()
    tasks = [asyncio.create_task(s.create(f"/c/{i}", b"v")) for i in range(5)]
    await asyncio.sleep(0)  # every create is now waiting in this iteration's batch
    await s.close()
    assert all(t.result().version == 1 for t in tasks)
    again = SQLiteStore(str(tmp_path / "c.db"), durable=False)
    await again.start()
    try:
        assert len((await again.range("/c/")).kvs) == 5
    finally:
        await again.close()
