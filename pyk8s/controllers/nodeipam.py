"""Node IPAM: every node gets a pod CIDR carved out of the cluster CIDR (upstream's
node-ipam-controller with the RangeAllocator, as k3s runs it: --cluster-cidr
10.42.0.0/16, a /24 per node).

Allocations live only in the nodes themselves: the initial list marks every
node's spec.podCIDR as taken before any worker runs, so a restart never hands out
a range twice; a deleted node's range is released.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from pyk8s.client import is_not_found
from pyk8s.controllers.base import Controller

Obj = dict[str, Any]
log = logging.getLogger(__name__)

DEFAULT_CLUSTER_CIDR = "10.42.0.0/16"
DEFAULT_MASK_SIZE = 24

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CIDRSet:
    """The /mask subnets of a cluster CIDR, each free or taken (upstream's cidrset)."""

    def __init__(self, cluster_cidr: str, mask_size: int) -> None:
        self.cluster = ipaddress.ip_network(cluster_cidr, strict=False)
        if mask_size < self.cluster.prefixlen:
            raise ValueError(
                f"node CIDR mask size {mask_size} is smaller than the cluster CIDR's /{self.cluster.prefixlen}"
            )
        self.mask_size = mask_size
        self.size = 1 << (mask_size - self.cluster.prefixlen)
        self._step = 1 << (self.cluster.max_prefixlen - mask_size)
        self._used: set[int] = set()

    def _index(self, cidr: str) -> int | None:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        if net.version != self.cluster.version or net.prefixlen != self.mask_size:
            return None
        if not net.subnet_of(self.cluster):  # type: ignore[arg-type]
            return None
        return (int(net.network_address) - int(self.cluster.network_address)) // self._step

    def _cidr(self, index: int) -> str:
        base = int(self.cluster.network_address) + index * self._step
        return str(ipaddress.ip_network((base, self.mask_size)))

    def occupy(self, cidr: str) -> bool:
        """Mark a node's existing CIDR as taken; False if it is not one of ours."""
        index = self._index(cidr)
        if index is None:
            return False
        self._used.add(index)
        return True

    def release(self, cidr: str) -> None:
        index = self._index(cidr)
        if index is not None:
            self._used.discard(index)

    def allocate(self) -> str | None:
        """The lowest free subnet, now taken; None when the range is exhausted."""
        for index in range(self.size):
            if index not in self._used:
                self._used.add(index)
                return self._cidr(index)
        return None


def _pod_cidrs(node: Obj) -> list[str]:
    spec = node.get("spec") or {}
    cidrs = list(spec.get("podCIDRs") or [])
    if not cidrs and spec.get("podCIDR"):
        cidrs = [spec["podCIDR"]]
    return cidrs


class NodeIpamController(Controller):
    name = "nodeipam"
    # Upstream runs 30 CIDR update workers; allocation itself happens before any await,
    # so workers still hand out CIDRs in queue order. One worker made 5,000 joining
    # nodes wait for 5,000 PATCH round trips in a row.
    workers = 30

    def setup(self) -> None:
        self.cidrs = CIDRSet(
            str(self.options.get("cluster_cidr") or DEFAULT_CLUSTER_CIDR),
            int(self.options.get("node_cidr_mask_size") or DEFAULT_MASK_SIZE),
        )
        self.recorder.component = "node-ipam-controller"
        # node name -> the CIDR we handed out or saw, so a delete releases the right one
        self.assigned: dict[str, str] = {}
        self.nodes = self.informer("v1", "nodes")
        self.nodes.add_handler(
            on_add=self._on_node,
            on_update=lambda _old, new: self._on_node(new),
            on_delete=self._on_delete,
        )

    def _on_node(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        cidrs = _pod_cidrs(node)
        if cidrs:
            for cidr in cidrs:
                self.cidrs.occupy(cidr)
            self.assigned[name] = cidrs[0]
        else:
            self.enqueue(node)

    def _on_delete(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        for cidr in {*_pod_cidrs(node), self.assigned.pop(name, "")} - {""}:
            self.cidrs.release(cidr)

    async def sync(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None or _pod_cidrs(node):
            return
        if key in self.assigned:
            cidr = self.assigned[key]  # handed out already; our cache has not seen it yet
        else:
            cidr = self.cidrs.allocate()
            if cidr is None:
                await self.recorder.event(
                    node,
                    "Normal",
                    "CIDRNotAvailable",
                    f"Node {key} status is now: CIDRNotAvailable",
                )
                raise RuntimeError(f"no pod CIDR left in {self.cidrs.cluster} for node {key}")
            self.assigned[key] = cidr
        await self._assign(node, cidr)

    async def _assign(self, node: Obj, cidr: str) -> None:
        name = node["metadata"]["name"]
        patch = {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}
        try:
            await self.client.patch(self.nodes.res, name, patch, patch_type="merge")
        except Exception as e:
            if is_not_found(e):
                self.cidrs.release(self.assigned.pop(name, cidr))
                return
            await self.recorder.event(
                node,
                "Normal",
                "CIDRAssignmentFailed",
                f"Node {name} status is now: CIDRAssignmentFailed",
            )
            raise
        log.info("node %s: podCIDR %s", name, cidr)
