"""Helpers for simulated-node tests: a control plane in the test's loop with the
node lifecycle controller, a pool of simulated nodes, and polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pyk8s.client import Client
from pyk8s.controllers import registry
from pyk8s.controllers.nodelifecycle import NodeLifecycleController
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig
from pyk8s.kubelet import NodeConfig, NodePool
from pyk8s.kubelet.pool import derived_pod_cidr
from pyk8s.kubelet.runtime.sim import SimConfig, SimRuntime


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.05
) -> Any:
    """Poll until check() returns something truthy; fail with the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


@asynccontextmanager
async def sim_cluster(
    data_dir: Path,
    nodes: list[str],
    monkeypatch: Any,
    *,
    sim: SimConfig | None = None,
    lifecycle: dict[str, Any] | None = None,
    **pool_options: Any,
) -> AsyncIterator[tuple[ControlPlane, NodePool, Client]]:
    monkeypatch.setitem(registry.CONTROLLERS, "nodelifecycle", NodeLifecycleController)
    plane = ControlPlane(
        ControlPlaneConfig(
            data_dir=data_dir,
            port=0,
            durable=False,
            controllers=["nodelifecycle"],
            scheduler=False,
            controller_options={"nodelifecycle": lifecycle or {}},
        )
    )
    await plane.start()
    client = plane.new_client("test-kubelet")
    pool = NodePool(client, **pool_options)
    for i, name in enumerate(nodes):
        cfg = NodeConfig(
            name, lease_interval=0.2, fallback_pod_cidr=derived_pod_cidr(i, "198.18.0.0/16")
        )
        pool.add(cfg, SimRuntime(sim or SimConfig()))
    await pool.start()
    try:
        yield plane, pool, client
    finally:
        await pool.stop()
        await client.close()
        await plane.stop()


def pod(name: str, node: str, image: str = "nginx", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": image}], **spec},
    }


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return {}
