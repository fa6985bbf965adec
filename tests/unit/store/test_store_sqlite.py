"""SQLite-specific behaviour: group commit, durability, locking, watch overflow, physical
compaction."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pyk8s.store.interface import CompactedError, StoreError
from pyk8s.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(params=[True, False], ids=["durable", "nosync"])
async def sqlite_store(request, tmp_path):
    store = SQLiteStore(str(tmp_path / "s.db"), durable=request.param)
    await store.start()
    yield store
    await store.close()


def _rows(path: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM kv").fetchone()[0]


async def test_pragmas(sqlite_store: SQLiteStore) -> None:
    conn = sqlite3.connect(sqlite_store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    # The writer's own connection is private; check the reader side sees the same mode.
    await sqlite_store.create("/a", b"")
    assert os.path.exists(sqlite_store.path + "-wal")


async def test_group_commit_batches_concurrent_writes(sqlite_store: SQLiteStore) -> None:
    before = sqlite_store.stats["commits"]
    kvs = await asyncio.gather(*(sqlite_store.create(f"/g/{i}", b"x") for i in range(200)))
    commits = sqlite_store.stats["commits"] - before
    assert sorted(kv.mod_revision for kv in kvs) == list(range(1, 201))
    assert commits <= 20, f"200 concurrent creates took {commits} transactions"
    assert sqlite_store.stats["max_batch"] >= 10


async def test_a_failed_compare_fails_only_its_own_write(sqlite_store: SQLiteStore) -> None:
    await sqlite_store.create("/dup", b"")
    results = await asyncio.gather(
        *(sqlite_store.create("/dup" if i == 5 else f"/ok/{i}", b"") for i in range(10)),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results].count("KeyExistsError") == 1
    assert (await sqlite_store.range("/ok/")).count == 9


async def test_second_store_on_the_same_file_is_refused(sqlite_store: SQLiteStore) -> None:
    other = SQLiteStore(sqlite_store.path)
    with pytest.raises(StoreError, match="in use"):
        await other.start()


async def test_closed_store_refuses_work(tmp_path) -> None:
    store = SQLiteStore(str(tmp_path / "c.db"), durable=False)
    with pytest.raises(StoreError, match="not started"):
        await store.get("/a")
    await store.start()
    await store.start()  # idempotent
    await store.create("/a", b"")
    await store.close()
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.create("/b", b"")
    with pytest.raises(StoreError, match="closed"):
        await store.get("/a")


async def test_close_flushes_queued_writes(tmp_path) -> None:
    path = str(tmp_path / "f.db")
    store = SQLiteStore(path)
    await store.start()
    writes = [asyncio.ensure_future(store.create(f"/f/{i}", b"")) for i in range(100)]
    await asyncio.sleep(0)  # every write is queued
    await store.close()
    assert all(w.done() and not w.exception() for w in writes)
    assert _rows(path) == 100


async def test_breaking_out_of_a_watch_unsubscribes(sqlite_store: SQLiteStore) -> None:
    await sqlite_store.create("/w/a", b"")
    async for _ in sqlite_store.watch("/w/", 1):
        assert sqlite_store._hub.subscriber_count() == 1
        break
    assert sqlite_store._hub.subscriber_count() == 0
    it = sqlite_store.watch("/w/", 1)
    await anext(it)
    await it.aclose()
    assert sqlite_store._hub.subscriber_count() == 0


async def test_overflowing_watcher_catches_up_from_the_log(tmp_path) -> None:
    store = SQLiteStore(str(tmp_path / "o.db"), durable=False, watch_queue_limit=5)
    await store.start()
    it = store.watch("/o/", 0)
    first = asyncio.ensure_future(anext(it))
    await asyncio.sleep(0.01)
    for i in range(3000):  # more than a replay page, so catching up takes several reads
        await store.create(f"/o/{i}", b"")
    assert store._hub.subscriber_count() == 0, "the slow watcher was dropped from the hub"
    revisions = [(await first).revision] + [(await anext(it)).revision for _ in range(2999)]
    assert revisions == list(range(1, 3001))
    await store.create("/o/live", b"")
    assert (await anext(it)).kv.key == "/o/live"
    await it.aclose()
    await store.close()


async def test_overflowed_watcher_behind_compaction_gets_compacted_error(tmp_path) -> None:
    store = SQLiteStore(str(tmp_path / "o.db"), durable=False, watch_queue_limit=5)
    await store.start()
    it = store.watch("/o/", 0)
    first = asyncio.ensure_future(anext(it))
    await asyncio.sleep(0.01)
    for i in range(50):
        await store.create(f"/o/{i}", b"")
    await first
    received = [await anext(it) for _ in range(5)]  # what was queued before the overflow
    assert [e.revision for e in received] == [2, 3, 4, 5, 6]
    await store.compact(40)
    with pytest.raises(CompactedError):
        await anext(it)
    await store.close()


async def test_compaction_physically_removes_superseded_rows(sqlite_store: SQLiteStore) -> None:
    kv = await sqlite_store.create("/p/a", b"0")
    for i in range(50):
        kv = await sqlite_store.update("/p/a", b"%d" % i, kv.mod_revision)
    await sqlite_store.create("/p/b", b"")
    await sqlite_store.delete("/p/b")
    await sqlite_store.create("/p/c", b"")
    assert _rows(sqlite_store.path) == 54
    await sqlite_store.compact(sqlite_store.current_revision())
    assert _rows(sqlite_store.path) == 2  # the latest /p/a and /p/c
    assert sqlite_store.stats["compacted_rows"] == 52


async def test_interrupted_compaction_resumes_at_start(tmp_path) -> None:
    path = str(tmp_path / "r.db")
    store = SQLiteStore(path, durable=False)
    await store.start()
    kv = await store.create("/p/a", b"")
    for _ in range(20):
        kv = await store.update("/p/a", b"", kv.mod_revision)
    await store.close()
    with sqlite3.connect(path) as conn:  # as if killed right after recording the revision
        conn.execute("INSERT INTO meta VALUES ('compact_revision', 15)")
    store = SQLiteStore(path, durable=False)
    await store.start()
    assert store.compact_revision() == 15
    await store.create("/p/z", b"")  # the writer runs a chunk between batches
    for _ in range(100):
        if store.stats["compacted_rows"]:
            break
        await asyncio.sleep(0.01)
    assert _rows(path) == 21 - 14 + 1
    await store.close()


def test_acknowledged_writes_survive_sigkill(tmp_path) -> None:
    path = str(tmp_path / "crash.db")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("crash_writer.py")), path],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    acked: list[str] = []
    assert proc.stdout is not None
    while len(acked) < 1500:
        line = proc.stdout.readline()
        assert line, f"writer exited early with {proc.wait()}"
        acked.append(line.strip())
    proc.send_signal(signal.SIGKILL)
    acked += [line.strip() for line in proc.stdout if line.endswith("\n")]
    proc.stdout.close()
    assert proc.wait() == -signal.SIGKILL

    with sqlite3.connect(path) as conn:  # recovers the WAL
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT name FROM kv")}
    missing = [key for key in acked if key not in stored]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:3]}"

    async def reopen() -> None:
        store = SQLiteStore(path)
        await store.start()
        assert store.current_revision() >= len(acked)
        assert (await store.range("/crash/")).count == len(stored)
        await store.create("/after", b"")
        await store.close()

    asyncio.run(reopen())


async def test_values_must_be_bytes_and_keys_non_empty(sqlite_store: SQLiteStore) -> None:
    with pytest.raises(TypeError):
        await sqlite_store.create("/a", "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await sqlite_store.create("/a", 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await sqlite_store.create("", b"")
    assert (await sqlite_store.create("/a", bytearray(b"ok"))).value == b"ok"
    assert sqlite_store.current_revision() == 1
