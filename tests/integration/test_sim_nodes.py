"""Simulated nodes against a real API server: registration, pods through their
lifecycle, failure paths (unpullable, crashing, frozen node) and agent restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import kubernetes.client
import pytest
from sim_helpers import condition, pod, sim_cluster, wait_for

from pyk8s.client import ApiError
from pyk8s.kubelet.runtime.sim import SimConfig

PODS = ("v1", "pods")


async def _phase(client, name: str, want: str):
    p = await client.get(client.resource(*PODS), name, "default")
    return p if (p.get("status") or {}).get("phase") == want else None


async def _events(client, name: str) -> list[tuple[str, str, str]]:
    items = (await client.list(client.resource("v1", "events"), "default"))["items"]
    return [
        (e["source"].get("component", ""), e["reason"], e["message"])
        for e in items
        if e["involvedObject"]["name"] == name
    ]


async def test_pod_runs_with_ip_from_node_cidr_and_upstream_status(tmp_path, monkeypatch) -> None:
    async with sim_cluster(tmp_path, ["w1-k8s", "w2-k8s"], monkeypatch) as (plane, _pool, client):
        nodes = (await client.list(client.resource("v1", "nodes")))["items"]
        assert sorted(n["metadata"]["name"] for n in nodes) == ["w1-k8s", "w2-k8s"]
        await wait_for(
            lambda: _no_taints(client, "w1-k8s")
        )  # the lifecycle controller lifts not-ready
        await client.create(client.resource(*PODS), pod("web", "w2-k8s"))
        running = await wait_for(lambda: _phase(client, "web", "Running"))
        status = running["status"]
        assert status["podIP"].startswith("198.18.1.")  # w2's /24
        assert status["hostIP"] == "127.0.0.1"
        cs = status["containerStatuses"][0]
        assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
        assert cs["image"] == "docker.io/library/nginx:latest"
        assert [c["type"] for c in status["conditions"]][:4] == [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
        ]
        model = kubernetes.client.ApiClient()._ApiClient__deserialize(running, "V1Pod")
        assert model.status.pod_ip == status["podIP"]
        reasons = [r for comp, r, _ in await _events(client, "web") if comp == "kubelet"]
        assert {"Pulling", "Pulled", "Created", "Started"} <= set(reasons)
        # The server runs on this loop: kubectl must not block it.
        proc = await asyncio.create_subprocess_exec(
            "kubectl",
            "--kubeconfig",
            str(plane.kubeconfig),
            "get",
            "pods",
            "-o",
            "wide",
            stdout=asyncio.subprocess.PIPE,
        )
        out = (await asyncio.wait_for(proc.communicate(), 30))[0].decode()
        row = next(line for line in out.splitlines() if line.startswith("web "))
        assert "Running" in row and status["podIP"] in row and "w2-k8s" in row


async def _no_taints(client, node: str):
    n = await client.get(client.resource("v1", "nodes"), node)
    return not (n.get("spec") or {}).get("taints")


async def test_graceful_deletion_finishes_the_delete(tmp_path, monkeypatch) -> None:
    async with sim_cluster(tmp_path, ["w1"], monkeypatch) as (_plane, _pool, client):
        pods = client.resource(*PODS)
        await client.create(pods, pod("web", "w1"))
        await wait_for(lambda: _phase(client, "web", "Running"))
        deleted = await client.delete(pods, "web", "default")
        assert deleted["metadata"].get("deletionTimestamp")  # graceful: the kubelet finishes it

        async def gone():
            try:
                await client.get(pods, "web", "default")
            except ApiError as err:
                return err.code == 404
            return False

        await wait_for(gone)
        assert ("kubelet", "Killing", "Stopping container c") in await _events(client, "web")


async def test_unpullable_and_crashing_images(tmp_path, monkeypatch) -> None:
    sim = SimConfig(unpullable=["nginx:1.17.23"], crashing=["busybox*"], crash_after=0.05)
    async with sim_cluster(
        tmp_path, ["w1"], monkeypatch, sim=sim, backoff_initial=0.5, error_resync=0.1
    ) as (_plane, _pool, client):
        pods = client.resource(*PODS)
        await client.create(pods, pod("bad", "w1", "nginx:1.17.23"))
        await client.create(pods, pod("crash", "w1", "busybox"))

        async def waiting(name: str, reason: str):
            p = await client.get(pods, name, "default")
            statuses = (p.get("status") or {}).get("containerStatuses") or []
            ok = statuses and statuses[0]["state"].get("waiting", {}).get("reason") == reason
            return p if ok else None

        bad = await wait_for(lambda: waiting("bad", "ImagePullBackOff"))
        assert bad["status"]["phase"] == "Pending"
        events = await _events(client, "bad")
        assert ("kubelet", "BackOff", 'Back-off pulling image "nginx:1.17.23"') in events
        assert ("kubelet", "Failed", "Error: ErrImagePull") in events
        crash = await wait_for(lambda: waiting("crash", "CrashLoopBackOff"))
        cs = crash["status"]["containerStatuses"][0]
        assert cs["restartCount"] >= 1 and cs["lastState"]["terminated"]["exitCode"] == 1
        assert crash["status"]["phase"] == "Running"


async def test_frozen_node_goes_unknown_and_its_pods_are_evicted(tmp_path, monkeypatch) -> None:
    lifecycle = {"grace_period": 0.6, "monitor_period": 0.1, "toleration_seconds_cap": 0.5}
    async with sim_cluster(tmp_path, ["w1", "w2"], monkeypatch, lifecycle=lifecycle) as (
        _plane,
        pool,
        client,
    ):
        pods, nodes = client.resource(*PODS), client.resource("v1", "nodes")
        await client.create(pods, pod("app", "w1"))
        daemon = {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
        }
        await client.create(pods, pod("daemon", "w1", tolerations=[daemon]))
        await wait_for(lambda: _phase(client, "app", "Running"))
        await wait_for(lambda: _phase(client, "daemon", "Running"))
        pool.freeze("w1")

        async def unknown():
            n = await client.get(nodes, "w1")
            return n if condition(n, "Ready").get("status") == "Unknown" else None

        node = await wait_for(unknown)
        assert condition(node, "Ready")["reason"] == "NodeStatusUnknown"
        assert condition(node, "MemoryPressure")["status"] == "Unknown"

        async def evicted():
            p = await client.get(pods, "app", "default")
            return p if p["metadata"].get("deletionTimestamp") else None

        app = await wait_for(evicted)
        assert condition(app, "DisruptionTarget")["reason"] == "DeletionByTaintManager"
        node = await client.get(nodes, "w1")
        taints = {(t["key"], t["effect"]) for t in node["spec"]["taints"]}
        assert taints == {
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoSchedule"),
        }
        kept = await client.get(pods, "daemon", "default")
        assert not kept["metadata"].get("deletionTimestamp")
        assert condition(kept, "Ready")["status"] == "False"  # marked NotReady
        assert (await client.get(nodes, "w2"))["spec"].get("taints") is None
        # Back to life: Ready again, taints lifted, and the evicted pod finally goes.
        pool.thaw("w1")
        await wait_for(lambda: _no_taints(client, "w1"))

        async def app_gone():
            try:
                await client.get(pods, "app", "default")
            except ApiError as err:
                return err.code == 404
            return False

        await wait_for(app_gone)

        async def daemon_ready():
            p = await client.get(pods, "daemon", "default")
            return condition(p, "Ready").get("status") == "True"

        await wait_for(daemon_ready)


async def test_frozen_by_annotation(tmp_path, monkeypatch) -> None:
    async with sim_cluster(tmp_path, ["w1"], monkeypatch) as (_plane, pool, client):
        nodes = client.resource("v1", "nodes")
        patch = {"metadata": {"annotations": {"sim.pyk8s.io/frozen": "true"}}}
        await client.patch(nodes, "w1", patch, patch_type="merge")
        await wait_for(lambda: _frozen(pool, "w1", True))
        patch = {"metadata": {"annotations": {"sim.pyk8s.io/frozen": None}}}
        await client.patch(nodes, "w1", patch, patch_type="merge")
        await wait_for(lambda: _frozen(pool, "w1", False))


async def _frozen(pool, name: str, want: bool) -> bool:
    return pool.kubelet(name).frozen is want


async def test_agent_restart_adopts_running_pods(tmp_path: Path, monkeypatch) -> None:
    async with sim_cluster(tmp_path, ["w1"], monkeypatch) as (plane, pool, client):
        pods = client.resource(*PODS)
        await client.create(pods, pod("web", "w1"))
        before = await wait_for(lambda: _phase(client, "web", "Running"))
        await pool.stop()
        from pyk8s.kubelet import NodeConfig, NodePool
        from pyk8s.kubelet.runtime.sim import SimRuntime

        again = NodePool(client)
        again.add(NodeConfig("w1", fallback_pod_cidr="198.18.0.0/24"), SimRuntime())
        await again.start()
        try:
            await asyncio.sleep(0.5)
            after = await client.get(pods, "web", "default")
            cs_before = before["status"]["containerStatuses"][0]
            cs_after = after["status"]["containerStatuses"][0]
            assert after["status"]["podIP"] == before["status"]["podIP"]
            assert cs_after["containerID"] == cs_before["containerID"]
            assert cs_after["restartCount"] == 0
        finally:
            await again.stop()


@pytest.fixture(autouse=True)
def _fast_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")
