"""Informer logic against an in-memory fake API (list + watch with history and compaction)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyk8s.client import (
    ApiError,
    Backoff,
    FakeClock,
    Indexer,
    Informer,
    ResourceRef,
    SharedInformerFactory,
    object_key,
    split_key,
)

PODS = ResourceRef("", "v1", "pods", True, "Pod")
_END = object()


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


def pod(name: str, ns: str = "default", node: str = "") -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": name, "namespace": ns}, "spec": {}}
    if node:
        obj["spec"]["nodeName"] = node
    return obj


class FakeApi:
    """Objects with revisions, an event history that can be compacted, and live watchers."""

    def __init__(self) -> None:
        self.rv = 10
        self.objects: dict[str, dict[str, Any]] = {}
        self.history: list[tuple[int, str, dict[str, Any]]] = []
        self.compacted = 0
        self.watchers: list[asyncio.Queue[Any]] = []
        self.list_calls: list[dict[str, Any]] = []
        self.watch_calls: list[str] = []
        self.list_failures: list[Exception] = []
        self.closed_watches = 0
        self.empty_watches = 0  # how many coming watches close at once, empty

    # -- mutations, as another client would make them --

    def _write(self, ev_type: str, obj: dict[str, Any], record: bool = True) -> dict[str, Any]:
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj.update(apiVersion="v1", kind="Pod")
        obj["metadata"]["resourceVersion"] = str(self.rv)
        key = object_key(obj)
        if ev_type == "DELETED":
            del self.objects[key]
        else:
            self.objects[key] = obj
        if record:
            self.history.append((self.rv, ev_type, obj))
            for q in self.watchers:
                q.put_nowait((ev_type, obj))
        return obj

    def create(self, obj: dict[str, Any], record: bool = True) -> dict[str, Any]:
        return self._write("ADDED", obj, record)

    def modify(self, key: str, record: bool = True, **spec: Any) -> dict[str, Any]:
        obj = copy.deepcopy(self.objects[key])
        obj["spec"].update(spec)
        return self._write("MODIFIED", obj, record)

    def remove(self, key: str, record: bool = True) -> dict[str, Any]:
        return self._write("DELETED", self.objects[key], record)

    def compact(self) -> None:
        """Forget all history: a watch from any older version now gets 410."""
        self.compacted = self.rv
        self.history.clear()

    def bookmark(self) -> None:
        for q in self.watchers:
            q.put_nowait(
                ("BOOKMARK", {"kind": "Pod", "metadata": {"resourceVersion": str(self.rv)}})
            )

    def end_watches(self) -> None:
        for q in self.watchers:
            q.put_nowait(_END)

    def fail_watches(self, err: Exception) -> None:
        for q in self.watchers:
            q.put_nowait(err)

    # -- the ListWatcher protocol --

    async def list(
        self,
        res: Any,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
        resource_version: str = "",
    ) -> dict[str, Any]:
        self.list_calls.append({"namespace": namespace, "limit": limit, "continue": continue_})
        if self.list_failures:
            raise self.list_failures.pop(0)
        items = [
            copy.deepcopy({k: v for k, v in o.items() if k not in ("kind", "apiVersion")})
            for key, o in sorted(self.objects.items())
            if not namespace or o["metadata"]["namespace"] == namespace
        ]
        start = int(continue_ or 0)
        end = start + limit if limit else len(items)
        md: dict[str, Any] = {"resourceVersion": str(self.rv)}
        if end < len(items):
            md["continue"] = str(end)
        return {"kind": "PodList", "apiVersion": "v1", "metadata": md, "items": items[start:end]}

    async def watch(
        self,
        res: Any,
        namespace: str = "",
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        self.watch_calls.append(resource_version)
        if self.empty_watches:
            self.empty_watches -= 1
            return
        since = int(resource_version or 0)
        if since < self.compacted:
            raise ApiError(
                {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
            )
        q: asyncio.Queue[Any] = asyncio.Queue()
        for rv, ev_type, obj in self.history:
            if rv > since:
                q.put_nowait((ev_type, obj))
        self.watchers.append(q)
        try:
            while True:
                item = await q.get()
                if item is _END:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.watchers.remove(q)
            self.closed_watches += 1


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []  # (kind, key, resourceVersion)
        self.updates: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def on_add(self, obj: dict[str, Any]) -> None:
        self.events.append(("add", object_key(obj), obj["metadata"].get("resourceVersion", "")))

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.updates.append((old, new))
        self.events.append(("update", object_key(new), new["metadata"]["resourceVersion"]))

    def on_delete(self, obj: dict[str, Any]) -> None:
        self.events.append(("delete", object_key(obj), obj["metadata"].get("resourceVersion", "")))

    def kinds(self) -> list[tuple[str, str]]:
        return [(k, key) for k, key, _ in self.events]


@pytest.fixture
async def env() -> AsyncIterator[tuple[FakeApi, Informer, Recorder, FakeClock]]:
    api, clock = FakeApi(), FakeClock()
    informer = Informer(api, PODS, clock=clock, backoff=Backoff(1.0, 8.0))
    rec = Recorder()
    informer.add_handler(rec.on_add, rec.on_update, rec.on_delete)
    yield api, informer, rec, clock
    await informer.stop()


async def start_synced(informer: Informer) -> None:
    informer.start()
    await asyncio.wait_for(informer.wait_synced(), 1)
    await settle()


async def test_initial_list_fills_cache_and_calls_add(env) -> None:
    api, informer, rec, _ = env
    api.create(pod("a"))
    api.create(pod("b", "other"))
    assert not informer.has_synced()
    await start_synced(informer)
    assert informer.has_synced()
    assert sorted(rec.kinds()) == [("add", "default/a"), ("add", "other/b")]
    cached = informer.get("default/a")
    assert cached is not None and cached["kind"] == "Pod" and cached["apiVersion"] == "v1"
    assert {object_key(o) for o in informer.list()} == {"default/a", "other/b"}
    assert informer.resource_version == str(api.rv)
    assert api.watch_calls == [str(api.rv)], "the watch starts at the list's resourceVersion"


async def test_watch_events_reach_cache_and_handlers(env) -> None:
    api, informer, rec, _ = env
    api.create(pod("a"))
    await start_synced(informer)
    rec.events.clear()
    api.create(pod("b"))
    api.modify("default/a", nodeName="n1")
    api.remove("default/b")
    await settle()
    assert rec.kinds() == [("add", "default/b"), ("update", "default/a"), ("delete", "default/b")]
    old, new = rec.updates[0]
    assert "nodeName" not in old["spec"] and new["spec"]["nodeName"] == "n1"
    assert informer.get("default/b") is None
    assert informer.get("default/a")["spec"]["nodeName"] == "n1"
    assert informer.resource_version == str(api.rv)


async def test_rewatch_resumes_from_last_version_and_bookmarks(env) -> None:
    api, informer, rec, _ = env
    await start_synced(informer)
    api.create(pod("a"))
    await settle()
    api.rv += 5  # writes to other resources move the revision on
    api.bookmark()
    await settle()
    assert informer.resource_version == str(api.rv)
    bookmark_rv = informer.resource_version
    api.end_watches()
    api.create(pod("b"), record=True)  # made while no watch was open, still in history
    await settle()
    assert api.watch_calls[-1] == bookmark_rv
    assert len(api.list_calls) == 1, "a closed stream is re-watched, not relisted"
    assert ("add", "default/b") in rec.kinds()


async def test_gone_relists_and_delivers_the_differences(env) -> None:
    api, informer, rec, clock = env
    for name in ("keep", "change", "drop"):
        api.create(pod(name))
    await start_synced(informer)
    rec.events.clear()
    # Changes the open watch never sees, then compaction: only a relist can catch up.
    api.create(pod("new"), record=False)
    api.modify("default/change", record=False, nodeName="n2")
    api.remove("default/drop", record=False)
    api.compact()
    clock.advance(60)  # the watch was open a while: its end is routine, re-watch at once
    api.end_watches()
    await settle()
    assert api.watch_calls[-1] != str(api.rv), "re-watched from the old version"
    assert informer.lists == 1 and rec.events == []
    assert clock.advance_to_next() == 1.0, "410 goes through the back-off"
    await settle()
    assert informer.lists == 2
    assert sorted(rec.kinds()) == [
        ("add", "default/new"),
        ("delete", "default/drop"),
        ("update", "default/change"),
    ]
    assert informer.get("default/keep") is not None
    assert informer.get("default/drop") is None
    assert informer.get("default/change")["spec"]["nodeName"] == "n2"
    assert informer.resource_version == str(api.rv)
    assert api.watch_calls[-1] == str(api.rv), "watching again from the relist's version"


async def test_errors_back_off_exponentially_then_recover(env) -> None:
    api, informer, rec, clock = env
    api.create(pod("a"))
    api.list_failures = [RuntimeError("connection refused") for _ in range(5)]
    informer.start()
    waits = []
    for _ in range(5):
        await settle()
        assert not informer.has_synced()
        waits.append(clock.advance_to_next())
    await settle()
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0], "doubling, capped"
    assert informer.has_synced() and rec.kinds() == [("add", "default/a")]
    # A later failure starts from the initial delay again: the watch made progress.
    api.create(pod("b"))
    await settle()
    api.fail_watches(RuntimeError("reset by peer"))
    await settle()
    assert clock.advance_to_next() == 1.0
    await settle()
    assert api.watch_calls[-1] == informer.resource_version


async def test_watch_closing_at_once_backs_off(env) -> None:
    api, informer, _, clock = env
    await start_synced(informer)
    api.empty_watches = 3
    api.end_watches()  # the first watch ends at once too, with no events
    waits = []
    for _ in range(4):
        await settle()
        waits.append(clock.advance_to_next())
    await settle()
    assert waits == [1.0, 2.0, 4.0, 8.0], "no spinning on a server that closes watches at once"
    assert len(api.watch_calls) == 5 and len(api.watchers) == 1
    api.create(pod("a"))
    await settle()
    assert informer.get("default/a") is not None


async def test_pages_through_large_lists() -> None:
    api, clock = FakeApi(), FakeClock()
    for i in range(5):
        api.create(pod(f"p{i}"))
    informer = Informer(api, PODS, clock=clock, page_size=2)
    await start_synced(informer)
    try:
        assert len(informer.list()) == 5
        assert [c["continue"] for c in api.list_calls] == ["", "2", "4"]
        assert all(c["limit"] == 2 for c in api.list_calls)
    finally:
        await informer.stop()


async def test_indexes_follow_changes(env) -> None:
    api, informer, _, _ = env
    informer.add_index(
        "node", lambda o: [o["spec"]["nodeName"]] if o["spec"].get("nodeName") else []
    )
    api.create(pod("a", node="n1"))
    api.create(pod("b", node="n1"))
    api.create(pod("c", "kube-system", node="n2"))
    await start_synced(informer)
    names = lambda objs: sorted(o["metadata"]["name"] for o in objs)  # noqa: E731
    assert names(informer.by_index("node", "n1")) == ["a", "b"]
    assert names(informer.by_index("namespace", "kube-system")) == ["c"]
    api.modify("default/b", nodeName="n2")
    api.remove("kube-system/c")
    await settle()
    assert names(informer.by_index("node", "n1")) == ["a"]
    assert names(informer.by_index("node", "n2")) == ["b"]
    assert informer.by_index("namespace", "kube-system") == []
    with pytest.raises(KeyError):
        informer.by_index("nope", "x")


def test_indexer_files_existing_objects_for_a_new_index() -> None:
    idx = Indexer()
    idx.set("default/a", pod("a", node="n1"))
    idx.add_index("node", lambda o: [o["spec"].get("nodeName", "")])
    assert idx.index_keys("node", "n1") == ["default/a"]
    assert idx.index_values("namespace") == ["default"]
    with pytest.raises(ValueError):
        idx.add_index("node", lambda o: [])
    assert split_key("default/a") == ("default", "a") and split_key("node1") == ("", "node1")


async def test_late_handler_gets_existing_objects(env) -> None:
    api, informer, _, _ = env
    api.create(pod("a"))
    await start_synced(informer)
    late = Recorder()
    informer.add_handler(on_add=late.on_add)
    assert late.kinds() == [("add", "default/a")]


async def test_failing_handler_does_not_stop_delivery() -> None:
    api = FakeApi()
    informer = Informer(api, PODS, clock=FakeClock())

    def boom(obj: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    informer.add_handler(on_add=boom)  # first in line
    rec = Recorder()
    informer.add_handler(rec.on_add)
    api.create(pod("a"))
    try:
        await start_synced(informer)
        api.create(pod("b"))
        await settle()
        assert rec.kinds() == [("add", "default/a"), ("add", "default/b")]
        assert informer._task is not None and not informer._task.done()
    finally:
        await informer.stop()


async def test_resync_replays_updates() -> None:
    api, clock = FakeApi(), FakeClock()
    api.create(pod("a"))
    informer = Informer(api, PODS, resync_period=30, clock=clock)
    rec = Recorder()
    informer.add_handler(rec.on_add, rec.on_update)
    await start_synced(informer)
    try:
        clock.advance(29)
        await settle()
        assert [k for k, _ in rec.kinds()] == ["add"]
        clock.advance(1)
        await settle()
        assert rec.kinds() == [("add", "default/a"), ("update", "default/a")]
        old, new = rec.updates[0]
        assert old is new
    finally:
        await informer.stop()


async def test_stop_cancels_cleanly_and_closes_the_watch(env) -> None:
    api, informer, _, _ = env
    await start_synced(informer)
    task = informer.start()
    assert informer.start() is task, "start is idempotent"
    assert len(api.watchers) == 1
    await informer.stop()
    assert task.done() and task.cancelled()
    assert api.watchers == [] and api.closed_watches == 1
    await informer.stop()  # a second stop is harmless


async def test_shared_factory_shares_informers() -> None:
    api = FakeApi()
    api.create(pod("a"))
    factory = SharedInformerFactory(api, clock=FakeClock())
    first = factory.informer(PODS)
    assert factory.informer(PODS) is first
    assert factory.informer(("", "v1", "pods", True)) is first
    in_ns = factory.informer(PODS, namespace="kube-system")
    assert in_ns is not first
    assert factory.informer(PODS, label_selector="app=web") is not first
    factory.start()
    await asyncio.wait_for(factory.wait_for_cache_sync(), 1)
    assert first.get("default/a") is not None and in_ns.list() == []
    assert {c["namespace"] for c in api.list_calls} == {"", "kube-system"}
    await factory.stop()
    assert all(i._task is None for i in factory.informers())
