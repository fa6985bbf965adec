"""Clocks: the real one, and a fake one that tests move by hand.

Work queues and informers read time only through a `Clock`, so back-off, delayed
re-queues and resync periods are tested in milliseconds: a test calls
`FakeClock.advance(seconds)` (or `advance_to_next()`, trio-style) and every sleeper
whose deadline has passed wakes up.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Monotonic wall time and asyncio.sleep."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class FakeClock:
    """Time stands still until the test advances it.

    `sleep(s)` parks the caller until `advance` moves `now()` past its deadline;
    sleepers wake in deadline order. A zero or negative sleep still yields once,
    as asyncio.sleep(0) does, so loops stay cooperative.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        await fut

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline is now due."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    def next_deadline(self) -> float | None:
        """The earliest pending sleeper's wake-up time, if any task is sleeping."""
        self._drop_cancelled()
        return self._sleepers[0][0] if self._sleepers else None

    def advance_to_next(self) -> float:
        """Jump straight to the next deadline; returns how far time moved (0 if none)."""
        deadline = self.next_deadline()
        if deadline is None:
            return 0.0
        step = max(deadline - self._now, 0.0)
        self.advance(step)
        return step

    def sleepers(self) -> int:
        """How many tasks are parked in sleep() right now."""
        self._drop_cancelled()
        return len(self._sleepers)

    def _drop_cancelled(self) -> None:
        # A cancelled sleeper leaves its future behind; it must not count as a deadline.
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        if any(f.done() for _, _, f in self._sleepers):
            self._sleepers = [s for s in self._sleepers if not s[2].done()]
            heapq.heapify(self._sleepers)
