"""The ReplicaSet controller against a real API server (no scheduler, no nodes: pods
stay Pending unless a test sets their status as a kubelet would)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from replicaset_helpers import (
    NS,
    PODS,
    RC,
    RS,
    bare_pod,
    control_plane,
    events,
    get_status,
    make_ready,
    pods_of,
    replica_set,
    wait_for,
)

from pyk8s.client import Client
from pyk8s.controllers.replicaset import ReplicaSetController
from pyk8s.controllers.replicationcontroller import ReplicationControllerController
from pyk8s.controlplane import ControlPlane
from pyk8s.machinery import meta
from pyk8s.machinery.errors import StatusError


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[ControlPlane, Client]]:
    async with control_plane(tmp_path, {"replicaset": ReplicaSetController}) as pair:
        yield pair


async def wait_pod_count(client: Client, uid: str, count: int) -> list[dict]:
    async def probe() -> tuple[list[dict]] | None:
        pods = await pods_of(client, uid)
        return (pods,) if len(pods) == count else None  # a tuple: truthy even when empty

    (pods,) = await wait_for(probe, f"{count} pods")
    return pods


async def wait_status(client: Client, res: object, name: str, **want: int) -> dict:
    async def probe() -> dict | None:
        status = await get_status(client, res, name)
        return status if all(status.get(k, 0) == v for k, v in want.items()) else None

    return await wait_for(probe, f"status {want}")


async def test_scale_up_and_down_with_events(cluster: tuple[ControlPlane, Client]) -> None:
    _, client = cluster
    rs = await client.create(RS, replica_set("web", 3))
    uid = meta.uid_of(rs)
    pods = await wait_pod_count(client, uid, 3)
    for pod in pods:
        md = pod["metadata"]
        assert md["generateName"] == "web-"
        assert len(md["name"]) == len("web-") + 5
        assert md["labels"] == {"app": "web"}
        assert md["ownerReferences"] == [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web",
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    status = await wait_status(client, RS, "web", replicas=3, fullyLabeledReplicas=3)
    assert status["observedGeneration"] == 1
    assert "readyReplicas" not in status and "availableReplicas" not in status

    created = await events(client, "SuccessfulCreate", "web")
    assert sorted(e["message"] for e in created) == sorted(
        f"Created pod: {meta.name_of(p)}" for p in pods
    )
    assert {e["source"]["component"] for e in created} == {"replicaset-controller"}
    assert {e["type"] for e in created} == {"Normal"}

    await client.patch_scale(RS, "web", {"spec": {"replicas": 1}}, NS)
    left = await wait_pod_count(client, uid, 1)
    status = await wait_status(client, RS, "web", replicas=1, observedGeneration=2)
    deleted = await events(client, "SuccessfulDelete", "web")
    gone = {meta.name_of(p) for p in pods} - {meta.name_of(left[0])}
    assert sorted(e["message"] for e in deleted) == sorted(f"Deleted pod: {n}" for n in gone)


async def test_scale_down_keeps_ready_pods(cluster: tuple[ControlPlane, Client]) -> None:
    _, client = cluster
    rs = await client.create(RS, replica_set("keep", 3))
    pods = await wait_pod_count(client, meta.uid_of(rs), 3)
    ready = await make_ready(client, pods[1])
    await wait_status(client, RS, "keep", readyReplicas=1, availableReplicas=1)
    await client.patch_scale(RS, "keep", {"spec": {"replicas": 1}}, NS)
    (left,) = await wait_pod_count(client, meta.uid_of(rs), 1)
    assert meta.name_of(left) == meta.name_of(ready)


async def test_deleted_pod_is_replaced(cluster: tuple[ControlPlane, Client]) -> None:
    _, client = cluster
    rs = await client.create(RS, replica_set("heal", 2))
    pods = await wait_pod_count(client, meta.uid_of(rs), 2)
    victim = meta.name_of(pods[0])
    await client.delete(PODS, victim, NS)

    async def replaced() -> bool:
        names = {meta.name_of(p) for p in await pods_of(client, meta.uid_of(rs))}
        return len(names) == 2 and victim not in names

    await wait_for(replaced, "a replacement pod")


async def test_terminating_pods_are_replaced_and_not_counted(
    cluster: tuple[ControlPlane, Client],
) -> None:
    # Bound pods delete gracefully: they linger with a deletionTimestamp (no kubelet
    # here to finish them), are no longer active, and get replaced at once.
    _, client = cluster
    rs = await client.create(RS, replica_set("grace", 2, node_name="n1"))
    uid = meta.uid_of(rs)
    pods = await wait_pod_count(client, uid, 2)
    await client.delete(PODS, meta.name_of(pods[0]), NS)
    await wait_pod_count(client, uid, 2)
    everything = await pods_of(client, uid, active_only=False)
    assert len(everything) == 3
    await wait_status(client, RS, "grace", replicas=2)
    # Scale down: the terminating pod is not deleted again, one active pod goes.
    await client.patch_scale(RS, "grace", {"spec": {"replicas": 1}}, NS)
    await wait_pod_count(client, uid, 1)
    await asyncio.sleep(0.3)
    assert len(await pods_of(client, uid)) == 1
    assert len(await events(client, "SuccessfulDelete", "grace")) == 1


async def test_burst_creates_exactly_once(tmp_path: Path) -> None:
    # The controller's pod informer lags behind: without expectations, the syncs
    # triggered by the first pods' events would create the rest again.
    controllers = {"replicaset": ReplicaSetController}
    async with control_plane(tmp_path, controllers, pod_watch_lag=0.01) as (_, client):
        await _burst_of_50(client)


async def _burst_of_50(client: Client) -> None:
    added: set[str] = set()

    async def watch_pods() -> None:
        async for ev_type, obj in client.watch(PODS, NS):
            if ev_type == "ADDED":
                added.add(meta.name_of(obj))

    watcher = asyncio.create_task(watch_pods())
    try:
        rs = await client.create(RS, replica_set("burst", 0))
        await wait_status(client, RS, "burst", observedGeneration=1)
        await client.patch_scale(RS, "burst", {"spec": {"replicas": 50}}, NS)
        await wait_pod_count(client, meta.uid_of(rs), 50)
        await wait_status(client, RS, "burst", replicas=50, observedGeneration=2)
        # Pod updates keep nudging the controller; nothing more may be created.
        for pod in (await pods_of(client, meta.uid_of(rs)))[:5]:
            await make_ready(client, pod)
        await wait_status(client, RS, "burst", readyReplicas=5)
        await asyncio.sleep(0.3)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    assert len(added) == 50
    # One SuccessfulCreate per pod (the message may be prefixed if events are aggregated).
    created = [
        e["message"].rpartition("Created pod: ")[2]
        for e in await events(client, "SuccessfulCreate", "burst")
    ]
    assert len(created) == len(set(created)) and set(created) <= added
    assert len(created) >= 10  # upstream aggregates only beyond 10 similar events


async def test_adopts_orphans_and_releases_mismatches(
    cluster: tuple[ControlPlane, Client],
) -> None:
    _, client = cluster
    await client.create(PODS, bare_pod("stray", {"app": "own"}))
    await client.create(PODS, bare_pod("other", {"app": "elsewhere"}))
    rs = await client.create(RS, replica_set("own", 2))
    uid = meta.uid_of(rs)
    pods = await wait_pod_count(client, uid, 2)
    assert "stray" in {meta.name_of(p) for p in pods}
    stray = await client.get(PODS, "stray", NS)
    (ref,) = stray["metadata"]["ownerReferences"]
    assert ref["uid"] == uid and ref["controller"] is True and ref["blockOwnerDeletion"] is True
    assert "ownerReferences" not in (await client.get(PODS, "other", NS))["metadata"]
    assert len(await events(client, "SuccessfulCreate", "own")) == 1

    # Relabel the adopted pod: it is released and replaced.
    await client.patch(PODS, "stray", {"metadata": {"labels": {"app": "gone"}}}, NS, "merge")

    async def released() -> bool:
        pod = await client.get(PODS, "stray", NS)
        return not pod["metadata"].get("ownerReferences")

    await wait_for(released, "the relabelled pod released")
    pods = await wait_pod_count(client, uid, 2)
    assert "stray" not in {meta.name_of(p) for p in pods}


async def test_ready_and_available_with_min_ready_seconds(
    cluster: tuple[ControlPlane, Client],
) -> None:
    _, client = cluster
    rs = await client.create(RS, replica_set("avail", 2, min_ready=1))
    pods = await wait_pod_count(client, meta.uid_of(rs), 2)
    # One pod ready long ago is available at once; one ready now waits minReadySeconds.
    long_ago = meta.format_time(meta.now().replace(year=2020))
    await make_ready(client, pods[0], since=long_ago)
    await wait_status(client, RS, "avail", readyReplicas=1, availableReplicas=1)
    await make_ready(client, pods[1])
    status = await wait_status(client, RS, "avail", readyReplicas=2)
    assert status.get("availableReplicas", 0) in (1, 2)
    # The controller looks again after minReadySeconds, without any other event.
    await wait_status(client, RS, "avail", readyReplicas=2, availableReplicas=2)


async def test_failed_creates_set_replica_failure(cluster: tuple[ControlPlane, Client]) -> None:
    cp, client = cluster
    controller = cp.manager.controllers[0]
    real = controller.pod_control.client

    class Quota:
        """The controller's client, with pod creates refused as a quota would."""

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        async def create(self, res: object, obj: dict, namespace: str | None = None) -> dict:
            raise StatusError(
                403,
                "Forbidden",
                'pods "quota-" is forbidden: exceeded quota: pods, requested: pods=1, '
                "used: pods=0, limited: pods=0",
            )

    controller.pod_control.client = Quota()
    try:
        await client.create(RS, replica_set("quota", 2))

        async def failing() -> dict | None:
            conds = (await get_status(client, RS, "quota")).get("conditions") or []
            return conds[0] if conds else None

        cond = await wait_for(failing, "a ReplicaFailure condition")
        assert cond["type"] == "ReplicaFailure" and cond["status"] == "True"
        assert cond["reason"] == "FailedCreate"
        assert cond["message"].startswith('pods "quota-" is forbidden: exceeded quota')
        (warning, *_) = await wait_for(
            lambda: events(client, "FailedCreate", "quota"), "a FailedCreate event"
        )
        assert warning["type"] == "Warning"
        assert warning["message"].startswith('Error creating: pods "quota-" is forbidden')
    finally:
        controller.pod_control.client = real
    # Creates work again (the retry is rate limited): the condition goes away.
    rs = await client.get(RS, "quota", NS)
    await wait_pod_count(client, meta.uid_of(rs), 2)

    async def healed() -> bool:
        return "conditions" not in await get_status(client, RS, "quota")

    await wait_for(healed, "the condition cleared")


async def test_replication_controller(tmp_path: Path) -> None:
    controllers = {"replicationcontroller": ReplicationControllerController}
    async with control_plane(tmp_path, controllers) as (_, client):
        rc = {
            "apiVersion": "v1",
            "kind": "ReplicationController",
            "metadata": {"name": "legacy", "namespace": NS},
            "spec": {
                "replicas": 2,
                "template": {
                    "metadata": {"labels": {"app": "legacy"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        }
        rc = await client.create(RC, rc)
        pods = await wait_pod_count(client, meta.uid_of(rc), 2)
        (ref,) = pods[0]["metadata"]["ownerReferences"]
        assert ref["apiVersion"] == "v1" and ref["kind"] == "ReplicationController"
        await wait_status(client, RC, "legacy", replicas=2, fullyLabeledReplicas=2)
        created = await events(client, "SuccessfulCreate", "legacy")
        assert {e["source"]["component"] for e in created} == {"replication-controller"}
        await client.patch_scale(RC, "legacy", {"spec": {"replicas": 0}}, NS)
        await wait_pod_count(client, meta.uid_of(rc), 0)
