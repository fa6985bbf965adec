"""A process hosting many simulated nodes (what a KWOK controller is), for the
cluster benchmarks:

    python -m bench.cluster_pool --kubeconfig K --nodes 5000 --prefix sim-

registers sim-0..sim-4999 with instant pod lifecycles and no kubelet Events,
prints "pool started: N nodes" once every node is registered and its informers
have synced, and runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time

from pyk8s.cli.gctune import tune_gc
from pyk8s.client import Client
from pyk8s.kubelet import NodeConfig, NodePool
from pyk8s.kubelet.pool import derived_pod_cidr, sim_node_ip
from pyk8s.kubelet.runtime.sim import SimConfig, SimRuntime


def build_pool(client: Client, nodes: int, prefix: str, max_pods: int = 110) -> NodePool:
    pool = NodePool(client, events=False)
    for i in range(nodes):
        cfg = NodeConfig(
            f"{prefix}{i}",
            internal_ip=sim_node_ip(i),
            pods=max_pods,
            fallback_pod_cidr=derived_pod_cidr(i),
        )
        pool.add(cfg, SimRuntime(SimConfig.instant()))
    return pool


async def run(args: argparse.Namespace) -> None:
    client = Client.from_kubeconfig(str(args.kubeconfig), user_agent="pyk8s-sim-pool")
    pool = build_pool(client, args.nodes, args.prefix, args.max_pods)
    began = time.monotonic()
    await pool.start()
    print(f"pool started: {args.nodes} nodes in {time.monotonic() - began:.1f}s", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await pool.stop()
    await client.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--nodes", type=int, required=True)
    ap.add_argument("--prefix", default="sim-")
    # A node takes no more pods than its podCIDR has addresses (as kubelet's --max-pods).
    ap.add_argument("--max-pods", type=int, default=110)
    args = ap.parse_args()
    tune_gc()  # as `pyk8s agent` and `pyk8s up` do for their nodes
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
