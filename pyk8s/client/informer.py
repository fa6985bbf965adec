"""Informers: list + watch one resource into an indexed local cache, and tell handlers.

An Informer lists the resource, then watches from the list's resourceVersion,
applying every event to its cache (`get`, `list`, `by_index`) and then to the
registered handlers. When the stream ends it re-watches from the last version it
saw (bookmarks keep that fresh); when the server answers 410 Gone it lists again
and delivers the differences as add/update/delete, so handlers never miss a
change. Failures back off exponentially (capped) and retry: the loop only stops
when its task is cancelled.

Handlers are plain callables, called on the event loop, in order, and must not
block: the controller idiom is to compute a key and enqueue it. Handlers and
cache readers get the cached dicts themselves: treat them as read-only and
deep-copy before changing one (as with client-go's shared caches).

`SharedInformerFactory` hands every controller asking for the same resource and
selectors the same Informer, so a process watches each resource once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pyk8s.client.cache import Indexer, IndexFunc, Obj, object_key
from pyk8s.client.clock import Clock, SystemClock
from pyk8s.client.errors import is_gone
from pyk8s.client.resource import as_ref

log = logging.getLogger(__name__)

AddFunc = Callable[[Obj], None]
UpdateFunc = Callable[[Obj, Obj], None]
DeleteFunc = Callable[[Obj], None]


class ListWatcher(Protocol):
    """What an Informer needs from a client (rest.Client fits; so does a test fake)."""

    async def list(
        self,
        res: Any,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
        resource_version: str = "",
    ) -> Obj: ...

    def watch(
        self,
        res: Any,
        namespace: str = "",
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[tuple[str, Obj]]: ...


@dataclass(eq=False)
class Handler:
    on_add: AddFunc | None = None
    on_update: UpdateFunc | None = None
    on_delete: DeleteFunc | None = None


class Backoff:
    """Exponential delays: initial, initial*factor, ... capped; reset() after progress."""

    def __init__(self, initial: float = 0.8, cap: float = 30.0, factor: float = 2.0) -> None:
        self.initial, self.cap, self.factor = initial, cap, factor
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.cap)
        return delay

    def reset(self) -> None:
        self._next = self.initial


def _resource_version(obj: Obj) -> str:
    return (obj.get("metadata") or {}).get("resourceVersion") or ""


class Informer:
    def __init__(
        self,
        client: ListWatcher,
        res: Any,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        resync_period: float = 0.0,
        *,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        page_size: int = 500,
        min_watch_timeout: int = 300,
    ) -> None:
        self.client = client
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync_period = resync_period
        self.clock = clock or SystemClock()
        self.backoff = backoff or Backoff()
        self.page_size = page_size
        self.min_watch_timeout = min_watch_timeout
        self.indexer = Indexer()
        self.handlers: list[Handler] = []
        self.resource_version = ""  # the last version seen: where the next watch starts
        self.lists = 0  # completed lists (the first sync, then one per relist)
        self._needs_list = True
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        ref = as_ref(res)
        self._api_version, self._kind = ref.api_version, ref.kind

    # -- cache access ---------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        """The cached object for "namespace/name" (or "name" if cluster-scoped)."""
        return self.indexer.get(key)

    def list(self) -> list[Obj]:
        return self.indexer.list()

    def keys(self) -> list[str]:
        return self.indexer.keys()

    def add_index(self, name: str, fn: IndexFunc) -> None:
        self.indexer.add_index(name, fn)

    def by_index(self, name: str, value: str) -> list[Obj]:
        return self.indexer.by_index(name, value)

    def has_synced(self) -> bool:
        """True once the first list has been stored and delivered to handlers."""
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    # -- handlers -------------------------------------------------------------

    def add_handler(
        self,
        on_add: AddFunc | None = None,
        on_update: UpdateFunc | None = None,
        on_delete: DeleteFunc | None = None,
    ) -> Handler:
        """Register handlers; a late handler first gets an add for every cached object."""
        handler = Handler(on_add, on_update, on_delete)
        self.handlers.append(handler)
        for obj in self.indexer.list():
            self._call(handler.on_add, obj)
        return handler

    def remove_handler(self, handler: Handler) -> None:
        self.handlers.remove(handler)

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Run in a background task (idempotent); `stop()` cancels it."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name=f"informer {self}")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def run(self) -> None:
        """List and watch until cancelled (for callers that own the task themselves)."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._reflect())
            if self.resync_period > 0:
                tg.create_task(self._resync_loop())

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{as_ref(self.res).plural}{where}"

    # -- the reflector loop ---------------------------------------------------

    async def _reflect(self) -> None:
        while True:
            try:
                if self._needs_list:
                    await self._list_and_replace()
                started = self.clock.now()
                if await self._watch() or self.clock.now() - started >= 1.0:
                    continue  # the server closed the stream: watch again from where we are
                # An empty stream closed at once: back off rather than spin (client-go does too).
                log.warning("informer %s: watch closed immediately with no events", self)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - a reflector must outlive any failure
                self._on_error(err)
            await self.clock.sleep(self.backoff.next())

    def _on_error(self, err: Exception) -> None:
        if is_gone(err):
            # Our resourceVersion is compacted away: only a fresh list can catch up.
            log.info("informer %s: %s; relisting", self, err)
            self._needs_list = True
        else:
            log.warning("informer %s: %s: %s", self, type(err).__name__, err)

    async def _list_and_replace(self) -> None:
        items: dict[str, Obj] = {}
        version, token = "", ""
        while True:
            page = await self.client.list(
                self.res,
                self.namespace,
                self.label_selector,
                self.field_selector,
                limit=self.page_size,
                continue_=token,
            )
            md = page.get("metadata") or {}
            version = version or md.get("resourceVersion", "")  # every page shares the first's
            for item in page.get("items") or []:
                items[object_key(item)] = self._with_type(item)
            token = md.get("continue") or ""
            if not token:
                break
        self._replace(items, version)

    def _with_type(self, item: Obj) -> Obj:
        # List items come without apiVersion/kind; watch objects carry them. Make both alike.
        if self._kind and "kind" not in item:
            item = {"apiVersion": self._api_version, "kind": self._kind, **item}
        return item

    def _replace(self, items: dict[str, Obj], version: str) -> None:
        gone = [k for k in self.indexer.keys() if k not in items]
        for key, obj in items.items():
            old = self.indexer.set(key, obj)
            if old is None:
                self._dispatch_add(obj)
            elif _resource_version(old) != _resource_version(obj):
                self._dispatch_update(old, obj)
        for key in gone:
            old = self.indexer.pop(key)
            if old is not None:
                self._dispatch_delete(old)
        self.resource_version = version
        self._needs_list = False
        self.lists += 1
        self._synced.set()

    async def _watch(self) -> int:
        """One watch request, applied event by event; returns how many events it brought."""
        # A randomized timeout spreads re-watches out, as client-go's reflector does.
        timeout = int(self.min_watch_timeout * (1 + random.random()))
        stream = self.client.watch(
            self.res,
            self.namespace,
            resource_version=self.resource_version,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            timeout_seconds=timeout,
            allow_bookmarks=True,
        )
        count = 0
        async with contextlib.aclosing(stream):
            async for ev_type, obj in stream:
                self._apply(ev_type, obj)
                self.backoff.reset()
                count += 1
        return count

    def _apply(self, ev_type: str, obj: Obj) -> None:
        version = _resource_version(obj)
        if ev_type in ("ADDED", "MODIFIED"):
            old = self.indexer.set(object_key(obj), obj)
            if old is None:
                self._dispatch_add(obj)
            else:
                self._dispatch_update(old, obj)
        elif ev_type == "DELETED":
            self.indexer.pop(object_key(obj))
            self._dispatch_delete(obj)
        elif ev_type != "BOOKMARK":
            log.warning("informer %s: ignoring watch event of type %r", self, ev_type)
        if version:
            self.resource_version = version

    async def _resync_loop(self) -> None:
        """Every resync_period, an update(obj, obj) for each cached object (level-triggered nudge)."""
        while True:
            await self.clock.sleep(self.resync_period)
            if not self.has_synced():
                continue
            for obj in self.indexer.list():
                self._dispatch_update(obj, obj)

    # -- delivery -------------------------------------------------------------

    def _dispatch_add(self, obj: Obj) -> None:
        for h in list(self.handlers):
            self._call(h.on_add, obj)

    def _dispatch_update(self, old: Obj, new: Obj) -> None:
        for h in list(self.handlers):
            self._call(h.on_update, old, new)

    def _dispatch_delete(self, obj: Obj) -> None:
        for h in list(self.handlers):
            self._call(h.on_delete, obj)

    def _call(self, fn: Callable[..., None] | None, *args: Obj) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the informer
            log.exception("informer %s: handler %r failed", self, fn)


