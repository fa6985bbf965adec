"""Helpers for the supporting controllers' integration tests: a ControlPlane running
only the controllers under test, and polling for a condition with a timeout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from pyk8s.client import Client, is_not_found
from pyk8s.controllers import registry
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig


@contextlib.asynccontextmanager
async def control_plane(
    tmp_path: Path, controllers: dict[str, Any], options: dict[str, dict[str, Any]] | None = None
) -> AsyncIterator[tuple[ControlPlane, Client]]:
    """A control plane with only `controllers` ({name: class}) enabled, and a client."""
    saved = dict(registry.CONTROLLERS)
    registry.CONTROLLERS.update(controllers)
    cp = ControlPlane(
        ControlPlaneConfig(
            data_dir=tmp_path / "cp",
            port=0,
            durable=False,
            controllers=list(controllers),
            scheduler=False,
            controller_options=options or {},
        )
    )
    await cp.start()
    client = cp.new_client("test")
    try:
        yield cp, client
    finally:
        await client.close()
        await cp.stop()
        registry.CONTROLLERS.clear()
        registry.CONTROLLERS.update(saved)


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float = 10.0, what: str = "condition"
) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
        await asyncio.sleep(0.05)


async def get_or_none(client: Client, res: Any, name: str, namespace: str = "") -> dict | None:
    try:
        return await client.get(res, name, namespace)
    except Exception as e:
        if is_not_found(e):
            return None
        raise


async def names(client: Client, res: Any, namespace: str = "", selector: str = "") -> list[str]:
    listed = await client.list(res, namespace, label_selector=selector)
    return sorted(i["metadata"]["name"] for i in listed.get("items") or [])


def pod(name: str, labels: dict[str, str], node: str = "", **spec: Any) -> dict:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec},
    }
    if node:
        body["spec"]["nodeName"] = node
    return body


async def set_pod_running(
    client: Client, namespace: str, name: str, ip: str, ready: bool = True
) -> dict:
    """What a kubelet would write: phase Running, a pod IP, the Ready condition."""
    pods = client.resource("v1", "pods")
    current = await client.get(pods, name, namespace)
    status = "True" if ready else "False"
    current["status"] = {
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "conditions": [
            {"type": "Ready", "status": status, "lastTransitionTime": "2024-01-01T00:00:00Z"}
        ],
    }
    return await client.update_status(pods, current)


def node(name: str, labels: dict[str, str] | None = None, taints: list | None = None) -> dict:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {},
    }
    if taints:
        body["spec"]["taints"] = taints
    return body
