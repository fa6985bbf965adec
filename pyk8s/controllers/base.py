"""The controller pattern every controller follows, as upstream's:

    informer events -> handler computes a key -> work queue -> sync(key)

Handlers only enqueue `namespace/name` keys; `sync` re-reads the informer caches
and converges, level-triggered and idempotent. An exception means a rate-limited
requeue; a clean return forgets the key's failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pyk8s.client import Client, Informer, SharedInformerFactory, ShutDown, WorkQueue, object_key
from pyk8s.client.clock import Clock, SystemClock
from pyk8s.controllers.events import EventRecorder

Obj = dict[str, Any]
log = logging.getLogger(__name__)


class Controller:
    """Subclasses set `name`, register informers in `setup()`, and implement `sync(key)`."""

    name = "controller"
    workers = 1

    def __init__(
        self,
        client: Client,
        factory: SharedInformerFactory,
        *,
        clock: Clock | None = None,
        **options: Any,
    ) -> None:
        self.client = client
        self.factory = factory
        self.clock = clock or SystemClock()
        self.options = options
        self.queue = WorkQueue(self.name, clock=self.clock)
        self.recorder = EventRecorder(client, self.name)
        self._tasks: list[asyncio.Task] = []

    # -- to override ------------------------------------------------------------------

    def setup(self) -> None:
        """Create informers through self.factory and add handlers that enqueue keys."""

    async def sync(self, key: str) -> None:
        raise NotImplementedError

    # -- helpers for subclasses ---------------------------------------------------------

    def informer(self, api_version: str, plural: str, **kw: Any) -> Informer:
        return self.factory.informer(self.client.resource(api_version, plural), **kw)

    def enqueue(self, obj: Obj) -> None:
        self.queue.add(object_key(obj))

    def enqueue_key(self, key: str) -> None:
        self.queue.add(key)

    def enqueue_after(self, key: str, delay: float) -> None:
        self.queue.add_after(key, delay)

    # -- running ------------------------------------------------------------------------

    def start(self) -> None:
        for i in range(self.workers):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}"))

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.sync(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - a failed sync is retried with back-off
                log.debug(
                    "%s: sync %s failed: %s",
                    self.name,
                    key,
                    e,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    async def stop(self) -> None:
        self.queue.shut_down()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
