"""Container probes, as the kubelet's prober manager runs them.

Every running app container gets one worker per probe it declares (startup,
readiness, liveness). A worker waits `initialDelaySeconds` from the container's
start (plus a random part of its period while the kubelet itself has just
started, so an agent restart does not probe everything at once), then probes
every `periodSeconds`. A result only counts once it repeats `successThreshold` /
`failureThreshold` times in a row.

- startup: until it succeeds the container is not `started`, and readiness and
  liveness do not run; failing it kills the container, as liveness does.
- readiness: false until the first success; it is the container's `ready`,
  hence the pod's ContainersReady and Ready conditions. Without a readiness
  probe a started container is ready.
- liveness: failing it asks the pod worker to kill the container, which then
  restarts per restartPolicy with the crash back-off.

Each failed probe posts an "Unhealthy" warning ("Liveness probe failed: ..."),
as upstream does. Workers belong to one container instance: a restarted
container gets new workers, so thresholds start over.

The pod worker owns the ContainerRecords; this module only sets their `ready`
and `started` flags and tells the pod worker, through callbacks, when the status
changed, when a container must be killed and which events to post.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from pyk8s.client.clock import Clock
from pyk8s.kubelet.podstatus import ContainerRecord
from pyk8s.kubelet.probes import (
    ProbeError,
    Result,
    exec_probe,
    expand_static,
    format_url,
    grpc_probe,
    http_probe,
    join_host_port,
    new_http_session,
    resolve_port,
    tcp_probe,
)
from pyk8s.kubelet.runtime.base import Runtime
from pyk8s.machinery import meta

Obj = dict[str, Any]
log = logging.getLogger(__name__)

STARTUP, READINESS, LIVENESS = "Startup", "Readiness", "Liveness"
# (container field, probe type), in the order upstream adds the workers.
PROBE_FIELDS = (
    ("startupProbe", STARTUP),
    ("readinessProbe", READINESS),
    ("livenessProbe", LIVENESS),
)
# What a probe reports before it has a verdict of its own.
INITIAL_RESULT = {READINESS: Result.FAILURE, LIVENESS: Result.SUCCESS, STARTUP: Result.UNKNOWN}
MAX_RETRIES = 3  # a probe that errors is run again at once, up to this many times

ChangeFunc = Callable[[str], None]  # (pod uid): a container's ready/started changed
UnhealthyFunc = Callable[[str, str, str, str], None]  # (pod uid, container, id, "liveness")
EventFunc = Callable[[str, str, str, str], None]  # (pod uid, type, reason, message)


@dataclass(frozen=True)
class ProbeSpec:
    """One probe of a container, with upstream's defaults for what the pod leaves out."""

    kind: str  # Startup | Readiness | Liveness
    action: Obj  # the probe object: exec / httpGet / tcpSocket / grpc
    initial_delay: float = 0.0
    timeout: float = 1.0
    period: float = 10.0
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace: int | None = None

    @classmethod
    def parse(cls, kind: str, probe: Obj) -> ProbeSpec:
        def positive(key: str, default: int) -> int:
            value = probe.get(key)
            return value if isinstance(value, int) and value > 0 else default

        delay = probe.get("initialDelaySeconds")
        return cls(
            kind,
            probe,
            initial_delay=float(delay) if isinstance(delay, int) and delay > 0 else 0.0,
            timeout=float(positive("timeoutSeconds", 1)),
            period=float(positive("periodSeconds", 10)),
            # Liveness and startup probes must use 1 (validation says so; be safe).
            success_threshold=positive("successThreshold", 1) if kind == READINESS else 1,
            failure_threshold=positive("failureThreshold", 3),
            termination_grace=probe.get("terminationGracePeriodSeconds"),
        )


def container_probes(container: Obj) -> list[ProbeSpec]:
    return [
        ProbeSpec.parse(kind, container[key])
        for key, kind in PROBE_FIELDS
        if isinstance(container.get(key), dict)
    ]


@dataclass(eq=False)
class ProbeTarget:
    """One container instance being probed, and its workers' results."""

    uid: str
    pod: Obj
    container: Obj
    rec: ContainerRecord
    container_id: str
    pod_ip: str
    started_at: float  # on the manager's clock
    workers: dict[str, ProbeWorker] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.rec.name

    def alive(self) -> bool:
        return self.rec.container_id == self.container_id and self.rec.state == "running"

    def started(self) -> bool:
        worker = self.workers.get(STARTUP)
        return worker is None or worker.result is Result.SUCCESS

    def ready(self) -> bool:
        worker = self.workers.get(READINESS)
        return self.started() and (worker is None or worker.result is Result.SUCCESS)

    def refresh(self) -> bool:
        """Copy the verdicts into the record; True if that changed it."""
        if not self.alive():
            return False
        before = (self.rec.started, self.rec.ready)
        self.rec.started, self.rec.ready = self.started(), self.ready()
        return before != (self.rec.started, self.rec.ready)


