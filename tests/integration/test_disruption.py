"""PodDisruptionBudget status drives evictions: allowed, then refused with 429."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support_helpers import control_plane, names, pod, set_pod_running, wait_for  # noqa: E402

from pyk8s.client import ApiError
from pyk8s.controllers.disruption import DisruptionController

NS = "default"
CTRL = {"disruption": DisruptionController}


async def _replica_set_with_pods(client, name: str, replicas: int) -> None:
    rss = client.resource("apps/v1", "replicasets")
    rs = await client.create(
        rss,
        {
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        },
        NS,
    )
    ref = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": name,
        "uid": rs["metadata"]["uid"],
        "controller": True,
    }
    for i in range(replicas):
        body = pod(f"{name}-{i}", {"app": name})
        body["metadata"]["ownerReferences"] = [ref]
        await client.create(client.resource("v1", "pods"), body, NS)
        await set_pod_running(client, NS, f"{name}-{i}", f"198.18.0.{i + 10}")


def _pdb(name: str, app: str, **spec) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": app}}, **spec},
    }


async def _status_when(client, name: str, **want) -> dict:
    pdbs = client.resource("policy/v1", "poddisruptionbudgets")

    async def matches():
        st = (await client.get(pdbs, name, NS)).get("status") or {}
        return all(st.get(k) == v for k, v in want.items()) and st

    return await wait_for(matches, what=f"pdb {name} status {want}")


async def _evict(client, name: str) -> None:
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": name, "namespace": NS},
    }
    await client.create_subresource(client.resource("v1", "pods"), name, "eviction", body, NS)


async def test_min_available_allows_one_eviction_then_refuses(tmp_path):
    async with control_plane(tmp_path, CTRL) as (_cp, client):
        await _replica_set_with_pods(client, "web", 3)
        pdbs = client.resource("policy/v1", "poddisruptionbudgets")
        await client.create(pdbs, _pdb("web", "web", minAvailable=2), NS)
        st = await _status_when(client, "web", disruptionsAllowed=1, observedGeneration=1)
        assert (st["currentHealthy"], st["desiredHealthy"], st["expectedPods"]) == (3, 2, 3)
        cond = st["conditions"][0]
        assert (cond["type"], cond["status"], cond["reason"]) == (
            "DisruptionAllowed",
            "True",
            "SufficientPods",
        )
        await _evict(client, "web-0")
        with pytest.raises(ApiError) as refused:
            await _evict(client, "web-1")
        assert refused.value.code == 429
        assert await names(client, client.resource("v1", "pods"), NS) == ["web-1", "web-2"]
        # The evicted pod is gone: its disruptedPods entry is cleared.
        st = await _status_when(client, "web", currentHealthy=2, disruptedPods=None)
        assert st["disruptionsAllowed"] == 0
        assert st["conditions"][0]["reason"] == "InsufficientPods"


async def test_max_unavailable_percent_counts_against_controller_scale(tmp_path):
    async with control_plane(tmp_path, CTRL) as (_cp, client):
        await _replica_set_with_pods(client, "db", 3)
        pdbs = client.resource("policy/v1", "poddisruptionbudgets")
        # The replica set wants 4 pods but has 3: 25% of 4 rounds up to 1 unavailable,
        # so 3 must stay healthy and nothing may be disrupted.
        rss = client.resource("apps/v1", "replicasets")
        await client.patch(rss, "db", {"spec": {"replicas": 4}}, NS, patch_type="merge")
        await client.create(pdbs, _pdb("db", "db", maxUnavailable="25%"), NS)
        st = await _status_when(client, "db", expectedPods=4, observedGeneration=1)
        assert (st["desiredHealthy"], st["currentHealthy"], st["disruptionsAllowed"]) == (3, 3, 0)
        await client.patch(rss, "db", {"spec": {"replicas": 3}}, NS, patch_type="merge")
        await _status_when(client, "db", expectedPods=3, desiredHealthy=2, disruptionsAllowed=1)


async def test_bare_pods_with_percentage_fail_safe(tmp_path):
    async with control_plane(tmp_path, CTRL) as (_cp, client):
        await client.create(client.resource("v1", "pods"), pod("bare", {"app": "bare"}), NS)
        await set_pod_running(client, NS, "bare", "198.18.0.50")
        pdbs = client.resource("policy/v1", "poddisruptionbudgets")
        await client.create(pdbs, _pdb("bare", "bare", minAvailable="50%"), NS)

        async def failed():
            st = (await client.get(pdbs, "bare", NS)).get("status") or {}
            conds = st.get("conditions") or []
            return conds and conds[0]["reason"] == "SyncFailed" and st

        st = await wait_for(failed, what="SyncFailed condition")
        assert st["disruptionsAllowed"] == 0
