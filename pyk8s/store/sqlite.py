"""The embedded store: the `Store` contract on one SQLite file (kine's design).

- The log, its schema and read queries: `sqlite_log`.
- Writes: one writer thread doing group commit (`sqlite_writer`). A write is
  acknowledged only after its transaction committed (fsynced when durable).
- Reads: a small pool of reader threads, each with its own connection (WAL lets them
  read while the writer writes), so the event loop never blocks on SQLite.
- Watch: an in-process hub fed by the writer before it acknowledges (`watchhub`), so
  when `await store.create(...)` returns, every watcher has been offered the event.

One process owns a database file at a time (an flock on `<path>.lock`): the single
writer's revision counter would otherwise be wrong. Use a store from the event loop
that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pyk8s.store import sqlite_log as log_
from pyk8s.store.interface import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyValue,
    RangeResult,
    StoreError,
)
from pyk8s.store.sqlite_writer import Op, Outcomes, Writer, new_stats
from pyk8s.store.watchhub import DEFAULT_QUEUE_LIMIT, WatchHub, WatchStream

T = TypeVar("T")

# Reader threads: SQLite releases the GIL while it works, and the machine has 2 cores.
DEFAULT_READERS = 2


class SQLiteStore:
    def __init__(
        self,
        path: str,
        *,
        durable: bool = True,
        readers: int = DEFAULT_READERS,
        watch_queue_limit: int = DEFAULT_QUEUE_LIMIT,
    ) -> None:
        """durable=False (synchronous=OFF) is for test fixtures only: a crash may lose
        acknowledged writes."""
        self.path = path
        self.durable = durable
        # commits: write transactions; writes: rows written; max_batch: largest batch;
        # compacted_rows: rows compaction removed.
        self.stats = new_stats()
        self._reader_count = readers
        self._hub = WatchHub(0, watch_queue_limit)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: Writer | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._read_conns: list[sqlite3.Connection] = []
        self._read_conns_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._start_task: asyncio.Future[None] | None = None
        self._pending: list[Op] = []  # writes of this loop iteration, not yet submitted
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._closed:
            raise StoreError("store is closed")
        if self._start_task is None:
            self._start_task = asyncio.ensure_future(self._start())
        await asyncio.shield(self._start_task)

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        conn, self._lock_fd = await asyncio.to_thread(self._open_writer_connection)
        writer = Writer(conn, loop, self._deliver, self.stats)
        self._hub.revision = writer.last_revision
        self._readers = ThreadPoolExecutor(self._reader_count, thread_name_prefix="sqlite-read")
        writer.start()
        self._loop, self._writer = loop, writer

    def _open_writer_connection(self) -> tuple[sqlite3.Connection, int]:
        lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            conn = log_.connect(self.path, durable=self.durable)
            log_.init_schema(conn)
        except BlockingIOError:
            os.close(lock_fd)
            raise StoreError(f"{self.path} is in use by another store") from None
        except BaseException:
            os.close(lock_fd)
            raise
        return conn, lock_fd

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._start_task is not None:
            with contextlib.suppress(Exception):
                await self._start_task
        if self._writer is not None:
            self._submit_pending()  # writes of this iteration go before the stop marker
            await self._writer.stop()  # commits and delivers everything queued
        self._hub.close()
        if self._readers is not None:
            await asyncio.to_thread(self._readers.shutdown, True)
        with self._read_conns_lock:
            for conn in self._read_conns:
                conn.close()
            self._read_conns.clear()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def current_revision(self) -> int:
        # The hub's revision moves in the same loop callback that publishes events and
        # acknowledges writes: reads, watches and acks all agree on it.
        return self._hub.revision

    def compact_revision(self) -> int:
        return self._writer.compact_revision if self._writer else 0

    # -- writes -------------------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        return await self._write(
            Op("create", _check_key(key), _check_value(value), 0, self._future())
        )

    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        op = Op(
            "update", _check_key(key), _check_value(value), expected_mod_revision, self._future()
        )
        return await self._write(op)

    async def delete(self, key: str, expected_mod_revision: int = 0) -> KeyValue:
        op = Op("delete", _check_key(key), b"", expected_mod_revision, self._future())
        return await self._write(op)

    async def compact(self, revision: int) -> None:
        """Returns once rows are physically gone (or the store closes meanwhile: the rest
        is done at the next start). Reads below `revision` fail as soon as it is recorded.
        Raises CompactedError if already compacted at or past `revision`."""
        current = self.current_revision()
        if revision > current:
            raise FutureRevisionError(revision, current)
        await self._write(Op("compact", "", b"", revision, self._future()))

    def _future(self) -> asyncio.Future[Any]:
        self._require_open()
        assert self._loop is not None
        return self._loop.create_future()

    async def _write(self, op: Op) -> Any:
        assert self._writer is not None and self._loop is not None
        if self._writer.failed is not None:
            raise self._writer.failed
        # Ops of one loop iteration go to the writer together: one wake-up of its
        # thread (and one hand-over of the GIL) instead of one per write.
        if not self._pending:
            self._loop.call_soon(self._submit_pending)
        self._pending.append(op)
        return await op.future

    def _submit_pending(self) -> None:
        ops, self._pending = self._pending, []
        if not ops:
            return
        assert self._writer is not None
        try:
            self._writer.submit(ops)
        except StoreError as err:
            for op in ops:
                if not op.future.done():
                    op.future.set_exception(err)

    def _deliver(self, events: list[Event], outcomes: Outcomes) -> None:
        """On the loop, after a commit: watchers first, then the writers' futures."""
        self._hub.publish(events)
        for future, result in outcomes:
            if future.done():
                continue  # the caller was cancelled; the write stands
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    # -- reads --------------------------------------------------------------------------

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        row = await self._read_at(revision, log_.get_row, key)
        if row is None or row[log_.DELETED]:
            return None
        return log_.kv_of(row)

    async def range(
        self, prefix: str, *, start_after: str = "", limit: int = 0, revision: int = 0
    ) -> RangeResult:
        if limit < 0:
            raise ValueError("limit must be >= 0")
        rev, (rows, more, count) = await self._read_at_revision(
            revision, log_.range_page, prefix, start_after, limit
        )
        return RangeResult([log_.kv_of(r) for r in rows], more, rev, count)

    def watch(self, prefix: str, start_revision: int) -> WatchStream:
        return WatchStream(
            self._hub, prefix, start_revision, self._read_history, self.compact_revision
        )

    async def _read_history(
        self, prefix: str, from_rev: int, to_rev: int, limit: int
    ) -> list[Event]:
        if self._closed:
            return []  # the stream ends when the hub closes
        rows = await self._read(log_.history_rows, prefix, from_rev, to_rev, limit)
        return [log_.event_of(r) for r in rows]

    async def _read_at(self, revision: int, fn: Callable[..., T], *args: Any) -> T:
        return (await self._read_at_revision(revision, fn, *args))[1]

    async def _read_at_revision(
        self, revision: int, fn: Callable[..., T], *args: Any
    ) -> tuple[int, T]:
        """Run `fn(conn, *args, rev)` at `revision` (0: the current one); (rev, result)."""
        while True:
            rev = self._revision_to_read(revision)
            result = await self._read(fn, *args, rev)
            # Compaction publishes its revision before deleting rows, so if it is still
            # <= rev now, nothing this read needed was gone when it ran.
            compacted = self.compact_revision()
            if rev >= compacted:
                return rev, result
            if revision:
                raise CompactedError(revision, compacted)
            # A latest read overtaken by a compaction: read again at the new latest.

    def _revision_to_read(self, revision: int) -> int:
        current = self.current_revision()
        if revision < 0:
            raise ValueError("revision must be >= 0")
        if revision == 0:
            return current
        if revision > current:
            raise FutureRevisionError(revision, current)
        compacted = self.compact_revision()
        if revision < compacted:
            raise CompactedError(revision, compacted)
        return revision

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        self._require_open()
        assert self._loop is not None
        return await self._loop.run_in_executor(self._readers, self._run_read, fn, args)

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """In a reader thread, on that thread's own connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = log_.connect(self.path, durable=self.durable)
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._read_conns_lock:
                self._read_conns.append(conn)
        return fn(conn, *args)

    def _require_open(self) -> None:
        if self._closed:
            raise StoreError("store is closed")
        if self._writer is None:
            raise StoreError("store is not started")


def _check_key(key: str) -> str:
    if not key:
        raise ValueError("key must not be empty")
    return key


def _check_value(value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"value must be bytes, not {type(value).__name__}")
    return bytes(value)