class ProbeWorker:
    """Probes one container instance periodically for one probe type."""

    def __init__(self, manager: ProbeManager, target: ProbeTarget, spec: ProbeSpec) -> None:
        self.manager, self.target, self.spec = manager, target, spec
        self.result = INITIAL_RESULT[spec.kind]
        self.last: Result | None = None
        self.run_length = 0
        self.trigger = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        name = f"{self.spec.kind} probe {self.target.name}"
        self.task = asyncio.create_task(self._run(), name=name)

    def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _run(self) -> None:
        clock, period = self.manager.clock, self.spec.period
        if clock.now() - self.manager.started_at < period:
            # Just after a kubelet (re)start: spread the first probes over a period.
            await clock.sleep(self.manager.rand() * period)
        await clock.sleep(self.target.started_at + self.spec.initial_delay - clock.now())
        while True:
            began = clock.now()
            self.trigger.clear()  # a probe now answers any trigger so far
            try:
                if not await self.step():
                    return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a probe bug must not stop probing
                log.exception("%s probe of %s failed", self.spec.kind, self.target.name)
            await self._tick(began + period - clock.now())

    async def _tick(self, wait: float) -> None:
        """The next period, or sooner when triggered (readiness, as upstream)."""
        if self.trigger.is_set():
            return
        waiters = {
            asyncio.ensure_future(self.trigger.wait()),
            asyncio.ensure_future(self.manager.clock.sleep(wait)),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def step(self) -> bool:
        """Probe once if it is time to; False when this worker is done."""
        target, kind = self.target, self.spec.kind
        if not target.alive():
            return False
        if self.manager.paused:
            return True
        if kind == STARTUP and target.started():
            return False  # started: the startup probe has done its job for this instance
        if kind != STARTUP and not target.started():
            return True  # gated until the startup probe succeeds
        result = await self.manager.probe(self.spec, target)
        if result is None or not target.alive():
            return target.alive()  # errored (thrown away), or the container went meanwhile
        return self._record(result)

    def _record(self, result: Result) -> bool:
        if result is self.last:
            self.run_length += 1
        else:
            self.last, self.run_length = result, 1
        threshold = (
            self.spec.failure_threshold if result is Result.FAILURE else self.spec.success_threshold
        )
        if self.run_length < threshold:
            return True
        changed, self.result = self.result is not result, result
        if changed:
            self.manager.changed(self.target, self.spec.kind)
        if self.spec.kind != READINESS and result is Result.FAILURE:
            # The container will be killed; a new instance gets new workers.
            self.manager.unhealthy(self.target, self.spec.kind)
            return False
        return True


class ProbeManager:
    """The probe workers of one node's pods."""

    def __init__(
        self,
        runtime: Runtime,
        clock: Clock,
        *,
        on_change: ChangeFunc,
        on_unhealthy: UnhealthyFunc,
        on_event: EventFunc,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.on_change, self.on_unhealthy, self.on_event = on_change, on_unhealthy, on_event
        self.rand = rand
        self.started_at = clock.now()
        self.paused = False
        self.targets: dict[str, dict[str, ProbeTarget]] = {}  # pod uid -> container -> target
        self._session: aiohttp.ClientSession | None = None

    # -- containers coming and going ---------------------------------------------

    def add(
        self,
        pod: Obj,
        container: Obj,
        rec: ContainerRecord,
        pod_ip: str,
        reported: Obj | None = None,
    ) -> None:
        """Start probing a container that just started (or, with `reported`, its last
        status, one adopted after an agent restart: it keeps its reported verdicts)."""
        uid = pod["metadata"]["uid"]
        self._drop(uid, rec.name)
        specs = container_probes(container)
        if not specs:
            return
        target = ProbeTarget(
            uid, pod, container, rec, rec.container_id, pod_ip, self._started_at(rec, reported)
        )
        for spec in specs:
            worker = ProbeWorker(self, target, spec)
            if reported is not None and spec.kind == READINESS and reported.get("ready"):
                worker.result = Result.SUCCESS
            if reported is not None and spec.kind == STARTUP and reported.get("started"):
                worker.result = Result.SUCCESS
            target.workers[spec.kind] = worker
        self.targets.setdefault(uid, {})[rec.name] = target
        target.refresh()
        for worker in target.workers.values():
            worker.start()

    def _started_at(self, rec: ContainerRecord, reported: Obj | None) -> float:
        """When the container started, on our clock (an adopted one started earlier)."""
        now = self.clock.now()
        if reported is None or not rec.started_at:
            return now
        try:
            age = (meta.now() - meta.parse_time(rec.started_at)).total_seconds()
        except (ValueError, TypeError):
            return now
        return now - max(age, 0.0)

    def terminating(self, uid: str) -> None:
        """The pod is being deleted: liveness and startup stop (and count as passed),
        readiness goes on until the containers stop."""
        for target in self._targets_of(uid):
            for kind in (LIVENESS, STARTUP):
                worker = target.workers.get(kind)
                if worker is not None:
                    worker.stop()
                    worker.result = Result.SUCCESS

    def remove_pod(self, uid: str) -> None:
        for name in list(self.targets.get(uid, {})):
            self._drop(uid, name)

    def _drop(self, uid: str, name: str) -> None:
        targets = self.targets.get(uid, {})
        target = targets.pop(name, None)
        if not targets:
            self.targets.pop(uid, None)
        if target is not None:
            for worker in target.workers.values():
                worker.stop()

    def _targets_of(self, uid: str) -> list[ProbeTarget]:
        return list(self.targets.get(uid, {}).values())

    def trigger_unready(self, uid: str) -> None:
        """Probe readiness now for the pod's started containers that are not ready
        (upstream does so whenever it computes the pod's status)."""
        for target in self._targets_of(uid):
            worker = target.workers.get(READINESS)
            if worker is not None and worker.result is not Result.SUCCESS and target.started():
                worker.trigger.set()

    async def close(self) -> None:
        tasks = [
            w.task
            for targets in self.targets.values()
            for t in targets.values()
            for w in t.workers.values()
            if w.task
        ]
        for uid in list(self.targets):
            self.remove_pod(uid)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- verdicts, from the workers -----------------------------------------------

    def changed(self, target: ProbeTarget, kind: str) -> None:
        if kind == STARTUP and target.started():
            readiness = target.workers.get(READINESS)
            if readiness is not None:
                readiness.trigger.set()  # started: find out at once whether it is ready
        if target.refresh():
            self.on_change(target.uid)

    def unhealthy(self, target: ProbeTarget, kind: str) -> None:
        self.on_unhealthy(target.uid, target.name, target.container_id, kind.lower())

    # -- running one probe ----------------------------------------------------------

    async def probe(self, spec: ProbeSpec, target: ProbeTarget) -> Result | None:
        """Run the probe (again at once if it errors, up to MAX_RETRIES times) and post
        its event: SUCCESS or FAILURE, or None when it errored."""
        error: ProbeError | None = None
        for _ in range(MAX_RETRIES):
            try:
                result, output = await self.run_action(spec, target)
                break
            except ProbeError as err:
                error = err
        else:
            assert error is not None
            self.on_event(
                target.uid,
                "Warning",
                "Unhealthy",
                f"{spec.kind} probe errored and resulted in {error.result.value} state: {error}",
            )
            return None
        if result is Result.WARNING:
            self.on_event(
                target.uid, "Warning", "ProbeWarning", f"{spec.kind} probe warning: {output}"
            )
            return Result.SUCCESS
        if result is Result.FAILURE:
            self.on_event(target.uid, "Warning", "Unhealthy", f"{spec.kind} probe failed: {output}")
        return Result.SUCCESS if result is Result.SUCCESS else Result.FAILURE

    async def run_action(self, spec: ProbeSpec, target: ProbeTarget) -> tuple[Result, str]:
        action, timeout = spec.action, spec.timeout
        if isinstance(action.get("exec"), dict):
            command = expand_static(
                action["exec"].get("command") or [], target.container.get("env") or []
            )
            return await exec_probe(self.runtime, target.container_id, command, timeout)
        if isinstance(action.get("httpGet"), dict):
            return await self._http(action["httpGet"], target, timeout)
        if isinstance(action.get("tcpSocket"), dict):
            tcp = action["tcpSocket"]
            port = resolve_port(tcp.get("port"), target.container)
            host = tcp.get("host") or target.pod_ip
            if not self.runtime.probes_reach_pods:
                return self._simulated(target, (Result.FAILURE, _refused(host, port)))
            return await tcp_probe(host, port, timeout)
        if isinstance(action.get("grpc"), dict):
            grpc = action["grpc"]
            port = resolve_port(grpc.get("port"), target.container)
            failed = (Result.FAILURE, 'service unhealthy (responded with "NOT_SERVING")')
            if not self.runtime.probes_reach_pods:
                return self._simulated(target, failed, "service healthy")
            return await grpc_probe(target.pod_ip, port, grpc.get("service") or "", timeout)
        md = target.pod.get("metadata") or {}
        raise ProbeError(
            f"missing probe handler for {md.get('name')}_{md.get('namespace')}"
            f"({md.get('uid')}):{target.name}"
        )

    async def _http(self, http: Obj, target: ProbeTarget, timeout: float) -> tuple[Result, str]:
        scheme = str(http.get("scheme") or "HTTP").lower()
        port = resolve_port(http.get("port"), target.container)
        url = format_url(scheme, http.get("host") or target.pod_ip, port, http.get("path") or "")
        if not self.runtime.probes_reach_pods:
            return self._simulated(
                target, (Result.FAILURE, "HTTP probe failed with statuscode: 500")
            )
        headers = [(h.get("name", ""), h.get("value", "")) for h in http.get("httpHeaders") or []]
        if self._session is None or self._session.closed:
            self._session = new_http_session()
        return await http_probe(url, headers, timeout, self._session)

    def _simulated(
        self, target: ProbeTarget, failed: tuple[Result, str], ok: str = ""
    ) -> tuple[Result, str]:
        """A runtime whose pod IPs carry no traffic answers network probes itself."""
        if self.runtime.simulated_probe(target.container_id):
            return Result.SUCCESS, ok
        return failed


def _refused(host: str, port: int) -> str:
    return f"dial tcp {join_host_port(host, port)}: connect: connection refused"
