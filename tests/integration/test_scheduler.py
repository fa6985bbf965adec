"""The scheduler in a control plane: nodes posted as a kubelet would, pods bound by
the rules, the Scheduled event, and upstream's FailedScheduling message for a pod
that fits nowhere until a node appears."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from scheduler_helpers import node, pod

from pyk8s.client import Client
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig

PODS = Client.resource("v1", "pods")
NODES = Client.resource("v1", "nodes")
EVENTS = Client.resource("v1", "events")


@contextlib.asynccontextmanager
async def scheduler_plane(tmp_path) -> AsyncIterator[Client]:
    cp = ControlPlane(
        ControlPlaneConfig(data_dir=tmp_path, port=0, durable=False, controllers=[], scheduler=True)
    )
    await cp.start()
    client = cp.new_client("scheduler-test")
    try:
        yield client
    finally:
        await client.close()
        await cp.stop()


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


def node_of(client: Client, name: str) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        return (await client.get(PODS, name, "default")).get("spec", {}).get("nodeName", "")

    return check


async def events_for(client: Client, name: str, reason: str) -> list[dict]:
    items = (await client.list(EVENTS, "default"))["items"]
    return [e for e in items if e["involvedObject"].get("name") == name and e["reason"] == reason]


@pytest.fixture
async def plane(tmp_path):
    async with scheduler_plane(tmp_path) as client:
        control = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
        for n in (
            node("m-k8s", taints=[control]),
            node("w1-k8s", cpu="2", labels={"disk": "ssd"}),
            node("w2-k8s", cpu="2"),
            node("w3-k8s", cpu="2", unschedulable=True),
        ):
            await client.create(NODES, n)
        yield client


async def test_binding_rules_and_scheduled_event(plane):
    client = plane
    await client.create(PODS, pod("nginx-pod"))
    assigned = await wait_for(node_of(client, "nginx-pod"))
    assert assigned in ("w1-k8s", "w2-k8s")  # not the tainted master, not cordoned w3
    events = await wait_for(lambda: events_for(client, "nginx-pod", "Scheduled"))
    assert events[0]["message"] == f"Successfully assigned default/nginx-pod to {assigned}"
    assert events[0]["source"]["component"] == "default-scheduler"
    assert events[0]["type"] == "Normal"

    await client.create(PODS, pod("ssd", nodeSelector={"disk": "ssd"}))
    assert await wait_for(node_of(client, "ssd")) == "w1-k8s"

    tolerant = pod(
        "on-master",
        tolerations=[{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}],
        nodeSelector={"kubernetes.io/hostname": "m-k8s"},
    )
    await client.create(PODS, tolerant)
    assert await wait_for(node_of(client, "on-master")) == "m-k8s"

    # Fill both workers' cpu: the next 1.5-cpu pod has nowhere to go but w3 (cordoned).
    for name in ("fill-1", "fill-2"):
        await client.create(PODS, pod(name, cpu="1500m"))
    placed = {await wait_for(node_of(client, n)) for n in ("fill-1", "fill-2")}
    assert placed == {"w1-k8s", "w2-k8s"}


async def test_unschedulable_pod_reports_then_schedules_when_a_node_appears(plane):
    client = plane
    await client.create(PODS, pod("big", cpu="3"))
    expected = (
        "0/4 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable, "
        "2 Insufficient cpu. preemption: 0/4 nodes are available: 2 No preemption victims "
        "found for incoming pod, 2 Preemption is not helpful for scheduling.."
    )

    async def condition() -> dict | None:
        obj = await client.get(PODS, "big", "default")
        conds = obj.get("status", {}).get("conditions") or []
        return next((c for c in conds if c["type"] == "PodScheduled"), None)

    cond = await wait_for(condition)
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", expected)
    events = await wait_for(lambda: events_for(client, "big", "FailedScheduling"))
    assert events[0]["message"] == expected
    assert events[0]["type"] == "Warning"
    assert events[0]["source"]["component"] == "default-scheduler"
    assert (await client.get(PODS, "big", "default"))["spec"].get("nodeName") is None

    await client.create(NODES, node("w4-k8s", cpu="4"))
    assert await wait_for(node_of(client, "big")) == "w4-k8s"


async def test_uncordon_lets_pods_in(plane):
    client = plane
    await client.create(PODS, pod("only-w3", nodeSelector={"kubernetes.io/hostname": "w3-k8s"}))
    await wait_for(lambda: events_for(client, "only-w3", "FailedScheduling"))
    await client.patch(NODES, "w3-k8s", {"spec": {"unschedulable": None}}, patch_type="merge")
    assert await wait_for(node_of(client, "only-w3")) == "w3-k8s"


async def test_no_nodes_message(tmp_path):
    async with scheduler_plane(tmp_path) as client:
        await client.create(PODS, pod("lonely"))
        events = await wait_for(lambda: events_for(client, "lonely", "FailedScheduling"))
        assert events[0]["message"] == "no nodes available to schedule pods"
