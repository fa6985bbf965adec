"""Helpers for the deployment controller's integration tests: a control plane with
only the workload controllers, a polling wait, and a fake "kubelet" that marks
pods Running/Ready (or stuck in ImagePullBackOff) as a node agent would."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from pyk8s.client import Client
from pyk8s.controllers import registry
from pyk8s.controllers.deployment import DeploymentController
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig
from pyk8s.machinery import meta

Obj = dict[str, Any]

KUBECTL_132 = "/usr/bin/kubectl"


def _register() -> None:
    """Make sure both controllers are known, whether or not the registry lists them yet."""
    table = getattr(registry, "_CONTROLLERS", None)
    if table is not None:  # name -> "module:Class"
        table.setdefault("deployment", "pyk8s.controllers.deployment:DeploymentController")
        table.setdefault("replicaset", "pyk8s.controllers.replicaset:ReplicaSetController")
        return
    from pyk8s.controllers.replicaset import ReplicaSetController

    registry.CONTROLLERS.setdefault("deployment", DeploymentController)
    registry.CONTROLLERS.setdefault("replicaset", ReplicaSetController)


@contextlib.asynccontextmanager
async def control_plane(
    data_dir: Path, controllers: tuple[str, ...] = ("deployment", "replicaset")
) -> AsyncIterator[tuple[ControlPlane, Client]]:
    _register()
    cp = ControlPlane(
        ControlPlaneConfig(
            data_dir=data_dir, port=0, durable=False, controllers=list(controllers), scheduler=False
        )
    )
    await cp.start()
    client = cp.new_client("deployment-test")
    try:
        yield cp, client
    finally:
        await client.close()
        await cp.stop()


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float = 15.0, interval: float = 0.05
) -> Any:
    """Poll `check` until it returns something truthy; its last error or value on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await check()
            if last:
                return last
        except AssertionError as err:
            last = err
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; last: {last!r}")
        await asyncio.sleep(interval)


def deployment_body(name: str, image: str = "nginx:1.15.12", replicas: int = 3, **spec: Any) -> Obj:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "nginx", "image": image}]},
            },
            **spec,
        },
    }


def ready_status(pod: Obj) -> Obj:
    now = meta.now_rfc3339()
    containers = pod["spec"]["containers"]
    conds = [
        {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
        for t in (
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        )
    ]
    return {
        "phase": "Running",
        "conditions": conds,
        "podIP": "198.18.0.10",
        "startTime": now,
        "containerStatuses": [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            }
            for c in containers
        ],
    }


def image_pull_backoff_status(pod: Obj) -> Obj:
    now = meta.now_rfc3339()
    c = pod["spec"]["containers"][0]
    return {
        "phase": "Pending",
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "lastTransitionTime": now,
                "reason": "ContainersNotReady",
            },
        ],
        "startTime": now,
        "containerStatuses": [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": 0,
                "state": {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{c["image"]}"',
                    }
                },
            }
        ],
    }


class FakeKubelet:
    """Marks every new pod of a namespace ready after `delay` seconds, as a node agent
    would; pods whose image matches an `unpullable` glob get ImagePullBackOff instead."""

    def __init__(
        self,
        client: Client,
        namespace: str = "default",
        delay: float = 0.1,
        unpullable: tuple[str, ...] = (),
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.delay = delay
        self.unpullable = unpullable
        self.pods = client.resource("v1", "pods")
        self._tasks: set[asyncio.Task] = set()
        self._main: asyncio.Task | None = None

    async def __aenter__(self) -> FakeKubelet:
        self._main = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in [self._main, *self._tasks]:
            if t is not None:
                t.cancel()
        for t in [self._main, *self._tasks]:
            if t is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t

    async def _run(self) -> None:
        listed = await self.client.list(self.pods, self.namespace)
        for pod in listed.get("items") or []:
            self._start(pod)
        rv = listed["metadata"]["resourceVersion"]
        while True:
            async for ev, pod in self.client.watch(self.pods, self.namespace, resource_version=rv):
                rv = pod["metadata"].get("resourceVersion", rv)
                if ev == "ADDED":
                    self._start(pod)

    def _start(self, pod: Obj) -> None:
        if (pod.get("status") or {}).get("phase") == "Running" or meta.is_being_deleted(pod):
            return
        task = asyncio.create_task(self._mark(pod))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mark(self, pod: Obj) -> None:
        await asyncio.sleep(self.delay)
        image = pod["spec"]["containers"][0]["image"]
        bad = any(fnmatch.fnmatch(image, g) for g in self.unpullable)
        for _ in range(5):
            try:
                cur = await self.client.get(self.pods, meta.name_of(pod), self.namespace)
            except Exception:  # noqa: BLE001 - deleted meanwhile
                return
            cur["status"] = image_pull_backoff_status(cur) if bad else ready_status(cur)
            try:
                await self.client.update_status(self.pods, cur)
                return
            except Exception:  # noqa: BLE001 - conflict: read again
                await asyncio.sleep(0.01)


async def run_kubectl(
    cp: ControlPlane, *args: str, timeout: float = 30.0, cwd: Path | None = None
) -> tuple[int, str, str]:
    """The real kubectl (1.32 build) against the control plane, without blocking the loop.

    No extra flags: `--record` would write them into the change-cause."""
    env = {**os.environ, "KUBECONFIG": str(cp.kubeconfig), "HOME": str(cp.config.data_dir)}
    proc = await asyncio.create_subprocess_exec(
        KUBECTL_132,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        return -1, out.decode(), err.decode()
    return proc.returncode or 0, out.decode(), err.decode()
