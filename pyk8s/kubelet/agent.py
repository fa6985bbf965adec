"""One node's kubelet: registers the Node, renews its Lease in kube-node-lease
(every 10 s by default), reports node status when it changes (and every 5 min
otherwise, as upstream with node leases), and runs the node's pods through a
PodWorker. Informer events reach it through `node_changed`, `pod_changed` and
`pod_deleted` (see `pool.NodePool`, which serves one or many kubelets).

A simulated node can be frozen (`freeze()`, or the node annotation
`sim.pyk8s.io/frozen: "true"`): it then posts nothing and acts on no pod, as a
dead machine, until thawed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from typing import Any

from pyk8s.client import ApiError, Client
from pyk8s.client.clock import Clock, SystemClock
from pyk8s.kubelet import nodestatus
from pyk8s.kubelet.nodestatus import NodeConfig
from pyk8s.kubelet.podworker import PodWorker
from pyk8s.kubelet.runtime.base import Runtime
from pyk8s.machinery import meta

Obj = dict[str, Any]
log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
RETRY = 1.0


class Kubelet:
    def __init__(
        self,
        client: Client,
        config: NodeConfig,
        runtime: Runtime,
        *,
        clock: Clock | None = None,
        events: bool = True,
        **worker_options: Any,
    ) -> None:
        self.client = client
        self.config = config
        self.runtime = runtime
        self.clock = clock or SystemClock()
        self.nodes_res = client.resource("v1", "nodes")
        self.leases_res = client.resource("coordination.k8s.io/v1", "leases")
        self.worker = PodWorker(
            client,
            config.name,
            config.internal_ip,
            runtime,
            clock=self.clock,
            events=events,
            fallback_pod_cidr=config.fallback_pod_cidr,
            **worker_options,
        )
        self.node: Obj | None = None
        self.lease: Obj | None = None
        self.boot_id = str(uuid.uuid4())
        self.frozen = False
        self._annotation_frozen = False
        self.registered = asyncio.Event()
        self._last_report = float("-inf")
        self._kick = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def name(self) -> str:
        return self.config.name

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Register (retrying until the API server answers), then heartbeat."""
        while True:
            try:
                await self.register()
                break
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the server may not be up yet
                log.warning("%s: registering node failed: %s", self.name, err)
                await self.clock.sleep(RETRY)
        if not self.frozen:
            self._start_heartbeats()

    async def stop(self) -> None:
        await self._stop_heartbeats()
        await self.worker.stop()

    def freeze(self) -> None:
        """Stop every heartbeat and all pod handling (the node looks dead)."""
        if self.frozen:
            return
        self.frozen = True
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self.worker.pause()
        log.info("%s: frozen", self.name)

    def thaw(self) -> None:
        if not self.frozen:
            return
        self.frozen = self._annotation_frozen = False
        self._last_report = float("-inf")
        self.worker.resume()
        if self.registered.is_set():
            self._start_heartbeats()
        log.info("%s: thawed", self.name)

    def _start_heartbeats(self) -> None:
        self._tasks = [
            asyncio.create_task(self._lease_loop(), name=f"lease {self.name}"),
            asyncio.create_task(self._status_loop(), name=f"node status {self.name}"),
        ]

    async def _stop_heartbeats(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- informer inputs --------------------------------------------------------

    def node_changed(self, node: Obj) -> None:
        self.node = node
        cidr = (node.get("spec") or {}).get("podCIDR") or ""
        self.worker.set_pod_cidr(cidr)
        # The annotation freezes and thaws; a freeze() by call is undone only by thaw().
        if nodestatus.is_frozen(node):
            if not self.frozen:
                self.freeze()
                self._annotation_frozen = True
            return
        if self.frozen and self._annotation_frozen:
            self.thaw()
        if self.frozen:
            return
        if _ready_status(node) != "True":
            self._kick.set()  # someone marked us not ready while we are alive: say otherwise

    def pod_changed(self, pod: Obj) -> None:
        self.worker.update(pod)

    def pod_deleted(self, pod: Obj) -> None:
        self.worker.remove(pod)

    # -- registration -----------------------------------------------------------

    async def register(self) -> None:
        now = meta.now_rfc3339()
        body = nodestatus.new_node(self.config, self.runtime.version, now, self.boot_id)
        try:
            node = await self.client.create(self.nodes_res, body)
        except ApiError as err:
            if err.code != 409:
                raise
            node = await self._reconcile_existing(body)
        self._last_report = self.clock.now()
        self.node_changed(node)
        self.registered.set()
        log.info("%s: node registered", self.name)

    async def _reconcile_existing(self, body: Obj) -> Obj:
        """An existing Node (agent restart): make sure our labels are there, then
        post a fresh status, as the kubelet does on start."""
        node = await self.client.get(self.nodes_res, self.name)
        labels = node["metadata"].get("labels") or {}
        missing = {k: v for k, v in body["metadata"]["labels"].items() if k not in labels}
        if missing:
            node = await self.client.patch(
                self.nodes_res, self.name, {"metadata": {"labels": missing}}, patch_type="merge"
            )
        status = nodestatus.node_status(
            self.config,
            self.runtime.version,
            node.get("status") or {},
            meta.now_rfc3339(),
            self.boot_id,
        )
        return await self._patch_status(status)

    # -- node status ------------------------------------------------------------

    async def _status_loop(self) -> None:
        while True:
            try:
                await self.sync_status()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - try again next period
                log.warning("%s: node status update failed: %s", self.name, err)
            await self._wait_kick(self.config.status_interval)

    async def _wait_kick(self, timeout: float) -> None:
        if self._kick.is_set():
            self._kick.clear()
            return
        if isinstance(self.clock, SystemClock):
            # One timer handle, not two tasks and an asyncio.wait, per node per period:
            # with thousands of pooled nodes the latter was a sixth of the pool's CPU.
            handle = asyncio.get_running_loop().call_later(max(timeout, 0.0), self._kick.set)
            try:
                await self._kick.wait()
            finally:
                handle.cancel()
            self._kick.clear()
            return
        waiter = asyncio.ensure_future(self._kick.wait())
        sleeper = asyncio.ensure_future(self.clock.sleep(timeout))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()
        self._kick.clear()

    async def sync_status(self) -> None:
        """Post node status if it changed, or if the last report is old."""
        if self.node is None or self.frozen:
            return
        old = self.node.get("status") or {}
        desired = nodestatus.node_status(
            self.config, self.runtime.version, old, meta.now_rfc3339(), self.boot_id
        )
        due = self.clock.now() - self._last_report >= self.config.status_report_interval
        if due or nodestatus.needs_report(self.node, desired):
            await self._patch_status(desired)

    async def _patch_status(self, status: Obj) -> Obj:
        node = await self.client.patch(
            self.nodes_res,
            self.name,
            {"status": status},
            patch_type="merge",
            subresource="status",
        )
        self._last_report = self.clock.now()
        self.node = node
        return node

    # -- lease ------------------------------------------------------------------

    async def _lease_loop(self) -> None:
        # Spread many nodes' renewals over the interval instead of a thundering herd.
        await self.clock.sleep(random.random() * min(self.config.lease_interval, 1.0))
        while True:
            try:
                await self.renew_lease()
                delay = self.config.lease_interval
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - retried soon, as upstream
                log.warning("%s: renewing lease failed: %s", self.name, err)
                self.lease = None
                delay = min(self.config.lease_interval, RETRY)
            await self.clock.sleep(delay)

    async def renew_lease(self) -> None:
        now = meta.now_rfc3339_micro()
        if self.lease is None:
            try:
                self.lease = await self.client.get(self.leases_res, self.name, LEASE_NAMESPACE)
            except ApiError as err:
                if err.code != 404:
                    raise
                self.lease = await self.client.create(self.leases_res, self._new_lease(now))
                return
        lease = dict(self.lease)
        lease["spec"] = {
            **(lease.get("spec") or {}),
            "holderIdentity": self.name,
            "leaseDurationSeconds": self.config.lease_duration,
            "renewTime": now,
        }
        try:
            self.lease = await self.client.update(self.leases_res, lease)
        except ApiError:
            self.lease = None
            raise

    def _new_lease(self, now: str) -> Obj:
        md: Obj = {"name": self.name, "namespace": LEASE_NAMESPACE}
        if self.node is not None:
            md["ownerReferences"] = [
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "name": self.name,
                    "uid": self.node["metadata"]["uid"],
                }
            ]
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": md,
            "spec": {
                "holderIdentity": self.name,
                "leaseDurationSeconds": self.config.lease_duration,
                "renewTime": now,
            },
        }


def _ready_status(node: Obj) -> str:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") or ""
    return ""


__all__ = ["Kubelet", "NodeConfig"]
