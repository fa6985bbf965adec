"""Probes through the pod worker against a real API server: a runtime whose pods
live on 127.0.0.1 (an HTTP server of the test answers their probes), the pod
worker on a fake clock. Readiness flips the container's `ready` and the pod's
Ready condition; a failing liveness probe gets the container killed and
restarted, with upstream's events."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sim_helpers import condition, wait_for

from pyk8s.client import Client
from pyk8s.client.clock import FakeClock
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig
from pyk8s.kubelet.podworker import PodWorker
from pyk8s.kubelet.runtime.base import Obj, Sandbox
from pyk8s.kubelet.runtime.sim import SimConfig, SimRuntime

PODS = ("v1", "pods")


class LoopbackRuntime(SimRuntime):
    """The simulated lifecycle, but every pod's IP is 127.0.0.1, where probes land."""

    probes_reach_pods = True

    async def run_sandbox(self, pod: Obj, pod_cidr: str) -> Sandbox:
        sandbox = Sandbox(secrets.token_hex(32), "127.0.0.1")
        self.sandboxes[sandbox.id] = (pod_cidr, sandbox.ip)
        return sandbox


@dataclass
class App:
    """What the 'containers' answer on /ready and /live, and how often they were asked."""

    codes: dict[str, int] = field(default_factory=lambda: {"/ready": 200, "/live": 200})
    hits: dict[str, int] = field(default_factory=lambda: {"/ready": 0, "/live": 0})
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.hits[request.path] += 1
        return web.Response(status=self.codes[request.path], text=request.path)


@dataclass
class Node:
    client: Client
    worker: PodWorker
    clock: FakeClock
    app: App

    async def get(self, name: str) -> Obj:
        return await self.client.get(self.client.resource(*PODS), name, "default")

    async def tick(self, path: str, seconds: float = 10) -> None:
        """Move the fake clock a probe period on and wait for the probe to land."""
        before = self.app.hits[path]
        self.clock.advance(seconds)
        await wait_for(lambda: _true(self.app.hits[path] > before))

    async def events(self, name: str) -> list[tuple[str, str, str]]:
        items = (await self.client.list(self.client.resource("v1", "events"), "default"))["items"]
        return [
            (e["type"], e["reason"], e["message"])
            for e in items
            if e["involvedObject"]["name"] == name
        ]


async def _true(value: Any) -> Any:
    return value


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    app = App()
    server = web.Application()
    server.router.add_get("/{tail:.*}", app.handle)
    runner = web.AppRunner(server, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    app.port = runner.addresses[0][1]
    plane = ControlPlane(
        ControlPlaneConfig(
            data_dir=tmp_path, port=0, durable=False, controllers=[], scheduler=False
        )
    )
    await plane.start()
    client = plane.new_client("test-kubelet")
    clock = FakeClock()
    worker = PodWorker(client, "w1", "127.0.0.1", LoopbackRuntime(SimConfig.instant()), clock=clock)
    worker.set_pod_cidr("198.18.0.0/24")
    worker.prober.rand = lambda: 0.0  # no start-up jitter: probes on the clock's ticks
    try:
        yield Node(client, worker, clock, app)
    finally:
        await worker.stop()
        await worker.runtime.close()
        await client.close()
        await plane.stop()
        await runner.cleanup()


def probed_pod(port: int, **spec: Any) -> Obj:
    container = {
        "name": "c",
        "image": "nginx:1.25",
        "readinessProbe": {"httpGet": {"path": "/ready", "port": port}},
        "livenessProbe": {"httpGet": {"path": "/live", "port": "http"}},
        "ports": [{"name": "http", "containerPort": port}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"nodeName": "w1", "containers": [container], **spec},
    }


async def _start(node: Node) -> Obj:
    created = await node.client.create(
        node.client.resource(*PODS), probed_pod(node.app.port), "default"
    )
    node.worker.update(created)
    return created


def _ready(pod: Obj) -> tuple[bool, str]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return statuses[0].get("ready", False), condition(pod, "Ready").get("status", "")


async def test_readiness_flips_ready_and_the_ready_condition(node: Node) -> None:
    await _start(node)
    pod = await wait_for(lambda: _with(node, "web", lambda p: _ready(p) == (True, "True")))
    assert pod["status"]["containerStatuses"][0]["started"] is True
    node.app.codes["/ready"] = 503
    for _ in range(2):
        await node.tick("/ready")
    await asyncio.sleep(0.1)
    assert _ready(await node.get("web")) == (True, "True")  # below failureThreshold
    await node.tick("/ready")
    pod = await wait_for(lambda: _with(node, "web", lambda p: _ready(p) == (False, "False")))
    ready = condition(pod, "Ready")
    assert ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [c]"
    assert condition(pod, "ContainersReady")["status"] == "False"
    assert pod["status"]["phase"] == "Running"
    events = await wait_for(lambda: node.events("web"))
    assert (
        "Warning",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
    ) in events
    node.app.codes["/ready"] = 200
    await node.tick("/ready")
    await wait_for(lambda: _with(node, "web", lambda p: _ready(p) == (True, "True")))


async def test_failing_liveness_restarts_the_container(node: Node) -> None:
    await _start(node)
    pod = await wait_for(lambda: _with(node, "web", lambda p: _ready(p) == (True, "True")))
    first = pod["status"]["containerStatuses"][0]["containerID"]
    node.app.codes["/live"] = 500
    for _ in range(3):
        await node.tick("/live")
    pod = await wait_for(
        lambda: _with(node, "web", lambda p: _status(p).get("restartCount") == 1 and _ready(p)[0])
    )
    status = _status(pod)
    assert status["containerID"] != first and "running" in status["state"]
    assert status["lastState"]["terminated"]["containerID"] == first
    events = await wait_for(lambda: _has_killing(node))
    assert (
        events.count(
            (
                "Warning",
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 500",
            )
        )
        >= 1
    )
    assert ("Normal", "Killing", "Container c failed liveness probe, will be restarted") in events


async def _has_killing(node: Node) -> list[tuple[str, str, str]] | None:
    events = await node.events("web")
    return events if any(e[1] == "Killing" for e in events) else None


def _status(pod: Obj) -> Obj:
    return ((pod.get("status") or {}).get("containerStatuses") or [{}])[0]


async def _with(node: Node, name: str, check: Any) -> Obj | None:
    pod = await node.get(name)
    return pod if check(pod) else None
