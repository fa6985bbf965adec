"""The official `kubernetes` client, kr8s and lightkube, unmodified, against the server."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch


@pytest.fixture
def official(api_server):
    api = k8s_config.new_client_from_config(config_file=api_server.kubeconfig)
    yield api
    api.close()


def _ns(api, name: str) -> str:
    core = k8s.CoreV1Api(api)
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    return name


def test_official_client_version(official):
    info = k8s.VersionApi(official).get_code()
    assert info.major == "1" and info.minor == "32"


def test_official_client_crud_watch(official):
    ns = _ns(official, "official-crud")
    apps = k8s.AppsV1Api(official)
    body = {
        "metadata": {"name": "py", "labels": {"app": "py"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "py"}},
            "template": {
                "metadata": {"labels": {"app": "py"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]},
            },
        },
    }
    created = apps.create_namespaced_deployment(ns, body)
    assert created.metadata.uid and created.spec.strategy.type == "RollingUpdate"
    listed = apps.list_namespaced_deployment(ns, label_selector="app=py")
    assert [d.metadata.name for d in listed.items] == ["py"]
    start_rv = listed.metadata.resource_version

    patched = apps.patch_namespaced_deployment("py", ns, {"spec": {"replicas": 4}})
    assert patched.spec.replicas == 4
    scaled = apps.patch_namespaced_deployment_scale("py", ns, {"spec": {"replicas": 2}})
    assert scaled.spec.replicas == 2

    # Resume a watch from the list's resourceVersion: both changes arrive, in order.
    w = k8s_watch.Watch()
    seen = []
    for ev in w.stream(
        apps.list_namespaced_deployment, ns, resource_version=start_rv, timeout_seconds=3
    ):
        seen.append((ev["type"], ev["object"].spec.replicas))
        if len(seen) == 2:
            w.stop()
    assert seen == [("MODIFIED", 4), ("MODIFIED", 2)]

    apps.delete_namespaced_deployment("py", ns)
    with pytest.raises(k8s.ApiException) as exc:
        apps.read_namespaced_deployment("py", ns)
    assert exc.value.status == 404


def test_official_client_watch_from_now_sees_added(official):
    ns = _ns(official, "official-watch")
    core = k8s.CoreV1Api(official)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "before"}})
    w = k8s_watch.Watch()
    names = []

    def later():
        core.create_namespaced_config_map(ns, {"metadata": {"name": "after"}})

    timer = threading.Timer(0.5, later)
    timer.start()
    for ev in w.stream(core.list_namespaced_config_map, ns, timeout_seconds=3):
        names.append((ev["type"], ev["object"].metadata.name))
        if len(names) == 2:
            w.stop()
    timer.join()
    assert names == [("ADDED", "before"), ("ADDED", "after")]


def test_kr8s(api_server):
    import kr8s.asyncio
    from kr8s.asyncio.objects import ConfigMap

    async def run():
        api = await kr8s.asyncio.api(kubeconfig=api_server.kubeconfig)
        cm = await ConfigMap(
            {"metadata": {"name": "kr8s-cm", "namespace": "default"}, "data": {"a": "1"}}, api=api
        )
        await cm.create()
        got = await ConfigMap.get("kr8s-cm", namespace="default", api=api)
        assert got.raw["data"] == {"a": "1"}
        listed = [c.name async for c in api.get("configmaps", namespace="default")]
        assert "kr8s-cm" in listed
        await got.patch({"data": {"a": "2"}})
        await got.refresh()
        assert got.raw["data"]["a"] == "2"
        events = []

        async def watch():
            async with contextlib.aclosing(api.watch("configmaps", namespace="default")) as stream:
                async for ev_type, obj in stream:
                    events.append((ev_type, obj.name))
                    if ev_type == "DELETED" and obj.name == "kr8s-cm":
                        return

        task = asyncio.create_task(watch())
        await asyncio.sleep(0.5)
        await got.delete()
        await asyncio.wait_for(task, 10)
        assert ("DELETED", "kr8s-cm") in events

    asyncio.run(run())


def test_lightkube(api_server):
    from lightkube import Client, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ConfigMap

    client = Client(KubeConfig.from_file(api_server.kubeconfig))
    client.create(
        ConfigMap(metadata=ObjectMeta(name="lk-cm", namespace="default"), data={"a": "1"})
    )
    assert client.get(ConfigMap, "lk-cm", namespace="default").data == {"a": "1"}
    assert "lk-cm" in [c.metadata.name for c in client.list(ConfigMap, namespace="default")]
    client.patch(ConfigMap, "lk-cm", {"data": {"a": "2"}}, namespace="default")
    assert client.get(ConfigMap, "lk-cm", namespace="default").data["a"] == "2"
    events = []
    for op, obj in client.watch(ConfigMap, namespace="default"):
        events.append((op, obj.metadata.name))
        if obj.metadata.name == "lk-cm":
            break
    assert ("ADDED", "lk-cm") in events
    client.delete(ConfigMap, "lk-cm", namespace="default")
    assert "lk-cm" not in [c.metadata.name for c in client.list(ConfigMap, namespace="default")]
