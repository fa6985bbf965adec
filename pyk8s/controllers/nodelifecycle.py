"""Node lifecycle controller: node health from heartbeats, taints from conditions,
and taint-based eviction, as upstream's node-lifecycle-controller and
taint-eviction-controller.

- Health: every `monitor_period` (5 s) each node's Lease renewTime and Ready
  heartbeat are compared with what was last seen; a node silent for longer than
  `grace_period` (40 s; 60 s `startup_grace_period` before its first status)
  gets Ready/MemoryPressure/DiskPressure/PIDPressure Unknown with reason
  NodeStatusUnknown "Kubelet stopped posting node status.", its pods' Ready
  condition set False, and a NodeNotReady event.
- Taints (`sync(node)`): Ready False -> node.kubernetes.io/not-ready, Unknown ->
  node.kubernetes.io/unreachable, each NoExecute and NoSchedule; pressure
  conditions and spec.unschedulable -> their NoSchedule taints; lifted when the
  condition clears.
- Eviction: a pod on a node with NoExecute taints it does not tolerate is deleted
  at once; one that tolerates them for tolerationSeconds (300 s from admission's
  default tolerations) is deleted that long after the taint was first seen. The
  option `toleration_seconds_cap` shortens every such wait (tests); tolerations
  without tolerationSeconds (DaemonSet pods) keep the pod forever.

Options: grace_period, startup_grace_period, monitor_period, toleration_seconds_cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pyk8s.client import ApiError
from pyk8s.client.informer import Informer
from pyk8s.controllers.base import Controller
from pyk8s.controllers.events import EventRecorder
from pyk8s.controllers.nodelifecycle_taints import (
    eviction_delay,
    mark_unknown,
    ready_status,
    reconcile_taints,
)
from pyk8s.machinery import meta

Obj = dict[str, Any]
log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
NODE_INDEX = "node"


def _node_of(pod: Obj) -> list[str]:
    name = (pod.get("spec") or {}).get("nodeName")
    return [name] if name else []


class NodeLifecycleController(Controller):
    name = "nodelifecycle"
    # Upstream's nodeUpdateWorkerSize. Each taint change is a write that waits for the
    # store's commit; with 2 workers, 5,000 nodes turning Ready left their not-ready
    # taints in place for ~20 s, and the scheduler could use only the nodes done so far.
    workers = 8

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.grace_period = float(self.options.get("grace_period", 40.0))
        self.startup_grace_period = float(self.options.get("startup_grace_period", 60.0))
        self.monitor_period = float(self.options.get("monitor_period", 5.0))
        cap = self.options.get("toleration_seconds_cap")
        self.toleration_cap = None if cap is None else float(cap)
        self.recorder = EventRecorder(self.client, "node-controller")
        self.eviction_recorder = EventRecorder(self.client, "taint-eviction-controller")
        # node -> (time we last heard from it, lease renewTime, Ready heartbeat)
        self._health: dict[str, tuple[float, str, str]] = {}
        # pod key -> (node, time the wait started, delay, task)
        self._evictions: dict[str, tuple[str, float, float, asyncio.Task[None]]] = {}
        self._monitor: asyncio.Task[None] | None = None

    def setup(self) -> None:
        self.nodes: Informer = self.informer("v1", "nodes")
        self.leases: Informer = self.factory.informer(
            self.client.resource("coordination.k8s.io/v1", "leases"), namespace=LEASE_NAMESPACE
        )
        self.pods: Informer = self.informer("v1", "pods")
        self.pods.add_index(NODE_INDEX, _node_of)
        self.nodes.add_handler(self.enqueue, lambda _o, n: self.enqueue(n), self._node_deleted)
        self.pods.add_handler(self._pod_event, lambda _o, p: self._pod_event(p))

    def start(self) -> None:
        super().start()
        self._monitor = asyncio.create_task(self._monitor_loop(), name="node-health-monitor")

    async def stop(self) -> None:
        tasks = [t for *_, t in self._evictions.values()]
        if self._monitor is not None:
            tasks.append(self._monitor)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._evictions.clear()
        await super().stop()

    def _pod_event(self, pod: Obj) -> None:
        for node in _node_of(pod):
            node_obj = self.nodes.get(node)
            if node_obj and any(
                t.get("effect") == "NoExecute"
                for t in (node_obj.get("spec") or {}).get("taints") or []
            ):
                self.enqueue_key(node)

    def _node_deleted(self, node: Obj) -> None:
        self._health.pop(node["metadata"]["name"], None)

    # -- health monitor ---------------------------------------------------------

    async def _monitor_loop(self) -> None:
        while True:
            await self.clock.sleep(self.monitor_period)
            for node in self.nodes.list():
                if not self._overdue(node):
                    continue  # heard from lately: no coroutine per healthy node
                try:
                    await self._mark_silent(node)
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # noqa: BLE001 - checked again next period
                    log.info("nodelifecycle: health of %s: %s", meta.name_of(node), err)

    def _observe(self, node: Obj) -> float:
        """Record any sign of life; returns how long the node has been silent."""
        name = node["metadata"]["name"]
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}") or {}
        renew = (lease.get("spec") or {}).get("renewTime") or ""
        ready = next(
            (
                c
                for c in (node.get("status") or {}).get("conditions") or []
                if c.get("type") == "Ready"
            ),
            {},
        )
        heartbeat = ready.get("lastHeartbeatTime") or ""
        now = self.clock.now()
        seen = self._health.get(name)
        if seen is None or seen[1] != renew or seen[2] != heartbeat:
            self._health[name] = (now, renew, heartbeat)
            return 0.0
        return now - seen[0]

    def _overdue(self, node: Obj) -> bool:
        """Records any sign of life; True when the node has been silent past its grace."""
        silent = self._observe(node)
        has_status = ready_status(node) != ""
        grace = self.grace_period if has_status else self.startup_grace_period
        return silent > grace

    async def _mark_silent(self, node: Obj) -> None:
        """Ready and the pressure conditions Unknown, its pods not ready, an event."""
        conditions = mark_unknown(node, meta.now_rfc3339())
        if conditions is None:
            return
        was_ready = ready_status(node) == "True"
        body = {**node, "status": {**(node.get("status") or {}), "conditions": conditions}}
        updated = await self.client.update_status(self.client.resource("v1", "nodes"), body)
        name = node["metadata"]["name"]
        log.info("nodelifecycle: node %s stopped posting status; marked Unknown", name)
        self.enqueue_key(name)
        if was_ready:
            await self.recorder.event(
                updated, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady"
            )
            await self._mark_pods_not_ready(name)

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        pods_res = self.client.resource("v1", "pods")
        for pod in self.pods.by_index(NODE_INDEX, node_name):
            conditions = [dict(c) for c in (pod.get("status") or {}).get("conditions") or []]
            ready = next((c for c in conditions if c.get("type") == "Ready"), None)
            if ready is None or ready.get("status") == "False":
                continue
            ready.update(status="False", lastTransitionTime=meta.now_rfc3339())
            body = {**pod, "status": {**pod["status"], "conditions": conditions}}
            try:
                await self.client.update_status(pods_res, body)
            except ApiError as err:
                if err.code == 404:
                    continue
                log.info("nodelifecycle: pod %s not marked NotReady: %s", meta.name_of(pod), err)
                continue
            await self.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")

    # -- taints and eviction ----------------------------------------------------

    async def sync(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None:
            return
        taints = reconcile_taints(node, meta.now_rfc3339())
        if taints is not None:
            patch = {
                "metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
                "spec": {"taints": taints or None},
            }
            node = await self.client.patch(
                self.client.resource("v1", "nodes"), key, patch, patch_type="merge"
            )
        self._schedule_evictions(node)

    def _schedule_evictions(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        no_execute = [
            t
            for t in (node.get("spec") or {}).get("taints") or []
            if t.get("effect") == "NoExecute"
        ]
        now = self.clock.now()
        for pod in self.pods.by_index(NODE_INDEX, name):
            key = meta.key_of(pod)
            delay = eviction_delay(pod, no_execute) if no_execute else None
            if delay is not None and self.toleration_cap is not None:
                delay = min(delay, self.toleration_cap)
            if delay is None or meta.is_being_deleted(pod):
                self._cancel(key, announce=delay is None and not meta.is_being_deleted(pod))
                continue
            self._schedule(key, name, now, delay)

    def _schedule(self, key: str, node: str, now: float, delay: float) -> None:
        current = self._evictions.get(key)
        start = now
        if current is not None:
            _, start, old_delay, task = current
            if start + delay >= start + old_delay and not task.done():
                return  # already due no later than this would make it
            task.cancel()
        task = asyncio.create_task(self._evict_after(key, start + delay - now))
        self._evictions[key] = (node, start, delay, task)

    def _cancel(self, key: str, announce: bool) -> None:
        current = self._evictions.pop(key, None)
        if current is None:
            return
        current[3].cancel()
        if announce:
            pod = self.pods.get(key)
            if pod is not None:
                task = asyncio.create_task(
                    self.eviction_recorder.event(
                        pod, "Normal", "TaintManagerEviction", f"Cancelling deletion of Pod {key}"
                    )
                )
                task.add_done_callback(lambda _t: None)

    async def _evict_after(self, key: str, delay: float) -> None:
        if delay > 0:
            await self.clock.sleep(delay)
        pod = self.pods.get(key)
        if pod is None or meta.is_being_deleted(pod):
            self._evictions.pop(key, None)
            return
        try:
            await self._evict(pod)
        except Exception as err:  # noqa: BLE001 - the next node sync schedules it again
            log.info("nodelifecycle: evicting %s failed: %s", key, err)
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                self.enqueue_after(node, 1.0)
        finally:
            current = self._evictions.get(key)
            if current is not None and current[3] is asyncio.current_task():
                self._evictions.pop(key, None)

    async def _evict(self, pod: Obj) -> None:
        pods_res = self.client.resource("v1", "pods")
        md = pod["metadata"]
        await self.eviction_recorder.event(
            pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {meta.key_of(pod)}"
        )
        condition = {
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "DeletionByTaintManager",
            "message": "Taint manager: deleting due to NoExecute taint",
            "lastTransitionTime": meta.now_rfc3339(),
        }
        with contextlib.suppress(ApiError):
            await self.client.patch(
                pods_res,
                md["name"],
                {"status": {"conditions": [condition]}},
                md["namespace"],
                patch_type="strategic",
                subresource="status",
            )
        try:
            await self.client.delete(
                pods_res, md["name"], md["namespace"], preconditions={"uid": md["uid"]}
            )
        except ApiError as err:
            if err.code not in (404, 409):
                raise
