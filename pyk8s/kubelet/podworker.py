"""The pod lifecycle on one node, shared by every runtime.

Each pod bound to the node gets one task that converges it, level-triggered:
sandbox (IP from the node's podCIDR), init containers in order, then the app
containers (`podsync`), and, once the pod has a deletionTimestamp, stops its
containers within the grace period and finishes the deletion (DELETE with
gracePeriodSeconds=0 and a UID precondition), as the kubelet does.

Status is written by a second task per pod that always writes the latest state
(so fast transitions coalesce into one write) with a compare-and-swap on the
pod's resourceVersion; conditions other components own are kept.

Running app containers are probed (`prober`): verdicts set the records' ready and
started flags and publish the status; a failed liveness or startup probe marks
the record for the pod's task, which kills and restarts the container.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from pyk8s.client import ApiError, Client
from pyk8s.client.clock import Clock, SystemClock
from pyk8s.controllers.events import EventRecorder
from pyk8s.kubelet.backoff import DEFAULT_CAP, DEFAULT_INITIAL, Backoff
from pyk8s.kubelet.podstatus import ContainerRecord, build_status, same_status
from pyk8s.kubelet.podsync import ERROR_RESYNC, ContainerSyncer, stop_all
from pyk8s.kubelet.prober import ProbeManager
from pyk8s.kubelet.runtime.base import ContainerExit, Runtime, Sandbox
from pyk8s.machinery import meta

Obj = dict[str, Any]
log = logging.getLogger(__name__)


def _rv(obj: Obj) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def _records(pod: Obj, key: str, init: bool, normalize: Any) -> list[ContainerRecord]:
    reason = "PodInitializing" if init or (pod.get("spec") or {}).get("initContainers") else ""
    return [
        ContainerRecord(
            c["name"],
            normalize(c.get("image") or ""),
            init=init,
            reason=reason or "ContainerCreating",
        )
        for c in (pod.get("spec") or {}).get(key) or []
    ]


@dataclass(eq=False)
class PodEntry:
    pod: Obj
    inits: list[ContainerRecord]
    apps: list[ContainerRecord]
    sandbox: Sandbox | None = None
    start_time: str = ""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    writer: asyncio.Task[None] | None = None
    watchers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    adopted: bool = False
    finished: bool = False

    @property
    def uid(self) -> str:
        return self.pod["metadata"]["uid"]

    @property
    def name(self) -> str:
        return self.pod["metadata"]["name"]

    @property
    def namespace(self) -> str:
        return self.pod["metadata"]["namespace"]

    def observe(self, pod: Obj, force: bool = False) -> None:
        """Keep the newest copy of the pod (informer and write responses race)."""
        if force or _rv(pod) >= _rv(self.pod):
            self.pod = pod


class PodWorker:
    """Runs the pods of one node. Feed it with `update(pod)` / `remove(pod)`."""

    def __init__(
        self,
        client: Client,
        node_name: str,
        host_ip: str,
        runtime: Runtime,
        *,
        clock: Clock | None = None,
        backoff_initial: float = DEFAULT_INITIAL,
        backoff_cap: float = DEFAULT_CAP,
        error_resync: float = ERROR_RESYNC,
        events: bool = True,
        fallback_pod_cidr: str = "",
        fallback_wait: float = 2.0,
    ) -> None:
        self.client = client
        self.fallback_pod_cidr = fallback_pod_cidr
        self.fallback_wait = fallback_wait
        self.pods_res = client.resource("v1", "pods")
        self.node_name = node_name
        self.host_ip = host_ip
        self.runtime = runtime
        self.clock = clock or SystemClock()
        self.recorder = EventRecorder(client, "kubelet", host=node_name) if events else None
        image_backoff = Backoff(backoff_initial, backoff_cap, self.clock)
        self.crash_backoff = Backoff(backoff_initial, backoff_cap, self.clock)
        self.syncer = ContainerSyncer(
            runtime, self.clock, image_backoff, self.crash_backoff, error_resync
        )
        self.entries: dict[str, PodEntry] = {}
        self.prober = ProbeManager(
            runtime,
            self.clock,
            on_change=self._probe_changed,
            on_unhealthy=self._probe_unhealthy,
            on_event=self._probe_event,
        )
        self.pod_cidr = ""
        self._cidr_known = asyncio.Event()
        self.paused = False
        self._cleanups: set[asyncio.Task[None]] = set()

    # -- inputs -----------------------------------------------------------------

    def set_pod_cidr(self, cidr: str) -> None:
        """The node's spec.podCIDR (new sandboxes take their IPs from it)."""
        if cidr:
            self.pod_cidr = cidr
            self._cidr_known.set()

    async def _wait_pod_cidr(self) -> str:
        """The node's podCIDR; without one after `fallback_wait`, the fallback (if any)."""
        if self.pod_cidr:
            return self.pod_cidr
        if self.fallback_pod_cidr:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._cidr_known.wait(), self.fallback_wait)
            return self.pod_cidr or self.fallback_pod_cidr
        await self._cidr_known.wait()
        return self.pod_cidr

    def update(self, pod: Obj) -> None:
        """A pod bound to this node was added or changed."""
        uid = pod["metadata"].get("uid", "")
        entry = self.entries.get(uid)
        if entry is None:
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed") and not meta.is_being_deleted(pod):
                return  # finished before we saw it (or before an agent restart)
            entry = PodEntry(
                pod,
                _records(pod, "initContainers", True, self.runtime.image_ref),
                _records(pod, "containers", False, self.runtime.image_ref),
                start_time=meta.now_rfc3339(),
            )
            self.entries[uid] = entry
            if not self.paused:
                self._start(entry)
            return
        entry.observe(pod)
        entry.changed.set()

    def remove(self, pod: Obj) -> None:
        """The pod is gone from the API: tear down whatever still runs."""
        entry = self.entries.pop(pod["metadata"].get("uid", ""), None)
        if entry is None:
            return
        task = asyncio.create_task(self._cleanup(entry))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    def pause(self) -> None:
        """Stop acting on pods (a frozen node): containers keep their state."""
        self.paused = self.prober.paused = True
        for entry in self.entries.values():
            for task in (entry.task, entry.writer):
                if task is not None:
                    task.cancel()
            entry.task = entry.writer = None

    def resume(self) -> None:
        self.paused = self.prober.paused = False
        for entry in list(self.entries.values()):
            if not entry.finished:
                self._start(entry)
                entry.dirty.set()

    async def stop(self) -> None:
        self.pause()
        tasks = [t for e in self.entries.values() for t in e.watchers.values()]
        tasks += list(self._cleanups)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self.prober.close()

    # -- the per-pod loop -------------------------------------------------------

    def _start(self, entry: PodEntry) -> None:
        entry.task = asyncio.create_task(self._run(entry), name=f"pod {entry.name}")

    async def _run(self, entry: PodEntry) -> None:
        if not entry.adopted:
            self._adopt(entry)
        while True:
            entry.changed.clear()
            try:
                if meta.is_being_deleted(entry.pod):
                    self.prober.terminating(entry.uid)
                    await self._terminate(entry)
                    return
                wake = await self._sync(entry)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one pod's failure must not stop the worker
                log.exception("%s: syncing pod %s failed", self.node_name, entry.name)
                wake = ERROR_RESYNC
            self._publish(entry)
            await self._wait(entry, wake)

    def _adopt(self, entry: PodEntry) -> None:
        """After an agent restart, take over the containers the runtime still runs."""
        entry.adopted = True
        found = self.runtime.adopt(entry.pod)
        if found is None:
            return
        entry.sandbox, containers = found
        reserve = getattr(self.runtime, "reserve_ip", None)
        if reserve is not None and entry.sandbox.ip:
            reserve(self.pod_cidr, entry.sandbox.ip)
        by_name = {r.name: r for r in entry.apps}
        statuses = {
            s["name"]: s for s in (entry.pod.get("status") or {}).get("containerStatuses") or []
        }
        entry.start_time = (entry.pod.get("status") or {}).get("startTime") or entry.start_time
        specs = {c["name"]: c for c in (entry.pod.get("spec") or {}).get("containers") or []}
        for inst in containers:
            rec = by_name.get(inst.name)
            if rec is None:
                continue
            reported = statuses.get(inst.name, {})
            rec.restart_count = reported.get("restartCount", 0)
            rec.set_running(inst.container_id, inst.started_at)
            rec.image_id = inst.image_id
            self._watch(entry, rec, inst.container_id)
            if inst.name in specs:
                self.prober.add(entry.pod, specs[inst.name], rec, self._pod_ip(entry), reported)
        for rec in entry.inits:
            rec.state, rec.reason = "terminated", "Completed"
            rec.exit = _completed(entry.start_time)

    async def _sync(self, entry: PodEntry) -> float | None:
        pod = entry.pod
        if entry.sandbox is None:
            host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
            cidr = self.pod_cidr
            if not cidr and not host_network:
                self._publish(entry)
                cidr = await self._wait_pod_cidr()
            entry.sandbox = await self.runtime.run_sandbox(pod, cidr)
            self._publish(entry)
        containers = {c["name"]: c for c in (pod.get("spec") or {}).get("initContainers") or []}
        for rec in entry.inits:
            if rec.state == "terminated" and rec.exit is not None and rec.exit.exit_code == 0:
                continue
            return await self._advance(entry, rec, containers[rec.name])
        containers = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or []}
        waits = []
        for rec in entry.apps:
            wait = await self._advance(entry, rec, containers[rec.name])
            if wait is not None:
                waits.append(wait)
        return min(waits) if waits else None

    async def _advance(self, entry: PodEntry, rec: ContainerRecord, container: Obj) -> float | None:
        assert entry.sandbox is not None

        def event(type_: str, reason: str, message: str) -> None:
            self._event(entry, type_, reason, message)

        def started(rec: ContainerRecord, cid: str) -> None:
            if not rec.init:
                self.prober.add(entry.pod, container, rec, self._pod_ip(entry))
            self._publish(entry)
            self._watch(entry, rec, cid)

        return await self.syncer.advance(entry.pod, entry.sandbox, rec, container, event, started)

    def _watch(self, entry: PodEntry, rec: ContainerRecord, cid: str) -> None:
        async def wait_exit() -> None:
            exit_ = await self.runtime.wait_container(cid)
            if rec.container_id == cid and rec.state == "running":
                rec.set_terminated(exit_)
                entry.changed.set()

        entry.watchers[cid] = asyncio.create_task(wait_exit())
        entry.watchers[cid].add_done_callback(lambda _t: entry.watchers.pop(cid, None))

    async def _wait(self, entry: PodEntry, wake: float | None) -> None:
        if entry.changed.is_set():
            return
        tasks: set[asyncio.Future[Any]] = {asyncio.ensure_future(entry.changed.wait())}
        if wake is not None:
            tasks.add(asyncio.ensure_future(self.clock.sleep(max(wake, 0.0))))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()

    # -- termination ------------------------------------------------------------

    async def _terminate(self, entry: PodEntry) -> None:
        md = entry.pod["metadata"]
        grace = md.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = (entry.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)

        def event(type_: str, reason: str, message: str) -> None:
            self._event(entry, type_, reason, message)

        await stop_all(self.runtime, entry.inits + entry.apps, float(grace), event)
        await self._release(entry)
        entry.finished = True
        try:
            await self.client.delete(
                self.pods_res,
                entry.name,
                entry.namespace,
                grace_period_seconds=0,
                preconditions={"uid": entry.uid},
            )
        except ApiError as err:
            if err.code not in (404, 409):
                raise

    async def _release(self, entry: PodEntry) -> None:
        for task in list(entry.watchers.values()):
            task.cancel()
        if entry.writer is not None:
            entry.writer.cancel()
        if entry.sandbox is not None:
            await self.runtime.stop_sandbox(entry.sandbox.id)
            entry.sandbox = None
        for rec in entry.inits + entry.apps:
            if rec.container_id:
                await self.runtime.remove_container(rec.container_id)
        self.syncer.image_backoff.forget_prefix(entry.uid)
        self.crash_backoff.forget_prefix(entry.uid)
        self.prober.remove_pod(entry.uid)

    async def _cleanup(self, entry: PodEntry) -> None:
        if entry.task is not None:
            entry.task.cancel()
        if not entry.finished:
            await stop_all(self.runtime, entry.inits + entry.apps, 0.0, lambda *a: None)
            await self._release(entry)
            entry.finished = True

    # -- status -----------------------------------------------------------------

    def _publish(self, entry: PodEntry) -> None:
        entry.dirty.set()
        if entry.writer is None or entry.writer.done():
            entry.writer = asyncio.create_task(self._writer(entry))

    async def _writer(self, entry: PodEntry) -> None:
        while True:
            await entry.dirty.wait()
            entry.dirty.clear()
            try:
                await self._write_status(entry)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - retried on the next change or soon
                log.warning("%s: status of pod %s: %s", self.node_name, entry.name, err)
                await self.clock.sleep(ERROR_RESYNC)
                entry.dirty.set()

    def _pod_ip(self, entry: PodEntry) -> str:
        """The sandbox's IP (a hostNetwork pod's is the node's); "" before it has one."""
        if entry.sandbox is None:
            return ""
        return entry.sandbox.ip or self.host_ip

    def status_of(self, entry: PodEntry, pod: Obj) -> Obj:
        sandbox = entry.sandbox
        pod_ip = self._pod_ip(entry)
        return build_status(
            pod,
            host_ip=self.host_ip,
            pod_ip=pod_ip,
            sandbox_ready=sandbox is not None,
            inits=entry.inits,
            apps=entry.apps,
            start_time=entry.start_time,
            now=meta.now_rfc3339(),
        )

    async def _write_status(self, entry: PodEntry) -> None:
        for _ in range(8):
            if entry.finished or meta.is_being_deleted(entry.pod):
                return
            pod = entry.pod
            self.prober.trigger_unready(entry.uid)
            status = self.status_of(entry, pod)
            if same_status(status, pod.get("status") or {}):
                return
            try:
                new = await self.client.update_status(self.pods_res, {**pod, "status": status})
                entry.observe(new)
                return
            except ApiError as err:
                if err.code == 404:
                    return
                if err.code != 409:
                    raise
            fresh = await self.client.get(self.pods_res, entry.name, entry.namespace)
            if fresh["metadata"].get("uid") != entry.uid:
                return
            entry.observe(fresh, force=True)

    # -- probe verdicts (callbacks of the prober) --------------------------------

    def _probe_changed(self, uid: str) -> None:
        entry = self.entries.get(uid)
        if entry is not None and not self.paused:
            self._publish(entry)

    def _probe_unhealthy(self, uid: str, name: str, container_id: str, kind: str) -> None:
        """A liveness/startup probe failed: the pod's task kills the container."""
        entry = self.entries.get(uid)
        rec = next((r for r in entry.apps if r.name == name), None) if entry else None
        if entry is None or rec is None:
            return
        if rec.container_id == container_id and rec.state == "running":
            rec.probe_kill = kind
            entry.changed.set()

    def _probe_event(self, uid: str, type_: str, reason: str, message: str) -> None:
        entry = self.entries.get(uid)
        if entry is not None:
            self._event(entry, type_, reason, message)

    def _event(self, entry: PodEntry, type_: str, reason: str, message: str) -> None:
        if self.recorder is None:
            return
        task = asyncio.create_task(self.recorder.event(entry.pod, type_, reason, message))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)


def _completed(at: str) -> ContainerExit:
    return ContainerExit(0, "Completed", at, at)
