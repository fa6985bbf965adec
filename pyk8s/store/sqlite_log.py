"""The SQLite log's schema, connections, row decoding and read queries.

After kine: one append-only table whose row id is the store revision. Each write
appends a row; a key's state at revision R is its newest row with id <= R (absent if
that row is a delete tombstone). Columns:

- name: the key
- created: this row creates the key (first write, or first write after a delete)
- deleted: this row is a delete tombstone (value = the last value the key had)
- create_revision: the revision that created this incarnation of the key
- prev_revision: the id of the key's previous row (0 for the first ever). The UNIQUE
  (name, prev_revision) index makes two writes racing from the same revision conflict in
  the database itself, whatever the code above it does.
- version: etcd's version: writes since creation (1 after create; a tombstone keeps the
  version of the value it deleted)
- value, old_value: the new value, and the previous value (for watch events' prev_kv,
  even after the previous row is compacted away)

Compaction (see sqlite_writer) deletes rows superseded at or before the compact revision.
"""

from __future__ import annotations

import sqlite3

from pyk8s.store.interface import Event, KeyValue

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    version INTEGER NOT NULL,
    value BLOB NOT NULL,
    old_value BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS kv_name_prev_revision ON kv (name, prev_revision);
-- (name, id) finds a key's row at a revision; `deleted` rides along so that counting
-- live keys never touches the table.
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id, deleted);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

COLUMNS = "id, name, created, deleted, create_revision, prev_revision, version, value, old_value"
# Row tuple positions, in COLUMNS order.
ID, NAME, CREATED, DELETED, CREATE_REV, PREV_REV, VERSION, VALUE, OLD_VALUE = range(9)

Row = tuple  # (id, name, created, deleted, create_revision, prev_revision, version, value, old)

META_COMPACT = "compact_revision"
# How far physical compaction has got; below compact_revision after a crash mid-compaction.
META_COMPACTED_THROUGH = "compacted_through"


def connect(path: str, *, durable: bool) -> sqlite3.Connection:
    # isolation_level=None: autocommit; the writer issues BEGIN/COMMIT itself, and each
    # reader statement sees the newest committed snapshot.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    # FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss.
    conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'OFF'}")
    return conn


def init_schema(conn: sqlite3.Connection) -> None:
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise sqlite3.OperationalError(f"could not enable WAL mode (got {mode})")
    conn.executescript(SCHEMA)


def read_meta(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else 0


def write_meta(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def last_revision(conn: sqlite3.Connection) -> int:
    """The highest revision ever assigned (AUTOINCREMENT never reuses one, even if
    compaction removed the row)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'kv'").fetchone()
    return row[0] if row else 0


def kv_of(row: Row) -> KeyValue:
    return KeyValue(row[NAME], row[VALUE], row[CREATE_REV], row[ID], row[VERSION])


def event_of(row: Row) -> Event:
    kv = kv_of(row)
    if row[CREATED]:
        return Event("PUT", kv, None, kv.mod_revision)
    if row[DELETED]:
        prev = KeyValue(kv.key, kv.value, kv.create_revision, row[PREV_REV], kv.version)
        return Event("DELETE", kv, prev, kv.mod_revision)
    prev = KeyValue(kv.key, row[OLD_VALUE], kv.create_revision, row[PREV_REV], kv.version - 1)
    return Event("PUT", kv, prev, kv.mod_revision)


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no
    bound). Code point order equals SQLite's BINARY (UTF-8 byte) order."""
    while prefix:
        code = ord(prefix[-1]) + 1
        if code == 0xD800:  # surrogates cannot be stored; skip past them
            code = 0xE000
        if code <= 0x10FFFF:
            return prefix[:-1] + chr(code)
        prefix = prefix[:-1]
    return None


def _prefix_clause(column: str, prefix: str) -> tuple[str, list[object]]:
    end = prefix_end(prefix)
    if end is None:
        return f"{column} >= ?", [prefix]
    return f"{column} >= ? AND {column} < ?", [prefix, end]


# -- reads (each runs on a reader connection, off the event loop) --------------------------


def get_row(conn: sqlite3.Connection, key: str, revision: int) -> Row | None:
    return conn.execute(
        f"SELECT {COLUMNS} FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1",
        (key, revision),
    ).fetchone()


# A row is live at revision R when it is its key's newest row <= R and not a tombstone.
_LIVE_AT = (
    "k.id = (SELECT MAX(l.id) FROM kv AS l WHERE l.name = k.name AND l.id <= ?) AND k.deleted = 0"
)


def range_rows(
    conn: sqlite3.Connection, prefix: str, start_after: str, limit: int, revision: int
) -> list[Row]:
    """Live rows under `prefix` at `revision`, by key, after `start_after`; limit 0: all."""
    where, args = _prefix_clause("k.name", prefix)
    sql = (
        f"SELECT {COLUMNS} FROM kv AS k WHERE {where} AND k.name > ? AND {_LIVE_AT} "
        "ORDER BY k.name LIMIT ?"
    )
    return conn.execute(sql, [*args, start_after, revision, limit or -1]).fetchall()


def count_live(conn: sqlite3.Connection, prefix: str, revision: int) -> int:
    where, args = _prefix_clause("k.name", prefix)
    sql = f"SELECT COUNT(*) FROM kv AS k WHERE {where} AND {_LIVE_AT}"
    return conn.execute(sql, [*args, revision]).fetchone()[0]


def history_rows(
    conn: sqlite3.Connection, prefix: str, from_rev: int, to_rev: int, limit: int
) -> list[Row]:
    """Rows for keys under `prefix` with from_rev <= id <= to_rev, in revision order."""
    # "+name" keeps the planner on the primary key: replays usually cover a short
    # revision span, and the rows must come out in id order anyway.
    where, args = _prefix_clause("+name", prefix)
    sql = f"SELECT {COLUMNS} FROM kv WHERE id BETWEEN ? AND ? AND {where} ORDER BY id LIMIT ?"
    return conn.execute(sql, [from_rev, to_rev, *args, limit]).fetchall()


def range_page(
    conn: sqlite3.Connection, prefix: str, start_after: str, limit: int, revision: int
) -> tuple[list[Row], bool, int]:
    """(rows, more, count) for Store.range, all read at `revision`."""
    rows = range_rows(conn, prefix, start_after, limit + 1 if limit else 0, revision)
    more = bool(limit) and len(rows) > limit
    if more:
        rows = rows[:limit]
    if not more and not start_after:
        return rows, False, len(rows)  # every matching key is in hand
    return rows, more, count_live(conn, prefix, revision)
