"""Namespace deletion: content removed (waiting for terminating pods), then the namespace."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from support_helpers import control_plane, get_or_none, names, pod, wait_for  # noqa: E402

from pyk8s.controllers.namespace import NamespaceController


async def test_namespace_deletion_removes_content_then_namespace(tmp_path):
    ctrl = {"namespace": NamespaceController}
    opts = {"namespace": {"recheck_interval": 0.1}}
    async with control_plane(tmp_path, ctrl, opts) as (_cp, client):
        nss = client.resource("v1", "namespaces")
        pods = client.resource("v1", "pods")
        cms = client.resource("v1", "configmaps")
        await client.create(nss, {"metadata": {"name": "doomed"}})
        await client.create(cms, {"metadata": {"name": "cfg"}}, "doomed")
        await client.create(pods, pod("free", {"a": "b"}), "doomed")
        await client.create(pods, pod("bound", {"a": "b"}, node="n1"), "doomed")
        await client.delete(nss, "doomed")

        async def only_bound_pod_left():
            return await names(client, pods, "doomed") == ["bound"] and not await names(
                client, cms, "doomed"
            )

        await wait_for(only_bound_pod_left, what="content deleted but the terminating pod")

        async def conditions_report_pod():
            ns = await client.get(nss, "doomed")
            conds = {c["type"]: c for c in ns.get("status", {}).get("conditions") or []}
            remaining = conds.get("NamespaceContentRemaining") or {}
            return remaining.get("status") == "True" and remaining

        remaining = await wait_for(conditions_report_pod, what="NamespaceContentRemaining")
        assert remaining["reason"] == "SomeResourcesRemain"
        assert (
            remaining["message"] == "Some resources are remaining: pods. has 1 resource instances"
        )
        ns = await client.get(nss, "doomed")
        assert ns["status"]["phase"] == "Terminating"
        # The kubelet confirms the pod's end: the namespace can go.
        await client.delete(pods, "bound", "doomed", grace_period_seconds=0)

        async def namespace_gone():
            return await get_or_none(client, nss, "doomed") is None

        await wait_for(namespace_gone, what="namespace deleted")


async def test_namespace_not_deleting_is_left_alone(tmp_path):
    async with control_plane(tmp_path, {"namespace": NamespaceController}) as (_cp, client):
        nss = client.resource("v1", "namespaces")
        cms = client.resource("v1", "configmaps")
        await client.create(nss, {"metadata": {"name": "alive"}})
        await client.create(cms, {"metadata": {"name": "cfg"}}, "alive")
        assert await names(client, cms, "alive") == ["cfg"]
