"""The cluster benchmark scenarios, each a whole run against child processes:

- `up_cold_start`: `pyk8s up --workers 3 --runtime sim` until 4 nodes are Ready.
- `scale`: a `pyk8s server` process and a NodePool process; N nodes Ready, then
  D Deployments whose replicas add up to P pods Running.
- `deployment`: 1,000 replicas on 100 nodes Running, then a rolling update to a
  new image until the rollout is complete and every new pod Running.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cluster_procs import (
    Child,
    cpu_seconds,
    new_work_dir,
    pool_child,
    server_child,
    server_url,
    up_child,
    vm_hwm_mib,
)
from bench.cluster_watch import Matching, node_ready, pod_image, pod_running, wait_until
from pyk8s.client import Client

Obj = dict[str, Any]
IMAGE_V1 = "registry.k8s.io/pause:3.9"
IMAGE_V2 = "registry.k8s.io/pause:3.10"


@dataclass
class Figures:
    """One run's measurements: seconds per phase, MiB per process, CPU seconds."""

    phases: dict[str, float] = field(default_factory=dict)
    hwm_mib: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    # How the scheduler spread the pods: most pods on one node, nodes used.
    placement: dict[str, int] = field(default_factory=dict)


# -- pyk8s up --------------------------------------------------------------------------


async def _ready_nodes(kubeconfig: Path) -> int:
    async with Client.from_kubeconfig(str(kubeconfig), request_timeout=5) as client:
        items = (await client.list(client.resource("v1", "nodes")))["items"]
        return sum(1 for n in items if node_ready(n))


