"""pyk8s.client against a real API server: CRUD, patches, subresources, watch, informers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from pyk8s.client import ApiError, Backoff, Client, Informer, SharedInformerFactory, object_key

CM = Client.resource("v1", "configmaps")
PODS = Client.resource("v1", "pods")
NAMESPACES = Client.resource("v1", "namespaces")
DEPLOY = Client.resource("apps/v1", "deployments")

_ns_counter = itertools.count()


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def wait_for(predicate, timeout: float = 5.0) -> None:
    """Poll a condition the server's events should make true soon."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def client(api_server) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(api_server.kubeconfig) as c:
        yield c


@pytest.fixture
async def ns(client: Client, request: pytest.FixtureRequest) -> str:
    name = f"client-{request.node.name.replace('_', '-')[5:40].strip('-')}-{next(_ns_counter)}"
    await client.create(NAMESPACES, {"metadata": {"name": name}})
    return name


async def test_client_from_explicit_settings(api_server) -> None:
    async with Client(api_server.url, token=api_server.token, ca_file=api_server.ca_file) as c:
        default = await c.get(NAMESPACES, "default")
    assert default["metadata"]["name"] == "default"
    async with Client(api_server.url, token="wrong", ssl=False) as c:
        with pytest.raises(ApiError) as info:
            await c.get(NAMESPACES, "default")
    assert info.value.code == 401


async def test_create_get_list_delete(client: Client, ns: str) -> None:
    created = await client.create(
        CM, cm("one", a="1") | {"metadata": {"name": "one", "labels": {"x": "y"}}}, ns
    )
    assert created["metadata"]["namespace"] == ns and created["metadata"]["uid"]
    await client.create(CM, {**cm("two"), "metadata": {"name": "two", "namespace": ns}})
    got = await client.get(CM, "one", ns)
    assert (
        got["data"] == {"a": "1"}
        and got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    )

    listed = await client.list(CM, ns)
    assert listed["kind"] == "ConfigMapList"
    assert sorted(i["metadata"]["name"] for i in listed["items"]) == ["one", "two"]
    selected = await client.list(CM, ns, label_selector="x=y")
    assert [i["metadata"]["name"] for i in selected["items"]] == ["one"]
    page = await client.list(CM, ns, limit=1)
    assert len(page["items"]) == 1 and page["metadata"].get("continue")
    rest = await client.list(CM, ns, limit=1, continue_=page["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in page["items"] + rest["items"]] == ["one", "two"]

    with pytest.raises(ApiError) as info:
        await client.create(CM, cm("one"), ns)
    assert (info.value.code, info.value.reason) == (409, "AlreadyExists")

    await client.delete(CM, "one", ns)
    with pytest.raises(ApiError) as info:
        await client.get(CM, "one", ns)
    assert (info.value.code, info.value.reason) == (404, "NotFound")
    assert info.value.message == 'configmaps "one" not found'


async def test_update_is_compare_and_swap(client: Client, ns: str) -> None:
    first = await client.create(CM, cm("cas", v="1"), ns)
    second = await client.update(CM, {**first, "data": {"v": "2"}})
    assert second["data"] == {"v": "2"}
    with pytest.raises(ApiError) as info:
        await client.update(CM, {**first, "data": {"v": "stale"}})
    assert (info.value.code, info.value.reason) == (409, "Conflict")
    assert (await client.get(CM, "cas", ns))["data"] == {"v": "2"}


async def test_three_patch_types(client: Client, ns: str) -> None:
    await client.create(CM, cm("p", a="1", b="2"), ns)
    merged = await client.patch(CM, "p", {"data": {"b": None, "c": "3"}}, ns, "merge")
    assert merged["data"] == {"a": "1", "c": "3"}
    strategic = await client.patch(CM, "p", {"metadata": {"labels": {"k": "v"}}}, ns, "strategic")
    assert strategic["metadata"]["labels"] == {"k": "v"}
    ops = [{"op": "replace", "path": "/data/a", "value": "10"}, {"op": "remove", "path": "/data/c"}]
    jsonp = await client.patch(CM, "p", ops, ns, "json")
    assert jsonp["data"] == {"a": "10"}
    with pytest.raises(ApiError) as info:
        await client.patch(
            CM, "p", [{"op": "test", "path": "/data/a", "value": "nope"}], ns, "json"
        )
    assert (info.value.code, info.value.reason) == (422, "Invalid"), info.value


async def test_delete_with_preconditions(client: Client, ns: str) -> None:
    created = await client.create(CM, cm("pre"), ns)
    with pytest.raises(ApiError) as info:
        await client.delete(CM, "pre", ns, preconditions={"uid": "not-the-uid"})
    assert info.value.code == 409
    await client.delete(
        CM, "pre", ns, preconditions={"uid": created["metadata"]["uid"]}, grace_period_seconds=0
    )
    assert (await client.list(CM, ns))["items"] == []


async def test_status_scale_and_binding(client: Client, ns: str) -> None:
    labels = {"app": "web"}
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    created = await client.create(DEPLOY, deploy, ns)
    scale = await client.get_scale(DEPLOY, "web", ns)
    assert (scale["kind"], scale["spec"]["replicas"]) == ("Scale", 1)
    scaled = await client.patch_scale(DEPLOY, "web", {"spec": {"replicas": 3}}, ns)
    assert scaled["spec"]["replicas"] == 3
    current = await client.get(DEPLOY, "web", ns)
    assert current["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    status = await client.update_status(
        DEPLOY, {**current, "status": {"observedGeneration": 1, "replicas": 0}}
    )
    assert status["status"]["observedGeneration"] == 1
    assert (await client.get(DEPLOY, "web", ns))["spec"]["replicas"] == 3, (
        "the status update kept spec"
    )

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    await client.create(PODS, pod, ns)
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "p"},
        "target": {"kind": "Node", "name": "n1"},
    }
    await client.create_subresource(PODS, "p", "binding", binding, ns)
    assert (await client.get(PODS, "p", ns))["spec"]["nodeName"] == "n1"


