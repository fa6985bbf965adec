"""Probe workers on a fake clock with a fake runtime: defaults, thresholds, initial
delay and jitter, startup gating, readiness flipping `ready`, liveness asking for
a kill, upstream's event texts; the simulated runtime's probes; the pod
syncer killing and restarting a container that failed its liveness probe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from pyk8s.client.clock import FakeClock
from pyk8s.kubelet.backoff import Backoff
from pyk8s.kubelet.podstatus import ContainerRecord, container_status
from pyk8s.kubelet.podsync import ContainerSyncer, kill_grace
from pyk8s.kubelet.prober import ProbeManager, ProbeSpec
from pyk8s.kubelet.runtime.base import Sandbox
from pyk8s.kubelet.runtime.sim import SimConfig, SimRuntime

POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": {}}


class FakeRuntime:
    """exec_sync answers per command (the first word): a list of exit codes, popped
    one per call, the last one repeating."""

    probes_reach_pods = True

    def __init__(self) -> None:
        self.codes: dict[str, list[int]] = {}
        self.calls: list[tuple[str, float]] = []  # (command, fake time)
        self.clock: FakeClock | None = None

    async def exec_sync(self, cid: str, cmd: list[str], timeout: float) -> tuple[int, bytes]:
        self.calls.append((cmd[0], self.clock.now() if self.clock else 0.0))
        codes = self.codes.get(cmd[0], [0])
        code = codes.pop(0) if len(codes) > 1 else codes[0]
        return code, b"" if code == 0 else f"{cmd[0]} says no".encode()

    def simulated_probe(self, cid: str) -> bool:
        return True

    def probed(self, command: str) -> list[float]:
        return [t for c, t in self.calls if c == command]


@dataclass
class Harness:
    clock: FakeClock
    runtime: FakeRuntime
    manager: ProbeManager
    changes: list[str] = field(default_factory=list)
    kills: list[tuple[str, str, str]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)

    async def advance(self, seconds: float) -> None:
        """Move the fake clock in 1 s steps, letting every woken task run."""
        for _ in range(int(seconds)):
            self.clock.advance(1)
            await settle()


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    clock = FakeClock()
    runtime = FakeRuntime()
    runtime.clock = clock
    h = Harness(clock, runtime, None)  # type: ignore[arg-type]
    h.manager = ProbeManager(
        runtime,  # type: ignore[arg-type]
        clock,
        on_change=h.changes.append,
        on_unhealthy=lambda uid, name, cid, kind: h.kills.append((name, cid, kind)),
        on_event=lambda uid, t, r, m: h.events.append((t, r, m)),
        rand=lambda: 0.0,
    )
    try:
        yield h
    finally:
        await h.manager.close()


def exec_probe(command: str, **fields: int) -> dict:
    return {"exec": {"command": [command]}, **fields}


def running(name: str = "app") -> ContainerRecord:
    rec = ContainerRecord(name, "docker.io/library/nginx:latest")
    rec.set_running("fake://1", "2024-05-01T12:00:00Z")
    return rec


def test_defaults_are_upstreams() -> None:
    spec = ProbeSpec.parse("Liveness", {"httpGet": {"port": 80}, "successThreshold": 5})
    assert (spec.initial_delay, spec.timeout, spec.period) == (0.0, 1.0, 10.0)
    assert (spec.success_threshold, spec.failure_threshold) == (1, 3)  # liveness: always 1
    readiness = ProbeSpec.parse("Readiness", {"tcpSocket": {"port": 80}, "successThreshold": 2})
    assert readiness.success_threshold == 2


async def test_readiness_starts_false_and_follows_thresholds(harness: Harness) -> None:
    rec = running()
    container = {"name": "app", "readinessProbe": exec_probe("ready", periodSeconds=5)}
    harness.runtime.codes["ready"] = [0, 1, 1, 1]
    harness.manager.add(POD, container, rec, "198.18.0.5")
    assert rec.started and not rec.ready  # not ready before its first success
    await settle()
    assert rec.ready and harness.changes == ["u1"]
    assert container_status(rec)["ready"] is True
    await harness.advance(10)  # two failures: below the threshold
    assert rec.ready and len(harness.runtime.probed("ready")) == 3
    await harness.advance(5)  # the third in a row
    assert not rec.ready and harness.changes == ["u1", "u1"]
    assert harness.events[-1] == ("Warning", "Unhealthy", "Readiness probe failed: ready says no")
    assert len(harness.events) == 3 and not harness.kills  # readiness never kills


async def test_container_without_probes_is_ready_when_running(harness: Harness) -> None:
    rec = running()
    harness.manager.add(POD, {"name": "app"}, rec, "198.18.0.5")
    assert rec.ready and rec.started and not harness.manager.targets


async def test_liveness_kills_after_failure_threshold(harness: Harness) -> None:
    rec = running()
    container = {"name": "app", "livenessProbe": exec_probe("live", failureThreshold=3)}
    harness.runtime.codes["live"] = [1]
    harness.manager.add(POD, container, rec, "198.18.0.5")
    await settle()
    await harness.advance(10)
    assert harness.kills == []  # two failures so far
    await harness.advance(10)
    assert harness.kills == [("app", "fake://1", "liveness")]
    assert [e[2] for e in harness.events] == ["Liveness probe failed: live says no"] * 3
    await harness.advance(30)
    assert len(harness.runtime.probed("live")) == 3  # on hold until a new container


async def test_initial_delay_and_period(harness: Harness) -> None:
    rec = running()
    probe = exec_probe("live", initialDelaySeconds=15, periodSeconds=4)
    harness.manager.add(POD, {"name": "app", "livenessProbe": probe}, rec, "198.18.0.5")
    await settle()
    await harness.advance(14)
    assert harness.runtime.probed("live") == []
    await harness.advance(1)
    await harness.advance(8)
    assert harness.runtime.probed("live") == [15.0, 19.0, 23.0]


async def test_first_probe_is_jittered_just_after_kubelet_start() -> None:
    clock = FakeClock()
    runtime = FakeRuntime()
    runtime.clock = clock
    manager = ProbeManager(
        runtime,  # type: ignore[arg-type]
        clock,
        on_change=lambda uid: None,
        on_unhealthy=lambda *a: None,
        on_event=lambda *a: None,
        rand=lambda: 0.5,
    )
    try:
        rec = running()
        manager.add(POD, {"name": "app", "livenessProbe": exec_probe("live")}, rec, "")
        await settle()
        for _ in range(12):
            clock.advance(1)
            await settle()
        assert runtime.probed("live") == [5.0]  # half a period, then every 10 s
        # A container started once the kubelet has run for a period is not delayed.
        other = ContainerRecord("other", "x")
        other.set_running("fake://2", "t")
        manager.add(POD, {"name": "other", "livenessProbe": exec_probe("other")}, other, "")
        await settle()
        assert runtime.probed("other") == [12.0]
    finally:
        await manager.close()


async def test_startup_gates_liveness_and_readiness(harness: Harness) -> None:
    rec = running()
    container = {
        "name": "app",
        "startupProbe": exec_probe("start", periodSeconds=2, failureThreshold=10),
        "readinessProbe": exec_probe("ready", periodSeconds=10),
        "livenessProbe": exec_probe("live", periodSeconds=10),
    }
    harness.runtime.codes["start"] = [1, 1, 0]
    harness.manager.add(POD, container, rec, "198.18.0.5")
    await settle()
    assert not rec.started and not rec.ready
    assert container_status(rec)["started"] is False
    await harness.advance(3)
    assert harness.runtime.probed("start") == [0.0, 2.0]
    assert harness.runtime.probed("ready") == harness.runtime.probed("live") == []
    await harness.advance(1)  # t=4: startup succeeds; readiness runs at once
    assert rec.started and rec.ready
    assert harness.runtime.probed("ready") == [4.0]
    await harness.advance(6)  # liveness waits for its own period
    assert harness.runtime.probed("live") == [10.0]
    await harness.advance(10)
    assert harness.runtime.probed("start") == [0.0, 2.0, 4.0]  # done once started


async def test_startup_failure_kills(harness: Harness) -> None:
    rec = running()
    container = {"name": "app", "startupProbe": exec_probe("start", failureThreshold=2)}
    harness.runtime.codes["start"] = [1]
    harness.manager.add(POD, container, rec, "")
    await settle()
    await harness.advance(10)
    assert harness.kills == [("app", "fake://1", "startup")]
    assert harness.events[-1][2] == "Startup probe failed: start says no"


async def test_errored_probe_is_thrown_away(harness: Harness) -> None:
    rec = running()
    probe = {"httpGet": {"port": "web", "path": "/"}, "failureThreshold": 1}
    harness.manager.add(POD, {"name": "app", "livenessProbe": probe}, rec, "127.0.0.1")
    await settle()
    assert harness.kills == []
    assert harness.events == [
        (
            "Warning",
            "Unhealthy",
            'Liveness probe errored and resulted in unknown state: strconv.Atoi: parsing "web": '
            "invalid syntax",
        )
    ]


async def test_adopted_container_keeps_its_reported_verdicts(harness: Harness) -> None:
    rec = running()
    container = {
        "name": "app",
        "startupProbe": exec_probe("start"),
        "readinessProbe": exec_probe("ready"),
    }
    harness.runtime.codes["ready"] = [1]
    reported = {"ready": True, "started": True}
    harness.manager.add(POD, container, rec, "198.18.0.5", reported)
    assert rec.ready and rec.started
    await settle()
    assert harness.runtime.probed("start") == []  # already started


async def test_terminating_pod_stops_liveness_not_readiness(harness: Harness) -> None:
    rec = running()
    container = {
        "name": "app",
        "readinessProbe": exec_probe("ready"),
        "livenessProbe": exec_probe("live"),
    }
    harness.manager.add(POD, container, rec, "")
    await settle()
    harness.manager.terminating("u1")
    await harness.advance(10)
    assert len(harness.runtime.probed("live")) == 1
    assert len(harness.runtime.probed("ready")) == 2


async def test_sim_runtime_answers_network_probes() -> None:
    clock = FakeClock()
    runtime = SimRuntime(SimConfig.instant(probe_failing=["busybox*"]), clock)
    pod = {**POD, "spec": {"containers": []}}
    events: list[str] = []
    manager = ProbeManager(
        runtime,
        clock,
        on_change=lambda uid: None,
        on_unhealthy=lambda *a: None,
        on_event=lambda uid, t, r, m: events.append(m),
        rand=lambda: 0.0,
    )
    try:
        recs = []
        for name, image in (("web", "nginx"), ("box", "busybox")):
            cid = await runtime.create_container("sb", pod, {"image": image}, 0)
            await runtime.start_container(cid)
            rec = ContainerRecord(name, image)
            rec.set_running(cid, "t")
            probe = {"httpGet": {"port": 80, "path": "/"}, "failureThreshold": 1}
            manager.add(pod, {"name": name, "readinessProbe": probe}, rec, "198.18.0.9")
            recs.append(rec)
        await settle()
        assert recs[0].ready and not recs[1].ready  # no socket was opened for either
        assert events == ["Readiness probe failed: HTTP probe failed with statuscode: 500"]
        assert await runtime.exec_sync(recs[0].container_id, ["true"], 1) == (0, b"")
    finally:
        await manager.close()
        await runtime.close()


def test_kill_grace_prefers_the_probes_own() -> None:
    pod = {"metadata": {}, "spec": {"terminationGracePeriodSeconds": 30}}
    container = {"livenessProbe": {"terminationGracePeriodSeconds": 5}}
    assert kill_grace(pod, container, "liveness") == 5
    assert kill_grace(pod, container, "startup") == 30
    assert kill_grace({"metadata": {}, "spec": {}}, container, "liveness") == 2


async def test_syncer_kills_and_restarts_a_container_that_failed_liveness() -> None:
    clock = FakeClock()
    runtime = SimRuntime(SimConfig.instant(), clock)
    syncer = ContainerSyncer(runtime, clock, Backoff(10, 300, clock), Backoff(10, 300, clock))
    pod = {**POD, "spec": {"restartPolicy": "OnFailure", "terminationGracePeriodSeconds": 30}}
    container = {"name": "app", "image": "nginx:1.25"}
    events: list = []

    async def advance(rec: ContainerRecord) -> float | None:
        return await syncer.advance(
            pod,
            Sandbox("sb", "198.18.0.5"),
            rec,
            container,
            lambda t, r, m: events.append((t, r, m)),
            lambda _rec, _cid: None,
        )

    rec = ContainerRecord("app", "docker.io/library/nginx:1.25")
    await advance(rec)
    first = rec.container_id
    rec.probe_kill = "liveness"
    events.clear()
    await advance(rec)
    assert events[0] == (
        "Normal",
        "Killing",
        "Container app failed liveness probe, will be restarted",
    )
    assert [e[1] for e in events][1:] == ["Pulled", "Created", "Started"]
    assert rec.state == "running" and rec.restart_count == 1 and rec.container_id != first
    assert rec.last_exit is not None and rec.last_exit.exit_code == 0  # nginx on SIGTERM
    await runtime.close()


async def test_syncer_does_not_restart_with_policy_never() -> None:
    clock = FakeClock()
    runtime = SimRuntime(SimConfig.instant(), clock)
    syncer = ContainerSyncer(runtime, clock, Backoff(10, 300, clock), Backoff(10, 300, clock))
    pod = {**POD, "spec": {"restartPolicy": "Never"}}
    rec = ContainerRecord("app", "docker.io/library/nginx:1.25")
    events: list = []

    def record(t: str, r: str, m: str) -> None:
        events.append(m)

    sandbox = Sandbox("sb", "198.18.0.5")
    container = {"name": "app", "image": "nginx:1.25"}
    await syncer.advance(pod, sandbox, rec, container, record, lambda *_: None)
    rec.probe_kill = "startup"
    assert await syncer.advance(pod, sandbox, rec, container, record, lambda *_: None) is None
    assert events[-1] == "Container app failed startup probe"
    assert rec.state == "terminated" and rec.restart_count == 0
    await runtime.close()
