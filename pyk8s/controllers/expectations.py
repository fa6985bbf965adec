"""Expectations: how many creates and deletes a controller is still waiting to see
in its informer, so that a sync running before the cache catches up does not issue
the same creates twice (upstream's ControllerExpectations)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

# Expectations older than this are considered lost (upstream: 5 minutes).
EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Expect:
    adds: int = 0
    dels: int = 0
    stamp: float = field(default_factory=time.monotonic)


class Expectations:
    def __init__(self, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.timeout = timeout
        self._by_key: dict[str, _Expect] = {}

    def expect(self, key: str, adds: int = 0, dels: int = 0) -> None:
        self._by_key[key] = _Expect(adds, dels)

    def raise_expectations(self, key: str, adds: int = 0, dels: int = 0) -> None:
        e = self._by_key.setdefault(key, _Expect())
        e.adds += adds
        e.dels += dels

    def creation_observed(self, key: str) -> None:
        e = self._by_key.get(key)
        if e is not None:
            e.adds -= 1

    def deletion_observed(self, key: str) -> None:
        e = self._by_key.get(key)
        if e is not None:
            e.dels -= 1

    def satisfied(self, key: str) -> bool:
        """True when nothing is pending (or the expectation expired): sync may act."""
        e = self._by_key.get(key)
        if e is None:
            return True
        if e.adds <= 0 and e.dels <= 0:
            return True
        return time.monotonic() - e.stamp > self.timeout

    def delete(self, key: str) -> None:
        self._by_key.pop(key, None)


class PodExpectations:
    """Creates and deletes a replica set still waits to see in the pod informer.

    Deletes are tracked by pod key (upstream's UIDTrackingControllerExpectations):
    a graceful deletion is seen twice (deletionTimestamp set, then gone) and must
    count once.
    """

    def __init__(self) -> None:
        self.counts = Expectations()
        self._deleting: dict[str, set[str]] = {}

    def satisfied(self, key: str) -> bool:
        return self.counts.satisfied(key)

    def expect_creations(self, key: str, count: int) -> None:
        self.counts.expect(key, adds=count)

    def creation_observed(self, key: str) -> None:
        self.counts.creation_observed(key)

    def expect_deletions(self, key: str, pod_keys: Sequence[str]) -> None:
        self._deleting[key] = set(pod_keys)
        self.counts.expect(key, dels=len(pod_keys))

    def deletion_observed(self, key: str, pod_key: str) -> None:
        pending = self._deleting.get(key)
        if pending is not None and pod_key in pending:
            pending.discard(pod_key)
            self.counts.deletion_observed(key)

    def delete(self, key: str) -> None:
        self.counts.delete(key)
        self._deleting.pop(key, None)