async def test_watch_resumes_from_a_resource_version(client: Client, ns: str) -> None:
    start = await client.create(CM, cm("w", v="0"), ns)
    await client.patch(CM, "w", {"data": {"v": "1"}}, ns, "merge")
    await client.patch(CM, "w", {"data": {"v": "2"}}, ns, "merge")
    await client.delete(CM, "w", ns)
    seen: list[tuple[str, str]] = []

    async def collect() -> None:
        stream = client.watch(
            CM, ns, resource_version=start["metadata"]["resourceVersion"], timeout_seconds=10
        )
        async with contextlib.aclosing(stream):
            async for ev_type, obj in stream:
                seen.append((ev_type, (obj.get("data") or {}).get("v", "")))
                if len(seen) == 3:
                    return

    await asyncio.wait_for(collect(), 10)
    assert seen == [("MODIFIED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]


async def test_watch_without_version_starts_with_current_state(client: Client, ns: str) -> None:
    await client.create(CM, cm("existing"), ns)
    stream = client.watch(CM, ns, timeout_seconds=10)
    async with contextlib.aclosing(stream):
        ev_type, obj = await asyncio.wait_for(anext(stream), 10)
    assert (ev_type, obj["metadata"]["name"], obj["kind"]) == ("ADDED", "existing", "ConfigMap")


async def test_informer_follows_changes_from_both_sides(
    api_server, client: Client, ns: str
) -> None:
    await client.create(CM, cm("before", v="0"), ns)
    informer = Informer(client, CM, namespace=ns, backoff=Backoff(0.05, 0.5))
    events: list[tuple[str, str]] = []
    informer.add_handler(
        on_add=lambda o: events.append(("add", object_key(o))),
        on_update=lambda old, new: events.append(("update", object_key(new))),
        on_delete=lambda o: events.append(("delete", object_key(o))),
    )
    informer.start()
    try:
        await asyncio.wait_for(informer.wait_synced(), 10)
        assert events == [("add", f"{ns}/before")]
        assert informer.get(f"{ns}/before")["kind"] == "ConfigMap"

        # This client's own writes...
        await client.create(CM, cm("mine"), ns)
        await client.patch(CM, "before", {"data": {"v": "1"}}, ns, "merge")
        await wait_for(lambda: len(events) == 3)
        # ...and another client's (the official one, in a thread).
        await asyncio.to_thread(_official_changes, api_server.kubeconfig, ns)
        await wait_for(lambda: len(events) == 6)
        assert events[1:] == [
            ("add", f"{ns}/mine"),
            ("update", f"{ns}/before"),
            ("add", f"{ns}/theirs"),
            ("update", f"{ns}/mine"),
            ("delete", f"{ns}/before"),
        ]
        assert sorted(informer.keys()) == [f"{ns}/mine", f"{ns}/theirs"]
        assert informer.get(f"{ns}/mine")["data"] == {"by": "official"}
        assert [o["metadata"]["name"] for o in informer.by_index("namespace", ns)] == [
            "mine",
            "theirs",
        ]
    finally:
        await informer.stop()


def _official_changes(kubeconfig: str, ns: str) -> None:
    api = k8s_config.new_client_from_config(config_file=kubeconfig)
    try:
        core = k8s.CoreV1Api(api)
        core.create_namespaced_config_map(ns, {"metadata": {"name": "theirs"}})
        core.patch_namespaced_config_map("mine", ns, {"data": {"by": "official"}})
        core.delete_namespaced_config_map("before", ns)
    finally:
        api.close()


async def test_shared_factory_against_server(client: Client, ns: str) -> None:
    factory = SharedInformerFactory(client)
    cms = factory.informer(CM, ns)
    assert factory.informer(CM, ns) is cms
    namespaces = factory.informer(NAMESPACES)
    factory.start()
    try:
        await asyncio.wait_for(factory.wait_for_cache_sync(), 10)
        assert namespaces.get(ns) is not None and namespaces.get("kube-system") is not None
        await client.create(CM, cm("shared"), ns)
        await wait_for(lambda: cms.get(f"{ns}/shared") is not None)
    finally:
        await factory.stop()


async def test_gone_after_compaction_and_informer_relist(fresh_server) -> None:
    if getattr(fresh_server, "server", None) is None:
        pytest.skip("the server fixture gives no access to the server object")
    async with Client.from_kubeconfig(fresh_server.kubeconfig) as client:
        ns = "relist"
        await client.create(NAMESPACES, {"metadata": {"name": ns}})
        for name in ("keep", "change", "drop"):
            await client.create(CM, cm(name, v="0"), ns)
        informer = Informer(client, CM, namespace=ns, backoff=Backoff(0.05, 0.5))
        events: list[tuple[str, str]] = []
        informer.add_handler(
            on_add=lambda o: events.append(("add", o["metadata"]["name"])),
            on_update=lambda old, new: events.append(("update", new["metadata"]["name"])),
            on_delete=lambda o: events.append(("delete", o["metadata"]["name"])),
        )
        informer.start()
        await asyncio.wait_for(informer.wait_synced(), 10)
        synced_at = informer.resource_version
        await informer.stop()  # offline while history moves on and is compacted away
        events.clear()

        await client.create(CM, cm("new"), ns)
        await client.patch(CM, "change", {"data": {"v": "1"}}, ns, "merge")
        await client.delete(CM, "drop", ns)
        current = int((await client.list(CM, ns))["metadata"]["resourceVersion"])
        await asyncio.to_thread(fresh_server.call, fresh_server.server.compact(current))

        # The server now answers 410 for the old version, as an ERROR event or a status.
        with pytest.raises(ApiError) as info:
            stream = client.watch(CM, ns, resource_version=synced_at, timeout_seconds=5)
            async with contextlib.aclosing(stream):
                async for _ in stream:
                    pass
        assert info.value.code == 410, info.value

        informer.start()  # resumes from synced_at, gets 410, relists
        try:
            await wait_for(lambda: informer.lists == 2, 10)
            assert sorted(events) == [("add", "new"), ("delete", "drop"), ("update", "change")]
            assert sorted(informer.keys()) == [f"{ns}/change", f"{ns}/keep", f"{ns}/new"]
            # And it watches on from the relist: a later change still arrives.
            await client.patch(CM, "keep", {"data": {"v": "9"}}, ns, "merge")
            await wait_for(lambda: informer.get(f"{ns}/keep")["data"] == {"v": "9"})
        finally:
            await informer.stop()
