"""Many kubelets in one process, sharing one client, one node informer and one
pod informer (what KWOK does for scale): `pyk8s up` runs its simulated nodes
this way, and a single `pyk8s agent` is a pool of one (whose informers then
select only its own node and pods, as upstream's kubelet does).

    pool = NodePool(client)
    pool.add(NodeConfig("w1-k8s"), SimRuntime())
    await pool.start()          # registers every node, then heartbeats
    pool.freeze("w1-k8s")       # its heartbeats stop: the node goes NotReady
    await pool.join(NodeConfig("w2-k8s"), SimRuntime())   # a node added while running
    await pool.remove("w2-k8s") # its kubelet stops (the Node object stays)
    await pool.stop()

A pool made with `dynamic=True` (test fixtures) keeps informers that see every
node and pod even when it starts with a single node, so nodes can join later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

from pyk8s.client import Client, Informer
from pyk8s.client.clock import Clock
from pyk8s.kubelet.agent import Kubelet
from pyk8s.kubelet.nodestatus import NodeConfig
from pyk8s.kubelet.runtime.base import Runtime

Obj = dict[str, Any]
log = logging.getLogger(__name__)

REGISTER_CONCURRENCY = 64


def derived_pod_cidr(index: int, base: str = "10.128.0.0/9") -> str:
    """A /24 per node index inside `base`, for pools run without node IPAM (tests).
    Node IPAM's spec.podCIDR wins whenever the node has one."""
    net = ipaddress.ip_network(base)
    subnets = 2 ** (24 - net.prefixlen)
    first = int(net.network_address) + (index % subnets) * 256
    return f"{ipaddress.ip_address(first)}/24"


def sim_node_ip(index: int) -> str:
    """A loopback address per simulated node (nothing is ever sent to it)."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


class NodePool:
    def __init__(
        self,
        client: Client,
        *,
        clock: Clock | None = None,
        events: bool = True,
        dynamic: bool = False,
        **worker_options: Any,
    ) -> None:
        self.client = client
        self.clock = clock
        self.events = events
        self.dynamic = dynamic
        self.worker_options = worker_options
        self.kubelets: dict[str, Kubelet] = {}
        self.node_informer: Informer | None = None
        self.pod_informer: Informer | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    def add(self, config: NodeConfig, runtime: Runtime) -> Kubelet:
        if config.name in self.kubelets:
            raise ValueError(f"node {config.name} is already in the pool")
        kubelet = Kubelet(
            self.client,
            config,
            runtime,
            clock=self.clock,
            events=self.events,
            **self.worker_options,
        )
        self.kubelets[config.name] = kubelet
        return kubelet

    def kubelet(self, name: str) -> Kubelet:
        return self.kubelets[name]

    # -- running ------------------------------------------------------------------

    async def start(self) -> None:
        """Register every node, then start the informers that feed them."""
        sem = asyncio.Semaphore(REGISTER_CONCURRENCY)

        async def start_one(k: Kubelet) -> None:
            async with sem:
                await k.start()

        await asyncio.gather(*(start_one(k) for k in self.kubelets.values()))
        self._start_informers()
        assert self.node_informer is not None and self.pod_informer is not None
        await asyncio.gather(self.node_informer.wait_synced(), self.pod_informer.wait_synced())

    def _start_informers(self) -> None:
        node_selector = pod_selector = ""
        if len(self.kubelets) == 1 and not self.dynamic:
            only = next(iter(self.kubelets))
            node_selector, pod_selector = f"metadata.name={only}", f"spec.nodeName={only}"
        else:
            pod_selector = "spec.nodeName!="
        opts: Any = {"clock": self.clock} if self.clock is not None else {}
        self.node_informer = Informer(
            self.client, self.client.resource("v1", "nodes"), field_selector=node_selector, **opts
        )
        self.pod_informer = Informer(
            self.client, self.client.resource("v1", "pods"), field_selector=pod_selector, **opts
        )
        self.node_informer.add_handler(self._node_event, lambda _o, n: self._node_event(n))
        self.pod_informer.add_handler(
            self._pod_event, lambda _o, n: self._pod_event(n), self._pod_gone
        )
        self._tasks = [self.node_informer.start(), self.pod_informer.start()]

    async def stop(self) -> None:
        for informer in (self.pod_informer, self.node_informer):
            if informer is not None:
                await informer.stop()
        await asyncio.gather(*(k.stop() for k in self.kubelets.values()), return_exceptions=True)

    async def join(self, config: NodeConfig, runtime: Runtime) -> Kubelet:
        """Add a node to a running pool: register it, then hand it what the informers
        already hold about it (its Node and the pods bound to it)."""
        if self.node_informer is None or self.pod_informer is None:
            raise RuntimeError("join() is for a started pool; use add() before start()")
        if len(self.kubelets) == 1 and not self.dynamic:
            raise RuntimeError("this pool's informers only see its one node (use dynamic=True)")
        kubelet = self.add(config, runtime)
        await kubelet.start()
        node = self.node_informer.get(config.name)
        if node is not None:
            kubelet.node_changed(node)
        for pod in self.pod_informer.list():
            if (pod.get("spec") or {}).get("nodeName") == config.name:
                kubelet.pod_changed(pod)
        return kubelet

    async def remove(self, name: str) -> None:
        """Stop a node's kubelet and forget it (the Node object is left to the caller)."""
        kubelet = self.kubelets.pop(name)
        await kubelet.stop()

    # -- control --------------------------------------------------------------------

    def freeze(self, name: str) -> None:
        """Stop a node's heartbeats and pod handling (it looks dead to the cluster)."""
        self.kubelets[name].freeze()

    def thaw(self, name: str) -> None:
        self.kubelets[name].thaw()

    # -- routing --------------------------------------------------------------------

    def _node_event(self, node: Obj) -> None:
        kubelet = self.kubelets.get(node["metadata"]["name"])
        if kubelet is not None:
            kubelet.node_changed(node)

    def _for_pod(self, pod: Obj) -> Kubelet | None:
        return self.kubelets.get((pod.get("spec") or {}).get("nodeName") or "")

    def _pod_event(self, pod: Obj) -> None:
        kubelet = self._for_pod(pod)
        if kubelet is not None:
            kubelet.pod_changed(pod)

    def _pod_gone(self, pod: Obj) -> None:
        kubelet = self._for_pod(pod)
        if kubelet is not None:
            kubelet.pod_deleted(pod)
