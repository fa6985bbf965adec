"""The SQLite store's single writer: one thread, one connection, group commit.

Callers on the event loop put an `Op` on a thread-safe queue and await its future. The
writer takes every op waiting in the queue, applies them in one transaction (each one
checked on its own: a failed compare fails only that op), commits once (one fsync for
the whole batch when durable), then, through one `call_soon_threadsafe`, hands the
committed events to the watch hub and resolves the callers' futures, in that order.

Being the only writer, it knows the next revision without asking the database and gives
each row an explicit id. A write whose caller was cancelled may still commit: as with
etcd, cancelling the wait does not cancel the write.

Compaction is logical first, physical second: `compact(R)` durably records R and
publishes it (reads below R fail from then on), then deletes superseded rows in chunks,
one transaction each, letting waiting writes in between so that a big compaction does
not stall writers. A crash mid-way resumes at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pyk8s.store import sqlite_log as log_
from pyk8s.store.interface import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionMismatchError,
    StoreError,
)

logger = logging.getLogger(__name__)

# Most ops committed in one transaction: bounds the latency a batch adds for its first op.
MAX_BATCH = 1_000
# Log rows examined per compaction transaction.
COMPACT_CHUNK = 2_000

_INSERT = f"INSERT INTO kv ({log_.COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_LATEST = f"SELECT {log_.COLUMNS} FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1"


@dataclass(slots=True)
class Op:
    kind: Literal["create", "update", "delete", "compact"]
    key: str
    value: bytes
    # update/delete: expected mod_revision (0: any); compact: the compact revision.
    revision: int
    future: asyncio.Future[Any]


# (future, result or exception) pairs, resolved together on the loop.
Outcomes = list[tuple[asyncio.Future[Any], object]]
Deliver = Callable[[list[Event], Outcomes], None]


class Writer:
    def __init__(
        self,
        conn: sqlite3.Connection,
        loop: asyncio.AbstractEventLoop,
        deliver: Deliver,
        stats: dict[str, int],
    ) -> None:
        self._conn = conn
        self._loop = loop
        self._deliver = deliver
        self._stats = stats
        self._queue: queue.SimpleQueue[Op | list[Op] | None] = queue.SimpleQueue()
        self._next = log_.last_revision(conn) + 1
        # Read by other threads: a plain int attribute, replaced atomically.
        self.compact_revision = log_.read_meta(conn, log_.META_COMPACT)
        self._compacted_through = log_.read_meta(conn, log_.META_COMPACTED_THROUGH)
        self._compact_waiters: list[asyncio.Future[Any]] = []
        self._compact_failed = False
        # Set if the thread died: later submits fail at once instead of waiting forever.
        self.failed: StoreError | None = None
        self._stopped = loop.create_future()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)

    @property
    def last_revision(self) -> int:
        """Newest revision committed to the database at open time (before any write)."""
        return self._next - 1

    def start(self) -> None:
        self._thread.start()

    def submit(self, op: Op | list[Op]) -> None:
        """Queue an op, or several at once (one wake-up of the writer thread for all)."""
        if self.failed is not None:
            raise self.failed
        self._queue.put(op)

    async def stop(self) -> None:
        """Commit everything queued so far, then end the thread and close its connection."""
        self._queue.put(None)
        await self._stopped

    # -- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            stopping = False
            while not stopping:
                ops, stopping = self._take_batch(block=not self._compaction_pending())
                self._execute(ops)
                if self._compaction_pending() and not stopping:
                    self._compact_chunk()
            # Compaction left unfinished is logically done (its revision is recorded);
            # the physical part resumes at the next start.
            self._release_compact_waiters(None)
        except BaseException as err:
            logger.exception("sqlite writer crashed")
            self._fail_queued(StoreError(f"store writer failed: {err!r}"))
            raise
        finally:
            self._conn.close()
            self._call(self._finish_stop)

    def _fail_queued(self, err: StoreError) -> None:
        """After a crash: no op may wait forever for a writer that is gone."""
        self.failed = err
        outcomes: Outcomes = []
        while True:
            try:
                op = self._queue.get_nowait()
            except queue.Empty:
                break
            for one in op if isinstance(op, list) else [op] if op is not None else []:
                outcomes.append((one.future, err))
        outcomes += [(f, err) for f in self._compact_waiters]
        self._call(self._deliver, [], outcomes)

    def _finish_stop(self) -> None:
        if not self._stopped.done():
            self._stopped.set_result(None)

    def _call(self, fn: Callable[..., None], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def _take_batch(self, block: bool) -> tuple[list[Op], bool]:
        """Every op already waiting (at most MAX_BATCH); True when the stop marker came."""
        ops: list[Op] = []
        try:
            op = self._queue.get() if block else self._queue.get_nowait()
            while True:
                if op is None:
                    return ops, True
                if isinstance(op, list):
                    ops += op
                else:
                    ops.append(op)
                if len(ops) >= MAX_BATCH:
                    return ops, False
                op = self._queue.get_nowait()
        except queue.Empty:
            return ops, False

    def _execute(self, ops: list[Op]) -> None:
        batch: list[Op] = []
        for op in ops:
            if op.kind == "compact":
                # Writes queued before the compaction commit first, in order.
                self._commit_writes(batch)
                batch = []
                self._begin_compaction(op)
            else:
                batch.append(op)
        self._commit_writes(batch)

    # -- writes -------------------------------------------------------------------------

    def _commit_writes(self, batch: list[Op]) -> None:
        if not batch:
            return
        first_revision = self._next
        events: list[Event] = []
        outcomes: Outcomes = []
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for op in batch:
                try:
                    ev = self._apply(op)
                except StoreError as err:
                    outcomes.append((op.future, err))
                else:
                    events.append(ev)
                    outcomes.append((op.future, ev.kv))
            self._conn.execute("COMMIT")
        except Exception as err:  # sqlite3.Error mostly (disk full, I/O error)
            logger.exception("sqlite write transaction failed")
            self._rollback()
            self._next = first_revision
            failure = StoreError(f"write failed: {err}")
            events, outcomes = [], [(op.future, failure) for op in batch]
        self._stats["commits"] += 1
        self._stats["writes"] += len(events)
        self._stats["max_batch"] = max(self._stats["max_batch"], len(batch))
        self._call(self._deliver, events, outcomes)

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # no transaction was open

    def _apply(self, op: Op) -> Event:
        cur: log_.Row | None = self._conn.execute(_LATEST, (op.key,)).fetchone()
        live = cur is not None and not cur[log_.DELETED]
        if op.kind == "create":
            if live:
                raise KeyExistsError(op.key, log_.kv_of(cur))
            prev = cur[log_.ID] if cur else 0
            return self._insert(op.key, 1, 0, self._next, prev, 1, op.value, None)
        if not live:
            raise KeyNotFoundError(op.key)
        if op.revision and cur[log_.ID] != op.revision:
            raise RevisionMismatchError(op.key, log_.kv_of(cur))
        create_rev, prev, version = cur[log_.CREATE_REV], cur[log_.ID], cur[log_.VERSION]
        if op.kind == "update":
            return self._insert(
                op.key, 0, 0, create_rev, prev, version + 1, op.value, cur[log_.VALUE]
            )
        return self._insert(op.key, 0, 1, create_rev, prev, version, cur[log_.VALUE], None)

    def _insert(self, *fields: Any) -> Event:
        row = (self._next, *fields)
        try:
            self._conn.execute(_INSERT, row)
        except sqlite3.IntegrityError as err:
            # The (name, prev_revision) constraint: another write from the same revision
            # got in first. Cannot happen with one writer, but the database has the last word.
            current = self._conn.execute(_LATEST, (fields[0],)).fetchone()
            raise RevisionMismatchError(fields[0], current and log_.kv_of(current)) from err
        self._next += 1
        return log_.event_of(row)

    # -- compaction ---------------------------------------------------------------------

    def _compaction_pending(self) -> bool:
        return self._compacted_through < self.compact_revision and not self._compact_failed

    def _begin_compaction(self, op: Op) -> None:
        rev = op.revision
        if rev <= self.compact_revision:
            self._call(self._deliver, [], [(op.future, CompactedError(rev, self.compact_revision))])
            return
        if rev >= self._next:
            err = FutureRevisionError(rev, self._next - 1)
            self._call(self._deliver, [], [(op.future, err)])
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            log_.write_meta(self._conn, log_.META_COMPACT, rev)
            self._conn.execute("COMMIT")
        except sqlite3.Error as err:
            self._rollback()
            self._call(self._deliver, [], [(op.future, StoreError(f"compaction failed: {err}"))])
            return
        # Published only now that it is durable, and before any row is deleted: a read
        # that might have seen deleted rows re-checks this afterwards.
        self.compact_revision = rev
        self._compact_failed = False
        self._compact_waiters.append(op.future)

    def _compact_chunk(self) -> None:
        lo = self._compacted_through + 1
        hi = min(self.compact_revision, lo + COMPACT_CHUNK - 1)
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            # Rows superseded by a row in [lo, hi] (all such rows are <= the compact
            # revision), then tombstones in [lo, hi]: a key deleted at or before the
            # compact revision has nothing left to read.
            superseded = self._conn.execute(
                "DELETE FROM kv WHERE id IN "
                "(SELECT prev_revision FROM kv WHERE id BETWEEN ? AND ? AND prev_revision > 0)",
                (lo, hi),
            ).rowcount
            tombstones = self._conn.execute(
                "DELETE FROM kv WHERE deleted = 1 AND id BETWEEN ? AND ?", (lo, hi)
            ).rowcount
            log_.write_meta(self._conn, log_.META_COMPACTED_THROUGH, hi)
            self._conn.execute("COMMIT")
        except sqlite3.Error as err:
            logger.exception("compaction failed")
            self._rollback()
            self._compact_failed = True
            self._release_compact_waiters(StoreError(f"compaction failed: {err}"))
            return
        self._compacted_through = hi
        self._stats["compacted_rows"] += superseded + tombstones
        if not self._compaction_pending():
            self._release_compact_waiters(None)

    def _release_compact_waiters(self, result: object) -> None:
        if self._compact_waiters:
            self._call(self._deliver, [], [(f, result) for f in self._compact_waiters])
            self._compact_waiters = []


def new_stats() -> dict[str, int]:
    return {"commits": 0, "writes": 0, "max_batch": 0, "compacted_rows": 0}