async def _poll_up(child: Child, kubeconfig: Path, want: int, timeout: float) -> float:
    """Seconds from now until `want` nodes are Ready, asked as kubectl asks (a list)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        assert child.proc is not None
        if child.proc.poll() is not None:
            raise RuntimeError(f"pyk8s up exited: {child.log_path.read_text()[-2000:]}")
        if kubeconfig.exists():
            with contextlib.suppress(Exception):  # not listening yet, or mid-write
                if await _ready_nodes(kubeconfig) >= want:
                    return time.monotonic() - began
        await asyncio.sleep(0.02)
    raise TimeoutError(f"pyk8s up: {want} nodes not Ready within {timeout}s")


def up_cold_start(timeout: float = 60.0) -> Figures:
    """One cold start on a fresh data dir; stopped (SIGINT, by pid) afterwards."""
    work = new_work_dir()
    child = up_child(work)
    try:
        began = time.monotonic()
        child.start()
        ready = asyncio.run(_poll_up(child, work / "up" / "kubeconfig.yaml", 4, timeout))
        took = time.monotonic() - began
        said = child.wait_for_line("pyk8s cluster ", 10)
        stop_began = time.monotonic()
        child.stop()
        stopped = time.monotonic() - stop_began
    finally:
        child.stop()
    reported = float(said.split(" in ", 1)[1].split("s:", 1)[0])
    del ready
    shutil.rmtree(work, ignore_errors=True)
    return Figures(phases={"ready": took, "reported": reported, "stop": stopped})


# -- server + pool -----------------------------------------------------------------


@contextlib.contextmanager
def server_and_work(
    fsync: bool, cluster_cidr: str, node_mask: str = "24"
) -> Iterator[tuple[Child, Path, str]]:
    work = new_work_dir()
    extra = ["--cluster-cidr", cluster_cidr, "--node-cidr-mask-size", node_mask]
    server = server_child(work, fsync=fsync, extra=extra).start()
    try:
        url = server_url(server)
        yield server, work, url
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def deployment(name: str, replicas: int, image: str) -> Obj:
    labels = {"app": name, "bench": "cluster"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "pause", "image": image}]},
            },
        },
    }


async def _create_deployments(client: Client, count: int, replicas: int) -> None:
    res = client.resource("apps/v1", "deployments")
    await asyncio.gather(
        *(
            client.create(res, deployment(f"scale-{i}", replicas, IMAGE_V1), "default")
            for i in range(count)
        )
    )


def _measure(fig: Figures, procs: dict[str, Child]) -> None:
    for name, child in procs.items():
        fig.hwm_mib[name] = vm_hwm_mib(child.pid)
        fig.cpu_s[name] = cpu_seconds(child.pid)


async def _nodes_phase(
    client: Client, work: Path, nodes: int, timeout: float, max_pods: int = 110
) -> tuple[Child, Matching, float]:
    """Start the pool process; seconds until all its nodes are Ready."""
    ready = Matching(client, "v1", "nodes", node_ready)
    await ready.start()
    began = time.monotonic()
    kubeconfig = work / "server" / "kubeconfig.yaml"
    pool = pool_child(work, kubeconfig, nodes, "sim-", max_pods).start()
    done = await wait_until(lambda: len(ready.matching) >= nodes, timeout, f"{nodes} nodes Ready")
    return pool, ready, done - began


async def _scale(
    server: Child, work: Path, nodes: int, deployments: int, pods: int, timeout: float
) -> Figures:
    fig = Figures()
    client = Client.from_kubeconfig(str(work / "server" / "kubeconfig.yaml"))
    pool: Child | None = None
    try:
        pool, ready, fig.phases["nodes_ready"] = await _nodes_phase(client, work, nodes, timeout)
        _measure(fig, {"server_after_nodes": server, "pool_after_nodes": pool})
        running = Matching(client, "v1", "pods", pod_running, label_selector="bench=cluster")
        await running.start()
        began = time.monotonic()
        await _create_deployments(client, deployments, pods // deployments)
        done = await wait_until(
            lambda: len(running.matching) >= pods, timeout, f"{pods} pods Running"
        )
        fig.phases["pods_running"] = done - began
        _measure(fig, {"server": server, "pool": pool})
        fig.placement = _placement(running)
        await running.stop()
        await ready.stop()
    finally:
        await client.close()
        if pool is not None:
            pool.stop()
    return fig


def _placement(running: Matching) -> dict[str, int]:
    per_node = Counter(
        (pod.get("spec") or {}).get("nodeName") or "" for pod in running.informer.list()
    )
    return {"max_pods_per_node": max(per_node.values(), default=0), "nodes_used": len(per_node)}


def scale(
    nodes: int = 5000,
    deployments: int = 10,
    pods: int = 10000,
    fsync: bool = True,
    timeout: float = 600.0,
    on_started: Any = None,
) -> Figures:
    """N nodes Ready, then `pods` pods Running; `on_started(server, pool_getter)` lets a
    profiler attach to the server process."""
    # 5,000 nodes need 5,000 /24 podCIDRs, more than 198.18.0.0/15 holds. Simulated
    # pods' IPs are bookkeeping only (no interface, no packet), so they come from the
    # shared address space 100.64.0.0/10, which no test or benchmark sends to.
    with server_and_work(fsync, "100.64.0.0/10") as (server, work, _url):
        if on_started is not None:
            on_started(server)
        return asyncio.run(_scale(server, work, nodes, deployments, pods, timeout))


# -- a deployment's rollout --------------------------------------------------------


def _rollout_done(dep: Obj, replicas: int) -> bool:
    """kubectl rollout status's test: the new template observed, every replica updated,
    no old replicas left, all updated replicas available."""
    md, st = dep.get("metadata") or {}, dep.get("status") or {}
    return (
        st.get("observedGeneration", 0) >= md.get("generation", 0)
        and st.get("updatedReplicas", 0) == replicas
        and st.get("replicas", 0) == replicas
        and st.get("availableReplicas", 0) == replicas
    )


async def _deployment(
    server: Child, work: Path, nodes: int, replicas: int, timeout: float
) -> Figures:
    fig = Figures()
    client = Client.from_kubeconfig(str(work / "server" / "kubeconfig.yaml"))
    pool: Child | None = None
    res = client.resource("apps/v1", "deployments")
    try:
        pool, ready, fig.phases["nodes_ready"] = await _nodes_phase(client, work, nodes, timeout)
        pods = Matching(client, "v1", "pods", pod_running, label_selector="app=roll")
        deps = Matching(client, "apps/v1", "deployments", lambda d: False, "app=roll")
        await pods.start()
        await deps.start()
        began = time.monotonic()
        await client.create(res, deployment("roll", replicas, IMAGE_V1), "default")
        done = await wait_until(
            lambda: len(pods.matching) >= replicas, timeout, f"{replicas} pods Running"
        )
        fig.phases["all_running"] = done - began
        pods.set_predicate(lambda p: pod_running(p) and pod_image(p) == IMAGE_V2)
        deps.set_predicate(lambda d: _rollout_done(d, replicas))
        began = time.monotonic()
        patch = {
            "spec": {"template": {"spec": {"containers": [{"name": "pause", "image": IMAGE_V2}]}}}
        }
        await client.patch(res, "roll", patch, "default")
        done = await wait_until(
            lambda: len(deps.matching) == 1 and len(pods.matching) >= replicas,
            timeout,
            "rollout complete",
        )
        fig.phases["rollout"] = done - began
        gone = await wait_until(lambda: len(pods.present) == replicas, timeout, "old pods gone")
        fig.phases["old_pods_gone"] = gone - began
        _measure(fig, {"server": server, "pool": pool})
        for m in (pods, deps, ready):
            await m.stop()
    finally:
        await client.close()
        if pool is not None:
            pool.stop()
    return fig


def rollout(
    nodes: int = 100, replicas: int = 1000, fsync: bool = True, timeout: float = 600.0
) -> Figures:
    with server_and_work(fsync, "198.18.0.0/16") as (server, work, _url):
        return asyncio.run(_deployment(server, work, nodes, replicas, timeout))


def run_quietly(args: list[str]) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout
