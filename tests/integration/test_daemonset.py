"""DaemonSet: a pod per eligible node, scheduled by affinity, rolled out to a new template."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from support_helpers import control_plane, node, set_pod_running, wait_for  # noqa: E402

from pyk8s.controllers.daemonset import DaemonSetsController
from pyk8s.controllers.daemonset_util import target_node

NS = "default"
CTRL = {"daemonset": DaemonSetsController}


def _daemonset(name: str, image: str = "agent:1") -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "nodeSelector": {"role": "web"},
                    "containers": [{"name": "agent", "image": image}],
                },
            },
        },
    }


@contextlib.asynccontextmanager
async def fake_kubelets(client):
    """Bind unscheduled pods to their affinity node, run them, finish deletions."""
    pods = client.resource("v1", "pods")
    running: set[str] = set()

    async def step() -> None:
        for p in (await client.list(pods, NS))["items"]:
            name = p["metadata"]["name"]
            with contextlib.suppress(Exception):
                if p["metadata"].get("deletionTimestamp"):
                    await client.delete(pods, name, NS, grace_period_seconds=0)
                elif not p["spec"].get("nodeName"):
                    binding = {"target": {"kind": "Node", "name": target_node(p)}}
                    body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}}
                    await client.create_subresource(pods, name, "binding", body | binding, NS)
                elif p["metadata"]["uid"] not in running:
                    await set_pod_running(client, NS, name, f"10.42.9.{len(running) + 1}")
                    running.add(p["metadata"]["uid"])

    async def loop() -> None:
        while True:
            await step()
            await asyncio.sleep(0.05)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _ds_pods(client) -> list[dict]:
    items = (await client.list(client.resource("v1", "pods"), NS, label_selector="app=agent"))[
        "items"
    ]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


async def _nodes(client) -> None:
    nodes = client.resource("v1", "nodes")
    await client.create(nodes, node("a", {"role": "web"}))
    unschedulable = node("b", {"role": "web"})
    unschedulable["spec"]["unschedulable"] = True
    await client.create(nodes, unschedulable)
    taint = [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]
    await client.create(nodes, node("c", {"role": "web"}, taints=taint))
    await client.create(nodes, node("d", {"role": "db"}))


async def test_one_pod_per_eligible_node_with_affinity_and_tolerations(tmp_path):
    async with control_plane(tmp_path, CTRL) as (_cp, client):
        await _nodes(client)
        dss = client.resource("apps/v1", "daemonsets")
        await client.create(dss, _daemonset("agent"), NS)

        async def two_pods():
            pods = await _ds_pods(client)
            return len(pods) == 2 and pods

        pods = await wait_for(two_pods, what="daemon pods on a and b")
        assert sorted(target_node(p) for p in pods) == ["a", "b"]
        p = pods[0]
        assert not p["spec"].get("nodeName")
        terms = p["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]["nodeSelectorTerms"]
        assert terms == [
            {
                "matchFields": [
                    {"key": "metadata.name", "operator": "In", "values": [target_node(p)]}
                ]
            }
        ]
        keys = {(t["key"], t["effect"]) for t in p["spec"]["tolerations"]}
        assert ("node.kubernetes.io/unschedulable", "NoSchedule") in keys
        assert ("node.kubernetes.io/not-ready", "NoExecute") in keys
        ref = p["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["apiVersion"], ref["name"], ref["controller"]) == (
            "DaemonSet",
            "apps/v1",
            "agent",
            True,
        )
        hash_ = p["metadata"]["labels"]["controller-revision-hash"]
        revs = (await client.list(client.resource("apps/v1", "controllerrevisions"), NS))["items"]
        assert [(r["metadata"]["name"], r["revision"]) for r in revs] == [(f"agent-{hash_}", 1)]

        async def status():
            st = (await client.get(dss, "agent", NS)).get("status") or {}
            return st.get("currentNumberScheduled") == 2 and st

        st = await wait_for(status, what="status counted")
        assert st["desiredNumberScheduled"] == 2
        assert st["numberMisscheduled"] == 0
        assert st["numberReady"] == 0
        assert st["numberUnavailable"] == 2
        assert st["updatedNumberScheduled"] == 2

        events = await client.list(
            client.resource("v1", "events"), NS, field_selector="reason=SuccessfulCreate"
        )
        assert {e["source"]["component"] for e in events["items"]} == {"daemonset-controller"}
        assert all(e["message"].startswith("Created pod: agent-") for e in events["items"])

        # A node losing the label loses its pod; a new eligible node gets one.
        await client.patch(
            client.resource("v1", "nodes"),
            "a",
            {"metadata": {"labels": {"role": "db"}}},
            patch_type="merge",
        )
        await client.create(client.resource("v1", "nodes"), node("e", {"role": "web"}))

        async def moved():
            pods = await _ds_pods(client)
            return sorted(target_node(p) for p in pods) == ["b", "e"]

        await wait_for(moved, what="pods follow node labels")


async def test_rolling_update_replaces_pods_one_node_at_a_time(tmp_path):
    async with control_plane(tmp_path, CTRL) as (_cp, client), fake_kubelets(client):
        await _nodes(client)
        dss = client.resource("apps/v1", "daemonsets")
        await client.create(dss, _daemonset("agent"), NS)

        async def ready(image: str):
            st = (await client.get(dss, "agent", NS)).get("status") or {}
            pods = await _ds_pods(client)
            images = {p["spec"]["containers"][0]["image"] for p in pods}
            return (
                st.get("numberAvailable") == 2
                and st.get("updatedNumberScheduled") == 2
                and images == {image}
            )

        await wait_for(lambda: ready("agent:1"), what="first rollout")
        max_unavailable_seen = 0

        patch = {
            "spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}}
        }
        await client.patch(dss, "agent", patch, NS)

        async def done_and_watch():
            nonlocal max_unavailable_seen
            st = (await client.get(dss, "agent", NS)).get("status") or {}
            max_unavailable_seen = max(max_unavailable_seen, st.get("numberUnavailable", 0))
            return await ready("agent:2")

        await wait_for(done_and_watch, timeout=15, what="rolled out to agent:2")
        assert max_unavailable_seen <= 1
        revs = (await client.list(client.resource("apps/v1", "controllerrevisions"), NS))["items"]
        assert sorted(r["revision"] for r in revs) == [1, 2]
        st = (await client.get(dss, "agent", NS))["status"]
        assert st["observedGeneration"] == 2


async def test_deleted_daemon_pod_is_recreated(tmp_path):
    async with control_plane(tmp_path, CTRL) as (_cp, client):
        await client.create(client.resource("v1", "nodes"), node("a", {"role": "web"}))
        await client.create(client.resource("apps/v1", "daemonsets"), _daemonset("agent"), NS)

        async def one():
            pods = await _ds_pods(client)
            return len(pods) == 1 and pods[0]

        first = await wait_for(one, what="daemon pod")
        await client.delete(client.resource("v1", "pods"), first["metadata"]["name"], NS)

        async def replaced():
            pods = await _ds_pods(client)
            return len(pods) == 1 and pods[0]["metadata"]["uid"] != first["metadata"]["uid"]

        await wait_for(replaced, what="replacement pod")