class SharedInformerFactory:
    """One Informer per (resource, namespace, selectors), shared by every controller."""

    def __init__(
        self,
        client: ListWatcher,
        *,
        resync_period: float = 0.0,
        clock: Clock | None = None,
        **informer_options: Any,
    ) -> None:
        self.client = client
        self.resync_period = resync_period
        self.clock = clock
        self.informer_options = informer_options
        self._informers: dict[tuple[Any, ...], Informer] = {}

    def informer(
        self,
        res: Any,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> Informer:
        """The shared informer for these arguments, created on first request (not started)."""
        ref = as_ref(res)
        key = (ref.group, ref.version, ref.plural, namespace, label_selector, field_selector)
        informer = self._informers.get(key)
        if informer is None:
            informer = Informer(
                self.client,
                res,
                namespace,
                label_selector,
                field_selector,
                self.resync_period,
                clock=self.clock,
                **self.informer_options,
            )
            self._informers[key] = informer
        return informer

    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def start(self) -> None:
        """Start every informer created so far (call again after creating more)."""
        for informer in self._informers.values():
            informer.start()

    async def wait_for_cache_sync(self) -> None:
        await asyncio.gather(*(i.wait_synced() for i in self._informers.values()))

    async def stop(self) -> None:
        for informer in self._informers.values():
            await informer.stop()
