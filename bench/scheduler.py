"""Scheduler throughput, shaped like upstream's scheduler_perf SchedulingBasic:
N nodes (4 cpu, 32Gi, 110 pods, Ready), M pods of 100m cpu / 500Mi, scheduled by
the real scheduling loop with a binder that answers at once (no API server).

    python bench/scheduler.py [--nodes 500 5000] [--pods 10000]

Prints pods/s per cluster size.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from pyk8s.scheduler import Binder, Scheduler
from pyk8s.scheduler.podinfo import PodInfo, pod_info


class InstantBinder(Binder):
    async def bind(self, pod: PodInfo, node: str) -> None:
        return None


def make_node(i: int) -> dict:
    name = f"scheduler-perf-{i}"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {
            "capacity": {"pods": "110", "cpu": "4", "memory": "32Gi"},
            "allocatable": {"pods": "110", "cpu": "4", "memory": "32Gi"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def make_pod(i: int) -> dict:
    res = {"cpu": "100m", "memory": "500Mi"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{i}", "namespace": "default", "uid": f"uid-{i}"},
        "spec": {
            "schedulerName": "default-scheduler",
            "priority": 0,
            "containers": [
                {
                    "name": "pause",
                    "image": "registry.k8s.io/pause:3.10",
                    "ports": [{"containerPort": 80}],
                    "resources": {"requests": res, "limits": res},
                }
            ],
        },
    }


async def run(nodes: int, pods: int) -> float:
    sched = Scheduler(None, binder=InstantBinder(), seed=1)
    for i in range(nodes):
        sched.cache.add_node(make_node(i))
    objs = [make_pod(i) for i in range(pods)]
    start = time.perf_counter()  # parsing a pod (as the informer handler does) counts
    for obj in objs:
        sched.queue.add(pod_info(obj))
    loop = asyncio.create_task(sched.run())
    while sched.scheduled + sched.failed < pods:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    await sched.stop()
    loop.cancel()
    assert sched.scheduled == pods, (sched.scheduled, sched.failed)
    return pods / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, nargs="+", default=[500, 5000])
    ap.add_argument("--pods", type=int, default=10000)
    args = ap.parse_args()
    for n in args.nodes:
        rate = asyncio.run(run(n, args.pods))
        print(f"SchedulingBasic {n} nodes, {args.pods} pods: {rate:.0f} pods/s")


if __name__ == "__main__":
    main()
