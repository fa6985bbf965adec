"""Helpers for the ReplicaSet controller's integration tests: a control plane running
only the controllers under test, object builders and a polling wait."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pyk8s.client import Client, as_ref
from pyk8s.controllers import registry
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig
from pyk8s.machinery import meta

T = TypeVar("T")
Obj = dict[str, Any]

RS = Client.resource("apps/v1", "replicasets")
RC = Client.resource("v1", "replicationcontrollers")
PODS = Client.resource("v1", "pods")
EVENTS = Client.resource("v1", "events")
NS = "default"


class _LaggingControlPlane(ControlPlane):
    """The controllers' pod watch delivers each event `lag` seconds late, as an
    informer falling behind a burst does."""

    lag = 0.0

    def new_client(self, user_agent: str) -> Client:
        client = super().new_client(user_agent)
        if user_agent == "pyk8s-controller-manager" and self.lag:
            client.watch = _lagging(client.watch, self.lag)  # type: ignore[method-assign]
        return client


def _lagging(watch: Callable[..., AsyncIterator[Any]], lag: float) -> Callable[..., Any]:
    async def lagging_watch(res: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        stream = watch(res, *args, **kwargs)
        async with contextlib.aclosing(stream):
            async for event in stream:
                if as_ref(res).plural == "pods":
                    await asyncio.sleep(lag)
                yield event

    return lagging_watch


@contextlib.asynccontextmanager
async def control_plane(
    tmp_path: Path,
    controllers: dict[str, Callable[..., Any]],
    *,
    pod_watch_lag: float = 0.0,
    **options: Any,
) -> AsyncIterator[tuple[ControlPlane, Client]]:
    """A control plane with only `controllers` (name -> class), no scheduler, no nodes."""
    saved = dict(registry.CONTROLLERS)
    registry.CONTROLLERS.update(controllers)
    cp = _LaggingControlPlane(
        ControlPlaneConfig(
            data_dir=tmp_path / "cp",
            port=0,
            durable=False,
            controllers=list(controllers),
            scheduler=False,
            controller_options=options,
        )
    )
    cp.lag = pod_watch_lag
    try:
        await cp.start()
        client = cp.new_client("replicaset-test")
        try:
            yield cp, client
        finally:
            await client.close()
    finally:
        await cp.stop()
        registry.CONTROLLERS.clear()
        registry.CONTROLLERS.update(saved)


async def wait_for(
    probe: Callable[[], Awaitable[T]], what: str, timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def replica_set(
    name: str,
    replicas: int,
    labels: dict[str, str] | None = None,
    *,
    min_ready: int = 0,
    node_name: str = "",
) -> Obj:
    labels = labels or {"app": name}
    pod_spec: Obj = {"containers": [{"name": "c", "image": "nginx"}]}
    if node_name:
        pod_spec["nodeName"] = node_name
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
    }
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


def bare_pod(name: str, labels: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }


async def pods_of(client: Client, uid: str, *, active_only: bool = True) -> list[Obj]:
    """The pods controlled by the owner with this uid."""
    items = (await client.list(PODS, NS))["items"]
    found = [p for p in items if (meta.owner_controller(p) or {}).get("uid") == uid]
    if active_only:
        found = [p for p in found if not meta.is_being_deleted(p)]
    return found


async def events(client: Client, reason: str, name: str) -> list[Obj]:
    items = (await client.list(EVENTS, NS))["items"]
    return [
        e
        for e in items
        if e.get("reason") == reason and e.get("involvedObject", {}).get("name") == name
    ]


async def make_ready(client: Client, pod: Obj, since: str | None = None) -> Obj:
    """Set a pod Running and Ready, as its kubelet would."""
    fresh = await client.get(PODS, meta.name_of(pod), NS)
    fresh["status"] = {
        "phase": "Running",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "lastTransitionTime": since or meta.now_rfc3339(),
            }
        ],
    }
    return await client.update_status(PODS, fresh)


async def get_status(client: Client, res: Any, name: str) -> Obj:
    return (await client.get(res, name, NS)).get("status") or {}
