"""The scheduler process: informers feed the node cache and the scheduling queue;
one loop pops a pod, decides synchronously (no await inside a cycle, so the cache
is a consistent snapshot), assumes it on the chosen node and binds it in the
background through POST pods/NAME/binding.

A pod that fits nowhere gets PodScheduled=False/Unschedulable with upstream's
message and a FailedScheduling event, and waits in the queue for a cluster event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from pyk8s.client import Client, SharedInformerFactory
from pyk8s.client.clock import Clock, SystemClock
from pyk8s.controllers.events import NORMAL, WARNING, EventRecorder
from pyk8s.machinery import meta
from pyk8s.scheduler.cache import NodeCache
from pyk8s.scheduler.core import Algorithm, Result
from pyk8s.scheduler.framework import Framework, Handle, Listers, Profile
from pyk8s.scheduler.podinfo import DEFAULT_SCHEDULER, PodInfo, is_terminal, pod_info
from pyk8s.scheduler.queue import QueueClosed, QueuedPod, SchedulingQueue

Obj = dict[str, Any]
log = logging.getLogger(__name__)

COMPONENT = "default-scheduler"
BIND_CONCURRENCY = 64


class Binder:
    """Writes a decision: the binding, then the Scheduled event."""

    async def bind(self, pod: PodInfo, node: str) -> None:
        raise NotImplementedError


class ApiBinder(Binder):
    def __init__(self, client: Client) -> None:
        self.client = client
        self.pods = client.resource("v1", "pods")

    async def bind(self, pod: PodInfo, node: str) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod.name, "namespace": pod.namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        await self.client.create_subresource(self.pods, pod.name, "binding", body, pod.namespace)


class InformerListers(Listers):
    """Services and controllers from informer caches, for default spreading."""

    def __init__(self) -> None:
        self.informers: dict[str, Any] = {}

    def services(self, namespace: str) -> list[Obj]:
        inf = self.informers.get("Service")
        return inf.indexer.by_index("namespace", namespace) if inf else []

    def controller(self, kind: str, namespace: str, name: str) -> Obj | None:
        inf = self.informers.get(kind)
        return inf.get(f"{namespace}/{name}") if inf else None


def _spec_changed(old: Obj, new: Obj) -> bool:
    """Did anything but status / resourceVersion / managedFields change (upstream's isPodUpdated)?"""

    def strip(p: Obj) -> Obj:
        md = {
            k: v
            for k, v in (p.get("metadata") or {}).items()
            if k not in ("resourceVersion", "generation", "managedFields")
        }
        return {**{k: v for k, v in p.items() if k != "status"}, "metadata": md}

    return strip(old) != strip(new)


def _node_changed(old: Obj, new: Obj) -> bool:
    """Did a property the scheduler uses change (labels, taints, cordon, allocatable)?"""

    def props(n: Obj) -> tuple[Any, ...]:
        spec, status = n.get("spec") or {}, n.get("status") or {}
        return (
            (n.get("metadata") or {}).get("labels"),
            spec.get("taints"),
            spec.get("unschedulable"),
            status.get("allocatable"),
        )

    return props(old) != props(new)


class Scheduler:
    def __init__(
        self,
        client: Client | None,
        *,
        clock: Clock | None = None,
        profile: Profile | None = None,
        binder: Binder | None = None,
        seed: int | None = None,
        percentage_of_nodes_to_score: int = 0,
        vectorized: bool = True,
        scheduler_name: str = DEFAULT_SCHEDULER,
        factory: SharedInformerFactory | None = None,
    ) -> None:
        """`factory`: informers to share with other components of this process (the
        controller manager's): each resource is then watched and decoded once. Its
        owner starts and stops it; the scheduler only adds its informers and handlers."""
        self.client = client
        self.clock = clock or SystemClock()
        self.scheduler_name = scheduler_name
        self.cache = NodeCache()
        self.queue = SchedulingQueue(self.clock)
        self.listers = InformerListers()
        self.framework = Framework(Handle(self.cache, self.listers), profile)
        self.algorithm = Algorithm(
            self.framework,
            rng=random.Random(seed),
            percentage_of_nodes_to_score=percentage_of_nodes_to_score,
            vectorized=vectorized,
        )
        self.binder = binder or (ApiBinder(client) if client is not None else None)
        self.recorder = EventRecorder(client, COMPONENT) if client is not None else None
        self._owns_factory = factory is None
        if factory is None and client is not None:
            factory = SharedInformerFactory(client)
        self.factory = factory
        self.pod_informer: Any = None
        self._bind_slots = asyncio.Semaphore(BIND_CONCURRENCY)
        self._background: set[asyncio.Task[Any]] = set()
        self._tasks: list[asyncio.Task[Any]] = []
        self.scheduled = 0
        self.failed = 0

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if self.factory is not None:
            self._setup_informers()
            self.factory.start()
            await self.factory.wait_for_cache_sync()
        self._tasks.append(asyncio.create_task(self.run(), name="scheduler-loop"))
        self._tasks.append(asyncio.create_task(self.queue.run_flushers(), name="scheduler-flush"))

    async def stop(self) -> None:
        self.queue.close()
        for t in [*self._tasks, *self._background]:
            t.cancel()
        for t in [*self._tasks, *self._background]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        self._background.clear()
        if self.factory is not None and self._owns_factory:
            await self.factory.stop()

    def _setup_informers(self) -> None:
        assert self.factory is not None and self.client is not None
        res = self.client.resource
        self.pod_informer = self.factory.informer(res("v1", "pods"))
        self.pod_informer.add_handler(self.on_pod_add, self.on_pod_update, self.on_pod_delete)
        nodes = self.factory.informer(res("v1", "nodes"))
        nodes.add_handler(self.on_node_add, self.on_node_update, self.on_node_delete)
        for kind, api, plural in (
            ("Service", "v1", "services"),
            ("ReplicaSet", "apps/v1", "replicasets"),
            ("StatefulSet", "apps/v1", "statefulsets"),
            ("ReplicationController", "v1", "replicationcontrollers"),
        ):
            self.listers.informers[kind] = self.factory.informer(res(api, plural))

    # -- event handlers --------------------------------------------------------------

    def responsible(self, pod: Obj) -> bool:
        return (pod.get("spec") or {}).get(
            "schedulerName", DEFAULT_SCHEDULER
        ) == self.scheduler_name

    def on_pod_add(self, pod: Obj) -> None:
        key = meta.key_of(pod)
        if is_terminal(pod):
            self._forget_pod(key)
            return
        if (pod.get("spec") or {}).get("nodeName"):
            self.queue.delete(key)
            self.cache.add_pod(pod_info(pod))
        elif self.responsible(pod) and not self.cache.is_assumed(key):
            self.queue.add(pod_info(pod))

    def on_pod_update(self, old: Obj, new: Obj) -> None:
        key = meta.key_of(new)
        if is_terminal(new) or (new.get("spec") or {}).get("nodeName"):
            self.on_pod_add(new)
            return
        if not self.responsible(new) or self.cache.is_assumed(key):
            return
        if self.queue.where(key) is None or _spec_changed(old, new):
            self.queue.update(pod_info(new))

    def on_pod_delete(self, pod: Obj) -> None:
        key = meta.key_of(pod)
        self.queue.delete(key)
        self._forget_pod(key)

    def _forget_pod(self, key: str) -> None:
        if self.cache.get_pod(key) is not None:
            self.cache.remove_pod(key)
            self.queue.move_all_to_active_or_backoff("AssignedPodDelete")

    def on_node_add(self, node: Obj) -> None:
        self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff("NodeAdd")

    def on_node_update(self, old: Obj, new: Obj) -> None:
        if _node_changed(old, new) or self.cache.slot(meta.name_of(new)) is None:
            self.cache.update_node(new)
            self.queue.move_all_to_active_or_backoff("NodeUpdate")
        else:
            idx = self.cache.slot(meta.name_of(new))
            if idx is not None:
                self.cache.nodes[idx] = new  # keep the object fresh; masks stay valid

    def on_node_delete(self, node: Obj) -> None:
        self.cache.remove_node(meta.name_of(node))

    # -- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                entry = await self.queue.pop()
            except QueueClosed:
                return
            try:
                self.schedule_one(entry)
            except Exception:  # noqa: BLE001 - one bad pod must not stop scheduling
                log.exception("scheduling %s failed", entry.key)
                self.queue.requeue_failed(entry, error=True)
            await asyncio.sleep(0)  # let informers and bindings run between cycles

    def schedule_pending(self) -> int:
        """Run cycles for every pod in activeQ now (benchmarks, tests); returns how many."""
        n = 0
        while (entry := self.queue.pop_nowait()) is not None:
            self.schedule_one(entry)
            n += 1
        return n

    def schedule_one(self, entry: QueuedPod) -> Result | None:
        pod = entry.info
        if pod.terminating:
            self.queue.done(entry.key)
            return None
        result = self.algorithm.schedule(pod)
        if not result.ok:
            self.failed += 1
            self.queue.requeue_failed(entry)
            self._spawn(self._record_failure(pod, result.message))
            return result
        self.cache.assume_pod(pod, result.node)
        self.queue.done(entry.key)
        self.scheduled += 1
        self._spawn(self._bind(entry, result.node))
        return result

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- binding and reporting -------------------------------------------------------

    async def _bind(self, entry: QueuedPod, node: str) -> None:
        pod = entry.info
        if self.binder is None:
            return
        try:
            async with self._bind_slots:
                await self.binder.bind(pod, node)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a failed binding is retried with back-off
            log.info("binding %s to %s failed: %s", pod.key, node, err)
            self.cache.forget_pod(pod.key)
            self.queue.move_all_to_active_or_backoff("AssignedPodDelete")
            if self._still_pending(pod.key):
                self.queue.readd_after_error(entry)
            return
        if self.recorder is not None:
            message = f"Successfully assigned {pod.namespace}/{pod.name} to {node}"
            await self.recorder.event(pod.pod, NORMAL, "Scheduled", message)

    def _still_pending(self, key: str) -> bool:
        if self.pod_informer is None:
            return True
        current = self.pod_informer.get(key)
        return current is not None and not (current.get("spec") or {}).get("nodeName")

    async def _record_failure(self, pod: PodInfo, message: str) -> None:
        if self.client is None:
            return
        await self._set_unschedulable_condition(pod, message)
        if self.recorder is not None:
            await self.recorder.event(pod.pod, WARNING, "FailedScheduling", message)

    async def _set_unschedulable_condition(self, pod: PodInfo, message: str) -> None:
        assert self.client is not None
        current = self.pod_informer.get(pod.key) if self.pod_informer else pod.pod
        conditions = ((current or pod.pod).get("status") or {}).get("conditions") or []
        old = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        if old and (old.get("status"), old.get("reason"), old.get("message")) == (
            "False",
            "Unschedulable",
            message,
        ):
            return  # unchanged: upstream skips the update
        since = old.get("lastTransitionTime") if old and old.get("status") == "False" else None
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "lastProbeTime": None,
            "lastTransitionTime": since or meta.now_rfc3339(),
            "reason": "Unschedulable",
            "message": message,
        }
        patch = {"status": {"conditions": [condition]}}
        try:
            await self.client.patch(
                self.client.resource("v1", "pods"),
                pod.name,
                patch,
                pod.namespace,
                patch_type="strategic",
                subresource="status",
            )
        except Exception as err:  # noqa: BLE001 - the pod may be gone; the next try repeats
            log.debug("updating PodScheduled of %s failed: %s", pod.key, err)
