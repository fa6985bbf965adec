"""Node IPAM: a /24 per node from the cluster CIDR, kept across restarts, released on delete."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from support_helpers import control_plane, node, wait_for  # noqa: E402

from pyk8s.controllers.nodeipam import NodeIpamController

CTRL = {"nodeipam": NodeIpamController}


async def _cidr_of(client, name: str) -> str:
    n = await client.get(client.resource("v1", "nodes"), name)
    return (n.get("spec") or {}).get("podCIDR", "")


async def _wait_cidr(client, name: str) -> str:
    async def has():
        return await _cidr_of(client, name)

    return await wait_for(has, what=f"podCIDR on {name}")


async def test_nodes_get_distinct_pod_cidrs(tmp_path):
    opts = {"nodeipam": {"cluster_cidr": "198.18.0.0/16"}}
    async with control_plane(tmp_path, CTRL, opts) as (_cp, client):
        nodes = client.resource("v1", "nodes")
        for name in ("m", "w1", "w2"):
            await client.create(nodes, node(name))
        cidrs = [await _wait_cidr(client, n) for n in ("m", "w1", "w2")]
        assert sorted(cidrs) == ["198.18.0.0/24", "198.18.1.0/24", "198.18.2.0/24"]
        n = await client.get(nodes, "w1")
        assert n["spec"]["podCIDRs"] == [n["spec"]["podCIDR"]]
        # A deleted node's range goes back to the pool.
        freed = await _cidr_of(client, "w1")
        await client.delete(nodes, "w1")
        await client.create(nodes, node("w3"))
        assert await _wait_cidr(client, "w3") == freed


async def test_custom_cidr_and_existing_allocations_respected(tmp_path):
    opts = {"nodeipam": {"cluster_cidr": "198.19.0.0/16", "node_cidr_mask_size": 25}}
    async with control_plane(tmp_path, CTRL, opts) as (cp, client):
        nodes = client.resource("v1", "nodes")
        # A node that already has the first range (as after a restart): never handed out twice.
        taken = node("old")
        taken["spec"] = {"podCIDR": "198.19.0.0/25", "podCIDRs": ["198.19.0.0/25"]}
        await client.create(nodes, taken)
        await client.create(nodes, node("new"))
        assert await _wait_cidr(client, "new") == "198.19.0.128/25"
