"""Garbage collector: background, foreground and orphan propagation over the API."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from support_helpers import control_plane, get_or_none, names, pod, wait_for  # noqa: E402

from pyk8s.controllers.garbagecollector import GarbageCollector

NS = "default"


def _deployment(name: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }


def _owned_by(obj: dict, owner: dict, block: bool = True) -> dict:
    obj["metadata"]["ownerReferences"] = [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": block,
        }
    ]
    return obj


def _replicaset(name: str, app: str) -> dict:
    rs = _deployment(app)
    rs["kind"] = "ReplicaSet"
    rs["metadata"] = {"name": name}
    return rs


async def _tree(client, app: str):
    """A deployment owning a replica set owning two pods, as the controllers make them."""
    deps = client.resource("apps/v1", "deployments")
    rss = client.resource("apps/v1", "replicasets")
    pods = client.resource("v1", "pods")
    d = await client.create(deps, _deployment(app), NS)
    rs = await client.create(rss, _owned_by(_replicaset(f"{app}-rs", app), d), NS)
    for i in range(2):
        await client.create(pods, _owned_by(pod(f"{app}-p{i}", {"app": app}), rs), NS)
    return d, rs


async def test_background_deletion_removes_replicasets_and_pods(tmp_path):
    async with control_plane(tmp_path, {"garbagecollector": GarbageCollector}) as (_cp, client):
        pods = client.resource("v1", "pods")
        rss = client.resource("apps/v1", "replicasets")
        await _tree(client, "web")
        await client.delete(
            client.resource("apps/v1", "deployments"), "web", NS, propagation_policy="Background"
        )

        async def all_gone():
            return not await names(client, rss, NS) and not await names(client, pods, NS)

        await wait_for(all_gone, what="replica set and pods collected")


async def test_foreground_deletion_waits_for_dependents(tmp_path):
    async with control_plane(tmp_path, {"garbagecollector": GarbageCollector}) as (_cp, client):
        deps = client.resource("apps/v1", "deployments")
        pods = client.resource("v1", "pods")
        await _tree(client, "fg")
        # A pod bound to a node stays (terminating) until its kubelet confirms: the
        # deployment must wait for it.
        bound = pod("fg-bound", {"app": "fg"}, node="n1")
        rs = await client.get(client.resource("apps/v1", "replicasets"), "fg-rs", NS)
        await client.create(pods, _owned_by(bound, rs), NS)
        await client.delete(deps, "fg", NS, propagation_policy="Foreground")

        async def only_bound_left():
            return await names(client, pods, NS) == ["fg-bound"]

        await wait_for(only_bound_left, what="unbound pods deleted")
        terminating = await client.get(pods, "fg-bound", NS)
        assert terminating["metadata"].get("deletionTimestamp")
        d = await client.get(deps, "fg", NS)
        assert "foregroundDeletion" in d["metadata"]["finalizers"]
        # The kubelet's final delete: then the replica set and the deployment go.
        await client.delete(pods, "fg-bound", NS, grace_period_seconds=0)

        async def deployment_gone():
            return await get_or_none(client, deps, "fg", NS) is None

        await wait_for(deployment_gone, what="deployment deleted after its dependents")
        assert await names(client, client.resource("apps/v1", "replicasets"), NS) == []


async def test_orphan_deletion_keeps_dependents_without_owner(tmp_path):
    async with control_plane(tmp_path, {"garbagecollector": GarbageCollector}) as (_cp, client):
        rss = client.resource("apps/v1", "replicasets")
        pods = client.resource("v1", "pods")
        _d, rs = await _tree(client, "orph")
        await client.delete(rss, "orph-rs", NS, propagation_policy="Orphan")

        async def rs_gone():
            return await get_or_none(client, rss, "orph-rs", NS) is None

        await wait_for(rs_gone, what="orphaned replica set deleted")
        for i in range(2):
            p = await client.get(pods, f"orph-p{i}", NS)
            assert not p["metadata"].get("ownerReferences")


async def test_owner_name_with_other_uid_is_garbage(tmp_path):
    async with control_plane(tmp_path, {"garbagecollector": GarbageCollector}) as (_cp, client):
        rss = client.resource("apps/v1", "replicasets")
        pods = client.resource("v1", "pods")
        rs = await client.create(rss, _replicaset("same-name", "x"), NS)
        stale = {
            **rs,
            "metadata": {**rs["metadata"], "uid": "00000000-dead-beef-0000-000000000000"},
        }
        await client.create(pods, _owned_by(pod("stale", {"app": "x"}), stale), NS)
        await client.create(pods, _owned_by(pod("kept", {"app": "x"}), rs), NS)

        async def stale_gone():
            return await names(client, pods, NS) == ["kept"]

        await wait_for(stale_gone, what="pod with a stale owner uid collected")


async def test_dangling_reference_removed_when_another_owner_remains(tmp_path):
    async with control_plane(tmp_path, {"garbagecollector": GarbageCollector}) as (_cp, client):
        cms = client.resource("v1", "configmaps")
        owner = await client.create(cms, {"metadata": {"name": "owner"}}, NS)
        gone = await client.create(cms, {"metadata": {"name": "gone"}}, NS)
        refs = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": o["metadata"]["name"],
                "uid": o["metadata"]["uid"],
            }
            for o in (owner, gone)
        ]
        await client.create(cms, {"metadata": {"name": "dep", "ownerReferences": refs}}, NS)
        await client.delete(cms, "gone", NS)

        async def one_ref_left():
            dep = await client.get(cms, "dep", NS)
            return [r["name"] for r in dep["metadata"].get("ownerReferences") or []] == ["owner"]

        await wait_for(one_ref_left, what="dangling reference dropped")
