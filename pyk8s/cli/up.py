"""`pyk8s up`: a whole cluster in one process, as kind or minikube give one.

    pyk8s up --data-dir ./cluster --workers 3 --runtime sim

starts the control plane (API server, controllers, scheduler) and the nodes
m-k8s (control plane: role label and NoSchedule taint, as kubeadm sets them)
and w1-k8s..wN-k8s, writes DIR/kubeconfig.yaml and waits until every node is
Ready. Ctrl-C stops everything; `up` again on the same DIR brings the same
cluster back (its store, credentials, nodes and pods).

A simulated node dies on demand: `kubectl annotate node w2-k8s
sim.pyk8s.io/frozen=true` stops its heartbeats (and `sim.pyk8s.io/frozen-`
brings it back).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyk8s.cli.agent import add_sim_flags, make_join_token, sim_config
from pyk8s.cli.gctune import freeze_startup_objects, tune_gc
from pyk8s.cli.paths import default_data_dir
from pyk8s.cli.runtimes import (
    RuntimeUnavailable,
    add_runtime_flags,
    choose_runtime,
    registries_file,
    registry_config_dir,
    start_service_proxy,
)
from pyk8s.client import Client
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig
from pyk8s.dns.kubedns import cluster_dns_ip
from pyk8s.kubelet import NodeConfig, NodePool
from pyk8s.kubelet.nodeaddrs import NodeAddresses
from pyk8s.kubelet.pool import derived_pod_cidr, sim_node_ip
from pyk8s.kubelet.registries import RegistriesError
from pyk8s.kubelet.runtime.sim import SimRuntime

log = logging.getLogger("pyk8s")

SERVER_NODE = "m-k8s"
DEFAULT_NODE_IP_RANGE = "10.44.0.0/24"
READY_TIMEOUT = 30.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("up", help="run a local cluster: a server node and N workers (foreground)")
    p.add_argument("--data-dir", type=Path, default=None, help="state directory")
    p.add_argument("--port", type=int, default=6443, help="API server port (0 picks a free one)")
    p.add_argument("--workers", type=int, default=3, help="worker nodes w1-k8s..wN-k8s")
    add_runtime_flags(p)
    add_sim_flags(p)
    p.add_argument("--cluster-cidr", default="10.42.0.0/16", help="pod network range")
    p.add_argument(
        "--node-ip-range",
        default=DEFAULT_NODE_IP_RANGE,
        metavar="CIDR",
        help="containerd nodes get their addresses from this range, on a dummy interface "
        f"of the cluster's own (default {DEFAULT_NODE_IP_RANGE}; simulated nodes use 127.1.0.x)",
    )
    p.add_argument("--service-cidr", default="10.43.0.0/16", help="service cluster IP range")
    p.add_argument(
        "--service-lb-pool",
        default="",
        metavar="CIDR",
        help="addresses for LoadBalancer Services (CIDR or first-last, comma-separated)",
    )
    p.add_argument(
        "--dns-upstream",
        action="append",
        default=None,
        metavar="IP[:PORT]",
        help="where the cluster DNS forwards names outside the cluster (repeatable; "
        "default: the host's /etc/resolv.conf nameservers)",
    )
    p.add_argument(
        "--node-monitor-grace-period",
        type=float,
        default=40.0,
        metavar="SECONDS",
        help="how long a silent node stays Ready (default 40)",
    )
    p.add_argument(
        "--default-unreachable-toleration-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="evict pods from a NotReady/unreachable node after at most this long "
        "(default: each pod's tolerationSeconds, 300 unless set)",
    )
    p.add_argument("--no-fsync", action="store_true", help="skip fsync (tests only)")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_up)


def cmd_up(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        args.runtime = choose_runtime(args)
        registries_file(args, args.data_dir or default_data_dir())  # fail early on a bad file
    except (RuntimeUnavailable, RegistriesError) as err:
        print(f"pyk8s up: {err}")
        return 1
    tune_gc()
    try:
        asyncio.run(run_up(args))
    except KeyboardInterrupt:
        pass
    return 0


def plane_config(args: argparse.Namespace, server_ip: str = "") -> ControlPlaneConfig:
    """The control plane's configuration; with containerd nodes, `server_ip` (the
    server node's address) is where pods reach the API server and the cluster DNS."""
    lifecycle: dict[str, Any] = {"grace_period": args.node_monitor_grace_period}
    if args.default_unreachable_toleration_seconds is not None:
        lifecycle["toleration_seconds_cap"] = args.default_unreachable_toleration_seconds
    return ControlPlaneConfig(
        data_dir=args.data_dir or default_data_dir(),
        port=args.port,
        durable=not args.no_fsync,
        cluster_cidr=args.cluster_cidr,
        service_cidr=args.service_cidr,
        service_lb_pool=getattr(args, "service_lb_pool", ""),
        controller_options={"nodelifecycle": lifecycle},
        advertise_address=server_ip,
        dns_address=server_ip,
        dns_upstreams=args.dns_upstream,
    )


def node_configs(workers: int, lifts_taint: bool, cluster_cidr: str) -> list[NodeConfig]:
    """m-k8s and w1-k8s..wN-k8s. They register with the not-ready taint only when a
    node lifecycle controller runs to lift it; node IPAM gives them their podCIDRs
    (a /24 of the cluster CIDR by node index is the fallback if it does not)."""
    names = [SERVER_NODE] + [f"w{i}-k8s" for i in range(1, workers + 1)]
    return [
        NodeConfig(
            name,
            internal_ip=sim_node_ip(i),
            control_plane=name == SERVER_NODE,
            register_not_ready_taint=lifts_taint,
            fallback_pod_cidr=derived_pod_cidr(i, cluster_cidr),
        )
        for i, name in enumerate(names)
    ]


