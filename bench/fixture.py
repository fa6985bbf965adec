"""Test-fixture cost: set-up + tear-down of a pyk8s.testing cluster (API server,
all controllers, scheduler, one simulated node, Ready), median and p95 over N
runs, and memory per cluster.

    python -m bench.fixture [--runs 50] [--workers 1] [--baseline-runs 20]

The baseline is the same cluster assembled the way `pyk8s up` does it (fresh CA
and serving certificate per cluster, components over HTTPS on loopback, data
dir on the default temp dir), to show what the fixture's shortcuts buy.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pyk8s.testing import Cluster, ClusterOptions


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_fixture(runs: int, workers: int) -> tuple[list[float], list[float], list[float]]:
    setups, teardowns, totals = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        c = Cluster(ClusterOptions(workers=workers)).start()
        t1 = time.perf_counter()
        c.stop()
        t2 = time.perf_counter()
        setups.append(t1 - t0)
        teardowns.append(t2 - t1)
        totals.append(t2 - t0)
    return setups, teardowns, totals


async def _baseline_once(workers: int) -> None:
    from pyk8s.cli.up import wait_nodes_ready
    from pyk8s.controlplane import ControlPlane, ControlPlaneConfig
    from pyk8s.kubelet import NodeConfig, NodePool
    from pyk8s.kubelet.pool import derived_pod_cidr, sim_node_ip
    from pyk8s.kubelet.runtime.sim import SimRuntime

    data_dir = Path(tempfile.mkdtemp(prefix="pyk8s-bench-"))
    plane = ControlPlane(ControlPlaneConfig(data_dir=data_dir, port=0, durable=False))
    await plane.start()
    client = plane.new_client("kubelet")
    pool = NodePool(client)
    names = [f"w{i}-k8s" for i in range(1, workers + 1)]
    for i, name in enumerate(names):
        cfg = NodeConfig(name, internal_ip=sim_node_ip(i), fallback_pod_cidr=derived_pod_cidr(i))
        pool.add(cfg, SimRuntime())
    await pool.start()
    await wait_nodes_ready(client, names, 30)
    await pool.stop()
    await client.close()
    await plane.stop()
    shutil.rmtree(data_dir)


def time_baseline(runs: int, workers: int) -> list[float]:
    totals = []
    for _ in range(runs):
        t0 = time.perf_counter()
        asyncio.run(_baseline_once(workers))
        totals.append(time.perf_counter() - t0)
    return totals


def memory_per_cluster(count: int, workers: int) -> tuple[float, float, float]:
    """(process RSS with no cluster, with one, and the increase per extra cluster
    while `count` run side by side), all in MB, after a warm-up cluster."""
    Cluster(ClusterOptions(workers=workers)).start().stop()
    gc.collect()
    base = rss_mb()
    clusters = [Cluster(ClusterOptions(workers=workers)).start()]
    one = rss_mb()
    clusters += [Cluster(ClusterOptions(workers=workers)).start() for _ in range(count - 1)]
    time.sleep(0.5)
    many = rss_mb()
    for c in clusters:
        c.stop()
    return base, one, (many - base) / count


def row(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"| {label} | {statistics.median(ms):.0f} | {pct(ms, 0.95):.0f} | {min(ms):.0f} | {max(ms):.0f} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--baseline-runs", type=int, default=20)
    p.add_argument("--side-by-side", type=int, default=10)
    args = p.parse_args()

    bare = rss_mb()
    t0 = time.perf_counter()
    Cluster(ClusterOptions(workers=args.workers)).start().stop()
    first = time.perf_counter() - t0
    setups, teardowns, totals = time_fixture(args.runs, args.workers)
    baseline = time_baseline(args.baseline_runs, args.workers) if args.baseline_runs else []
    base, one, per = memory_per_cluster(args.side_by_side, args.workers)

    print(f"fixture, {args.workers} node(s), {args.runs} runs (ms)\n")
    print("| | median | p95 | min | max |\n|---|---:|---:|---:|---:|")
    print(row("set-up + tear-down", totals))
    print(row("set-up (start, nodes Ready)", setups))
    print(row("tear-down", teardowns))
    if baseline:
        print(row(f"baseline: `pyk8s up` assembly ({args.baseline_runs} runs)", baseline))
    print(f"\nfirst cluster of a process (imports, CA): {first * 1000:.0f} ms")
    print(
        f"RSS: {bare:.0f} MB before the first cluster (interpreter + pyk8s.testing), "
        f"{base:.0f} MB once the cluster code is imported, {one:.0f} MB with one cluster; "
        f"+{per:.1f} MB per cluster with {args.side_by_side} side by side"
    )


if __name__ == "__main__":
    main()
