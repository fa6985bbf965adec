"""The controller work queue: client-go's semantics on asyncio.

Two sets carry the guarantees:

- `dirty`: keys that need processing. Adding a key already dirty is a no-op, so a
  burst of events for one object collapses into one sync.
- `processing`: keys a worker holds between `get()` and `done()`. A key added
  meanwhile is only marked dirty; `done()` puts it back in the queue. So one key is
  never synced by two workers at once, yet no change is lost.

asyncio needs no lock, but still needs both sets: workers interleave at every await.

Typical worker::

    while True:
        try:
            key = await queue.get()
        except ShutDown:
            return
        try:
            await sync(key)
            queue.forget(key)
        except Exception:
            queue.add_rate_limited(key)
        finally:
            queue.done(key)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Hashable

from pyk8s.client.clock import Clock, SystemClock
from pyk8s.client.ratelimit import RateLimiter, default_controller_rate_limiter


class ShutDown(Exception):
    """get() on a queue that is shut down and has nothing left to hand out."""


class WorkQueue:
    def __init__(
        self,
        name: str = "",
        *,
        clock: Clock | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.name = name
        self.clock = clock or SystemClock()
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(self.clock)
        self._queue: deque[Hashable] = deque()
        self.dirty: set[Hashable] = set()
        self.processing: set[Hashable] = set()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        # Delayed adds: key -> the earliest time it is due, and the timer task that
        # will add it then. A later add_after for a key already waiting keeps the earlier time.
        self._waiting: dict[Hashable, float] = {}
        self._timers: set[asyncio.Task[None]] = set()
        self._drained = asyncio.Event()

    # -- adding -------------------------------------------------------------

    def add(self, key: Hashable) -> None:
        """Mark `key` as needing processing (no-op if it already does)."""
        if self._shutting_down or key in self.dirty:
            return
        self.dirty.add(key)
        if key in self.processing:
            return  # done() will requeue it
        self._queue.append(key)
        self._wake_one()

    def add_after(self, key: Hashable, delay: float) -> None:
        """Add `key` once `delay` seconds have passed on the queue's clock."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        due = self.clock.now() + delay
        current = self._waiting.get(key)
        if current is not None and current <= due:
            return
        self._waiting[key] = due
        task = asyncio.get_running_loop().create_task(self._add_when_due(key, due, delay))
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    def add_rate_limited(self, key: Hashable) -> None:
        """Add `key` after the rate limiter's delay (one more failure counted)."""
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: Hashable) -> None:
        """The key was processed successfully: reset its retry back-off."""
        self.rate_limiter.forget(key)

    def num_requeues(self, key: Hashable) -> int:
        return self.rate_limiter.num_requeues(key)

    async def _add_when_due(self, key: Hashable, due: float, delay: float) -> None:
        await self.clock.sleep(delay)
        # A later add_after with an earlier deadline owns the key now; this timer is stale.
        if self._waiting.get(key) != due:
            return
        del self._waiting[key]
        self.add(key)

    # -- taking -------------------------------------------------------------

    async def get(self) -> Hashable:
        """Wait for a key and mark it processing. Raises ShutDown once shut down and empty."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            await self._wait_for_add()
        key = self._queue.popleft()
        self.processing.add(key)
        self.dirty.discard(key)
        return key

    def get_nowait(self) -> Hashable:
        """Take a key if one is ready; raises asyncio.QueueEmpty (or ShutDown) otherwise."""
        if not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            raise asyncio.QueueEmpty
        key = self._queue.popleft()
        self.processing.add(key)
        self.dirty.discard(key)
        return key

    def done(self, key: Hashable) -> None:
        """The worker is finished with `key`; requeue it if it was added meanwhile."""
        self.processing.discard(key)
        if key in self.dirty:
            self._queue.append(key)
            self._wake_one()
        if self._shutting_down and not self.processing:
            self._drained.set()

    async def _wait_for_add(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._getters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                self._getters.remove(fut)
            # Woken and cancelled in the same breath: hand the wake-up to another getter.
            if fut.done() and not fut.cancelled():
                self._wake_one()
            raise

    def _wake_one(self) -> None:
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    # -- lifecycle ----------------------------------------------------------

    def shut_down(self) -> None:
        """Stop accepting keys; waiting getters drain what is queued, then get ShutDown."""
        self._shutting_down = True
        for task in list(self._timers):
            task.cancel()
        self._waiting.clear()
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)
        if not self.processing:
            self._drained.set()

    async def shut_down_with_drain(self) -> None:
        """Shut down, then wait until every key handed out has been marked done."""
        self.shut_down()
        await self._drained.wait()

    def shutting_down(self) -> bool:
        return self._shutting_down

    def len(self) -> int:
        """Keys ready to be handed out (not counting those waiting on a delay or in processing)."""
        return len(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    def waiting(self) -> int:
        """Keys scheduled by add_after / add_rate_limited that are not due yet."""
        return len(self._waiting)