def _has_lifecycle_controller() -> bool:
    from pyk8s.controllers.registry import CONTROLLERS

    return "nodelifecycle" in CONTROLLERS


async def wait_nodes_ready(client: Client, names: list[str], timeout: float) -> bool:
    nodes = client.resource("v1", "nodes")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = (await client.list(nodes))["items"]
        ready = {
            n["metadata"]["name"]
            for n in items
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (n.get("status") or {}).get("conditions") or []
            )
            and not any(
                t.get("key") == "node.kubernetes.io/not-ready"
                for t in (n.get("spec") or {}).get("taints") or []
            )
        }
        if set(names) <= ready:
            return True
        await asyncio.sleep(0.05)
    return False


@dataclass
class LocalCluster:
    plane: ControlPlane
    pool: NodePool
    client: Client
    cri_nodes: list[Any] = field(default_factory=list)  # pyk8s.kubelet.crinode.CriNode
    addresses: NodeAddresses | None = None
    proxy: Any = None  # pyk8s.proxy.ServiceProxy, for containerd nodes


async def start_cluster(args: argparse.Namespace) -> LocalCluster:
    configs = node_configs(args.workers, _has_lifecycle_controller(), args.cluster_cidr)
    addresses = None
    if getattr(args, "runtime", "sim") == "containerd":
        # Before the control plane: it listens (API, DNS) at the server node's address.
        addresses = NodeAddresses(args.data_dir or default_data_dir(), args.node_ip_range)
        ips = addresses.setup(len(configs), getattr(args, "service_lb_pool", ""))
        for cfg, ip in zip(configs, ips, strict=True):
            cfg.internal_ip = ip
    plane = ControlPlane(plane_config(args, configs[0].internal_ip if addresses else ""))
    try:
        await plane.start()
    except BaseException:
        await plane.stop()
        if addresses is not None:
            addresses.teardown()
        raise
    client = plane.new_client("kubelet")
    cluster = LocalCluster(plane, NodePool(client), client, addresses=addresses)
    try:
        if addresses is not None:
            # Each node starts its own containerd and imports its images: all at once.
            started = await asyncio.gather(
                *(start_cri_node(args, cluster, cfg) for cfg in configs)
            )
            for cfg, runtime in started:
                cluster.pool.add(cfg, runtime)
        else:
            for cfg in configs:
                cluster.pool.add(cfg, SimRuntime(sim_config(args)))
        await cluster.pool.start()
        if addresses is not None:  # one proxy: every node lives in the host's netns
            cluster.proxy = await start_service_proxy(
                "pyk8s up",
                cluster.plane.new_client("kube-proxy"),
                str(cluster.plane.config.data_dir),
                {cfg.name: cfg.internal_ip for cfg in configs},
                args.cluster_cidr,
            )
    except BaseException:
        await stop_cluster(cluster)
        raise
    return cluster


async def start_cri_node(
    args: argparse.Namespace, cluster: LocalCluster, cfg: NodeConfig
) -> tuple[NodeConfig, Any]:
    """A containerd node standing in for the simulated one `cfg` describes."""
    from pyk8s.kubelet.crinode import CriNode, CriNodeOptions

    plane = cluster.plane
    assert plane.creds is not None
    data_dir = plane.config.data_dir
    node = CriNode(
        CriNodeOptions(
            data_dir,
            cfg.name,
            plane.creds.ca_file.read_bytes(),
            node_ip=cfg.internal_ip,
            endpoint=args.container_runtime_endpoint,
            registry_config_dir=registry_config_dir(args, data_dir),
            registries=registries_file(args, data_dir),
            control_plane=cfg.control_plane,
            register_not_ready_taint=cfg.register_not_ready_taint,
            cluster_dns=cluster_dns_ip(args.service_cidr),
        )
    )
    cluster.cri_nodes.append(node)
    return await node.start(cluster.client)


async def stop_cluster(cluster: LocalCluster) -> None:
    if cluster.proxy is not None:
        await cluster.proxy.stop(cleanup=True)
    await cluster.pool.stop()
    # `up` owns its nodes: their containers, networks and containerds go with it.
    for node in cluster.cri_nodes:
        await node.stop(remove_pods=True)
    if cluster.addresses is not None:
        cluster.addresses.teardown()
    await cluster.client.close()
    await cluster.plane.stop()


async def run_up(args: argparse.Namespace) -> None:
    began = time.monotonic()
    cluster = await start_cluster(args)
    nodes = list(cluster.pool.kubelets)
    ready = await wait_nodes_ready(cluster.client, nodes, READY_TIMEOUT)
    took = time.monotonic() - began
    freeze_startup_objects()
    print(usage_text(cluster.plane, nodes, ready, took), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("pyk8s up: stopping", flush=True)
    await stop_cluster(cluster)


def usage_text(plane: ControlPlane, nodes: list[str], ready: bool, took: float) -> str:
    assert plane.creds is not None
    token = make_join_token(plane.creds.ca_file.read_bytes(), plane.creds.token)
    state = "ready" if ready else "started (some nodes are not Ready yet)"
    return "\n".join(
        [
            f"pyk8s cluster {state} in {took:.1f}s: {plane.url}, nodes {', '.join(nodes)}",
            "",
            "Use it with:",
            f"  export KUBECONFIG={plane.kubeconfig}",
            "  kubectl get nodes",
            "",
            "Join another node:",
            f"  pyk8s agent --server {plane.url} --token {token} --node-name NAME",
            "",
            "Stop a simulated node's heartbeats: "
            "kubectl annotate node NAME sim.pyk8s.io/frozen=true",
            "Ctrl-C stops the cluster; `pyk8s up` on the same --data-dir brings it back.",
        ]
    )
