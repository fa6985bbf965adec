"""The scheduling queue, as upstream's PriorityQueue:

- activeQ: pods ready to be tried, highest priority first, then FIFO;
- backoffQ: pods that failed and wait out their back-off (1 s doubling per attempt,
  capped at 10 s) before going back to activeQ;
- unschedulable pods: wait for a cluster event that could help (node added or
  changed, assigned pod deleted) and are moved back then, or after 5 minutes.

A pod that fails while a move request happened during its cycle goes to backoffQ
rather than waiting for the next event (it may have missed the one that helps).
Time comes from a Clock so tests run the back-off with a FakeClock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass, field

from pyk8s.client.clock import Clock, SystemClock
from pyk8s.scheduler.podinfo import PodInfo

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_UNSCHEDULABLE_DURATION = 300.0  # podMaxInUnschedulablePodsDuration
BACKOFF_FLUSH_PERIOD = 1.0
UNSCHEDULABLE_FLUSH_PERIOD = 30.0


@dataclass(eq=False)
class QueuedPod:
    info: PodInfo
    timestamp: float  # when it was (re)queued: the FIFO order within a priority
    attempts: int = 0
    initial_attempt: float | None = None
    unschedulable_since: float = 0.0
    cycle: int = 0  # the scheduling cycle that last popped it
    seq: int = field(default=0)

    @property
    def key(self) -> str:
        return self.info.key


class SchedulingQueue:
    def __init__(
        self,
        clock: Clock | None = None,
        *,
        initial_backoff: float = INITIAL_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        max_unschedulable: float = MAX_UNSCHEDULABLE_DURATION,
    ) -> None:
        self.clock = clock or SystemClock()
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_unschedulable = max_unschedulable
        self._seq = itertools.count()
        self._active: list[tuple[int, float, int, QueuedPod]] = []
        self._backoff: list[tuple[float, int, QueuedPod]] = []
        self.unschedulable: dict[str, QueuedPod] = {}
        # Where each known pod is: "active" | "backoff" | "unschedulable" | "inflight".
        self._where: dict[str, str] = {}
        self._entries: dict[str, QueuedPod] = {}
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self._wakeup = asyncio.Event()
        self._closed = False

    # -- sizes -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def counts(self) -> dict[str, int]:
        out = {"active": 0, "backoff": 0, "unschedulable": 0, "inflight": 0}
        for where in self._where.values():
            out[where] += 1
        return out

    def where(self, key: str) -> str | None:
        return self._where.get(key)

    # -- adding ------------------------------------------------------------------------

    def add(self, info: PodInfo) -> None:
        """A new pending pod (or an update of one already queued)."""
        entry = self._entries.get(info.key)
        if entry is not None:
            self.update(info)
            return
        entry = QueuedPod(info, self.clock.now())
        self._entries[info.key] = entry
        self._push_active(entry)

    def update(self, info: PodInfo) -> None:
        """A queued pod changed: take the new version; an unschedulable pod gets another try."""
        entry = self._entries.get(info.key)
        if entry is None:
            self.add(info)
            return
        entry.info = info
        if self._where.get(info.key) == "unschedulable":
            del self.unschedulable[info.key]
            self._requeue(entry)

    def delete(self, key: str) -> None:
        # Heaps are cleaned lazily: popped entries no longer in _entries are dropped.
        self._entries.pop(key, None)
        self._where.pop(key, None)
        self.unschedulable.pop(key, None)

    def _push_active(self, entry: QueuedPod) -> None:
        entry.seq = next(self._seq)
        self._where[entry.key] = "active"
        heapq.heappush(self._active, (-entry.info.priority, entry.timestamp, entry.seq, entry))
        self._wakeup.set()

    def _push_backoff(self, entry: QueuedPod) -> None:
        entry.seq = next(self._seq)
        self._where[entry.key] = "backoff"
        heapq.heappush(self._backoff, (self.backoff_expiry(entry), entry.seq, entry))

    # -- popping -----------------------------------------------------------------------

    def pop_nowait(self) -> QueuedPod | None:
        while self._active:
            _, _, seq, entry = heapq.heappop(self._active)
            if self._entries.get(entry.key) is not entry or entry.seq != seq:
                continue  # deleted or re-queued since
            if self._where.get(entry.key) != "active":
                continue
            self.scheduling_cycle += 1
            entry.cycle = self.scheduling_cycle
            entry.attempts += 1
            if entry.initial_attempt is None:
                entry.initial_attempt = self.clock.now()
            self._where[entry.key] = "inflight"
            return entry
        return None

    async def pop(self) -> QueuedPod:
        """The next pod to schedule; waits while activeQ is empty; QueueClosed once closed."""
        while True:
            if self._closed:
                raise QueueClosed
            entry = self.pop_nowait()
            if entry is not None:
                return entry
            self._wakeup.clear()
            await self._wakeup.wait()

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()

    # -- after a cycle -----------------------------------------------------------------

    def done(self, key: str) -> None:
        """The pod was scheduled (assumed): the queue forgets it."""
        if self._where.get(key) == "inflight":
            self.delete(key)

    def requeue_failed(self, entry: QueuedPod, *, error: bool = False) -> None:
        """A failed attempt: back-off if an error or a move happened meanwhile, else
        park it until a cluster event."""
        if self._entries.get(entry.key) is not entry:
            return  # deleted (or replaced) while in flight
        entry.timestamp = self.clock.now()
        if error or self.move_request_cycle >= entry.cycle:
            self._push_backoff(entry)
        else:
            entry.unschedulable_since = entry.timestamp
            self._where[entry.key] = "unschedulable"
            self.unschedulable[entry.key] = entry

    def readd_after_error(self, entry: QueuedPod) -> None:
        """A pod whose binding failed after it left the queue: back in, with back-off."""
        if entry.key in self._entries:
            return  # the informer re-added it meanwhile
        self._entries[entry.key] = entry
        entry.timestamp = self.clock.now()
        self._push_backoff(entry)

    def backoff_duration(self, entry: QueuedPod) -> float:
        duration = self.initial_backoff
        for _ in range(1, entry.attempts):
            duration *= 2
            if duration > self.max_backoff:
                return self.max_backoff
        return duration

    def backoff_expiry(self, entry: QueuedPod) -> float:
        return entry.timestamp + self.backoff_duration(entry)

    def _requeue(self, entry: QueuedPod) -> None:
        if self.backoff_expiry(entry) > self.clock.now():
            self._push_backoff(entry)
        else:
            self._push_active(entry)

    # -- cluster events ----------------------------------------------------------------

    def move_all_to_active_or_backoff(self, event: str = "") -> None:
        """A cluster event that may make unschedulable pods fit (NodeAdd, NodeUpdate,
        AssignedPodDelete): every parked pod gets another chance."""
        for entry in list(self.unschedulable.values()):
            self._requeue(entry)
        self.unschedulable.clear()
        self.move_request_cycle = self.scheduling_cycle

    def flush_backoff_completed(self) -> None:
        now = self.clock.now()
        while self._backoff and self._backoff[0][0] <= now:
            _, seq, entry = heapq.heappop(self._backoff)
            if self._entries.get(entry.key) is entry and entry.seq == seq:
                if self._where.get(entry.key) == "backoff":
                    self._push_active(entry)

    def flush_unschedulable_leftover(self) -> None:
        now = self.clock.now()
        for key, entry in list(self.unschedulable.items()):
            if now - entry.unschedulable_since > self.max_unschedulable:
                del self.unschedulable[key]
                self._requeue(entry)

    async def run_flushers(self) -> None:
        """Move pods whose back-off expired every second, and long-parked pods every 30 s."""
        since_unschedulable = 0.0
        while not self._closed:
            await self.clock.sleep(BACKOFF_FLUSH_PERIOD)
            self.flush_backoff_completed()
            since_unschedulable += BACKOFF_FLUSH_PERIOD
            if since_unschedulable >= UNSCHEDULABLE_FLUSH_PERIOD:
                since_unschedulable = 0.0
                self.flush_unschedulable_leftover()


class QueueClosed(Exception):
    """pop() on a closed queue."""
