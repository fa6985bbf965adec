"""The store's contract: a revisioned key-value log with etcd's semantics.

Every write gets the next store revision. A key's `mod_revision` is the revision of
its last write; the API server uses it as the object's resourceVersion. Updates and
deletes compare on it (etcd's `Compare(ModRevision)` txn), so racing writers conflict
in the store itself. Watches resume from any revision not yet compacted.

Backends: `sqlite.SQLiteStore` (embedded default). An etcd backend implements the
same Protocol; the conformance suite in tests/unit/store runs against each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    # Number of writes to the key since its creation (etcd's `version`): 1 after create.
    version: int


@dataclass(frozen=True, slots=True)
class Event:
    type: Literal["PUT", "DELETE"]
    # For PUT: the new kv. For DELETE: the deleted key with mod_revision = the delete's revision
    # and value = the last value it had.
    kv: KeyValue
    # The kv before this event, None for a create.
    prev_kv: KeyValue | None
    # The store revision of this event (== kv.mod_revision).
    revision: int


class StoreError(Exception):
    pass


class KeyExistsError(StoreError):
    def __init__(self, key: str, current: KeyValue) -> None:
        super().__init__(f"key exists: {key}")
        self.key = key
        self.current = current


class KeyNotFoundError(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class RevisionMismatchError(StoreError):
    """The compare failed: the key's mod_revision is not the expected one."""

    def __init__(self, key: str, current: KeyValue | None) -> None:
        super().__init__(f"revision mismatch: {key}")
        self.key = key
        self.current = current


class CompactedError(StoreError):
    """The requested revision has been compacted away (the API answers 410 Gone)."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(
            f"required revision {requested} has been compacted (compact revision {compacted})"
        )
        self.requested = requested
        self.compacted = compacted


class FutureRevisionError(StoreError):
    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"required revision {requested} is a future revision (current {current})")
        self.requested = requested
        self.current = current


@dataclass(frozen=True, slots=True)
class RangeResult:
    kvs: list[KeyValue]
    # True when more keys matched than `limit` allowed.
    more: bool
    # The store revision the range was read at.
    revision: int
    # Total number of keys matching the prefix at that revision (etcd's `count`).
    count: int


class Store(Protocol):
    async def start(self) -> None:
        """Open (creating if needed) and make ready; idempotent."""

    async def close(self) -> None:
        """Flush pending writes, stop watchers (their iterators end), release files."""

    def current_revision(self) -> int:
        """The newest committed revision (0 for an empty store)."""

    def compact_revision(self) -> int:
        """Revisions <= this have been compacted away (0 if never compacted)."""

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        """The key's kv at `revision` (0: latest); None if absent. Compacted -> CompactedError."""

    async def range(
        self, prefix: str, *, start_after: str = "", limit: int = 0, revision: int = 0
    ) -> RangeResult:
        """Keys beginning with `prefix`, ordered by key, strictly after `start_after`, at most
        `limit` (0: all), as of `revision` (0: latest)."""

    async def create(self, key: str, value: bytes) -> KeyValue:
        """Create-if-absent. Raises KeyExistsError."""

    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        """Compare-and-swap on mod_revision. Raises KeyNotFoundError or RevisionMismatchError.
        expected_mod_revision 0 means unconditional (the key must still exist)."""

    async def delete(self, key: str, expected_mod_revision: int = 0) -> KeyValue:
        """Delete; returns the deleted kv (its last value, mod_revision = the delete's revision).
        Raises KeyNotFoundError or RevisionMismatchError (when expected_mod_revision != 0)."""

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[Event]:
        """Events for keys under `prefix` with revision >= start_revision, in revision order,
        then live ones. start_revision 0 means "from now" (current_revision + 1).
        Raises CompactedError (on first iteration) if start_revision <= compact_revision()."""

    async def compact(self, revision: int) -> None:
        """Drop history older than `revision` (keeping each key's latest value)."""
