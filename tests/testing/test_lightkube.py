"""lightkube against the fixture: create, watch, patch (sync and async clients)."""

from __future__ import annotations

import threading

from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Node
from lightkube.types import PatchType

from pyk8s.testing import await_for


def test_create_watch_patch(lightkube_client):
    client = lightkube_client
    client.create(
        ConfigMap(metadata=ObjectMeta(name="flags", namespace="default"), data={"a": "1"})
    )
    seen = []

    def patch_soon() -> None:
        client.patch(ConfigMap, "flags", {"data": {"a": "2"}}, namespace="default")

    timer = threading.Timer(0.2, patch_soon)
    timer.start()
    try:
        for op, cm in client.watch(
            ConfigMap, namespace="default", fields={"metadata.name": "flags"}
        ):
            seen.append((op, cm.data["a"]))
            if op == "MODIFIED":
                break
    finally:
        timer.join()
    assert seen == [("ADDED", "1"), ("MODIFIED", "2")]
    patched = client.patch(
        ConfigMap,
        "flags",
        [{"op": "add", "path": "/data/b", "value": "3"}],
        namespace="default",
        patch_type=PatchType.JSON,
    )
    assert patched.data == {"a": "2", "b": "3"}
    assert [n.metadata.name for n in client.list(Node)] == ["w1-k8s"]


async def test_async_client(lightkube_async_client):
    client = lightkube_async_client
    await client.create(ConfigMap(metadata=ObjectMeta(name="async-cm", namespace="default")))
    await client.patch(
        ConfigMap, "async-cm", {"metadata": {"labels": {"x": "y"}}}, namespace="default"
    )

    async def labelled() -> bool:
        cm = await client.get(ConfigMap, "async-cm", namespace="default")
        return (cm.metadata.labels or {}).get("x") == "y"

    await await_for(labelled)
