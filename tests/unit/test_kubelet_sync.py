"""The per-container steps of the pod worker on the simulated runtime, with a
fake clock: pulls, pull back-off, crash back-off, and their events."""

from __future__ import annotations

import pytest

from pyk8s.client.clock import FakeClock
from pyk8s.kubelet.backoff import Backoff
from pyk8s.kubelet.podstatus import ContainerRecord
from pyk8s.kubelet.podsync import ContainerSyncer, default_pull_policy, should_restart
from pyk8s.kubelet.runtime.base import Sandbox
from pyk8s.kubelet.runtime.sim import SimConfig, SimRuntime

POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": {}}


def _syncer(**sim: object) -> tuple[ContainerSyncer, SimRuntime, FakeClock]:
    clock = FakeClock()
    runtime = SimRuntime(SimConfig.instant(**sim), clock)
    syncer = ContainerSyncer(runtime, clock, Backoff(10, 300, clock), Backoff(10, 300, clock))
    return syncer, runtime, clock


async def _advance(syncer: ContainerSyncer, rec: ContainerRecord, image: str, events: list):
    return await syncer.advance(
        POD,
        Sandbox("sb", "198.18.0.2"),
        rec,
        {"name": rec.name, "image": image},
        lambda t, r, m: events.append((t, r, m)),
        lambda _rec, _cid: None,
    )


async def test_start_posts_upstream_events() -> None:
    syncer, _, _ = _syncer()
    rec = ContainerRecord("nginx", "docker.io/library/nginx:latest")
    events: list = []
    assert await _advance(syncer, rec, "nginx", events) is None
    assert rec.state == "running" and rec.ready and rec.container_id.startswith("sim://")
    reasons = [e[1] for e in events]
    assert reasons == ["Pulling", "Pulled", "Created", "Started"]
    assert events[0][2] == 'Pulling image "nginx"'
    assert events[1][2].startswith('Successfully pulled image "nginx" in ')
    assert events[2][2] == "Created container nginx"
    assert events[3][2] == "Started container nginx"


async def test_unpullable_image_alternates_err_image_pull_and_back_off() -> None:
    syncer, _, clock = _syncer(unpullable=["nginx:1.17.*"])
    rec = ContainerRecord("nginx", "docker.io/library/nginx:1.17.23")
    events: list = []
    wait = await _advance(syncer, rec, "nginx:1.17.23", events)
    assert rec.reason == "ErrImagePull" and "not found" in rec.message
    assert [e[1] for e in events] == ["Pulling", "Failed", "Failed"]
    assert events[1][2].startswith(
        'Failed to pull image "nginx:1.17.23": rpc error: code = NotFound'
    )
    assert events[2][2] == "Error: ErrImagePull"
    assert wait == pytest.approx(1.0)  # looks again soon, to show ImagePullBackOff
    clock.advance(1)
    events.clear()
    wait = await _advance(syncer, rec, "nginx:1.17.23", events)
    assert rec.reason == "ImagePullBackOff"
    assert rec.message == 'Back-off pulling image "nginx:1.17.23"'
    assert events == [
        ("Normal", "BackOff", 'Back-off pulling image "nginx:1.17.23"'),
        ("Warning", "Failed", "Error: ImagePullBackOff"),
    ]
    assert wait == pytest.approx(9.0)
    clock.advance(9)
    await _advance(syncer, rec, "nginx:1.17.23", events)
    assert rec.reason == "ErrImagePull"
    assert syncer.image_backoff.get("u1_nginx:1.17.23") == 20  # doubled


async def test_crashing_container_backs_off_and_counts_restarts() -> None:
    syncer, runtime, clock = _syncer(crashing=["busybox*"], crash_after=0.0)
    rec = ContainerRecord("app", "docker.io/library/busybox:latest")
    events: list = []
    await _advance(syncer, rec, "busybox", events)
    exit_ = await runtime.wait_container(rec.container_id)
    assert exit_.exit_code == 1
    rec.set_terminated(exit_)
    # First restart is immediate (its back-off starts now) ...
    await _advance(syncer, rec, "busybox", events)
    assert rec.state == "running" and rec.restart_count == 1
    rec.set_terminated(await runtime.wait_container(rec.container_id))
    # ... the next one waits 10 s in CrashLoopBackOff.
    events.clear()
    wait = await _advance(syncer, rec, "busybox", events)
    assert rec.reason == "CrashLoopBackOff"
    assert rec.message == "back-off 10s restarting failed container=app pod=web_default(u1)"
    assert events == [
        ("Warning", "BackOff", "Back-off restarting failed container app in pod web_default(u1)")
    ]
    assert wait == pytest.approx(10.0)
    clock.advance(10)
    await _advance(syncer, rec, "busybox", events)
    assert rec.state == "running" and rec.restart_count == 2
    assert rec.last_exit is not None and rec.last_exit.exit_code == 1


def test_pull_policy_defaults_and_restart_rules() -> None:
    assert default_pull_policy("nginx") == "Always"
    assert default_pull_policy("nginx:latest") == "Always"
    assert default_pull_policy("nginx:1.16.0") == "IfNotPresent"
    rec = ContainerRecord("a", "x")
    rec.set_running("sim://1", "t")
    from pyk8s.kubelet.runtime.base import ContainerExit

    rec.set_terminated(ContainerExit(0, "Completed", "t", "t"))
    assert should_restart("Always", rec) and not should_restart("OnFailure", rec)
    rec.init = True
    assert not should_restart("Always", rec)
