"""`pyk8s server`: the API server in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from pyk8s.cli.gctune import freeze_startup_objects, tune_gc
from pyk8s.cli.paths import default_data_dir
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig

log = logging.getLogger("pyk8s")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="run the API server (foreground)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="state directory (default: /var/lib/pyk8s as root, ~/.pyk8s otherwise)",
    )
    p.add_argument(
        "--bind-address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    p.add_argument(
        "--port", type=int, default=6443, help="HTTPS port (default 6443; 0 picks a free one)"
    )
    p.add_argument(
        "--no-fsync",
        action="store_true",
        help="skip fsync on writes (tests only: a crash may lose acknowledged writes)",
    )
    p.add_argument(
        "--cluster-cidr",
        default="10.42.0.0/16",
        help="pod network range (node podCIDRs are cut from it)",
    )
    p.add_argument("--service-cidr", default="10.43.0.0/16", help="service cluster IP range")
    p.add_argument(
        "--advertise-address",
        default="",
        help="address the `kubernetes` Service's endpoints point at "
        "(default: --bind-address when it is one address, else 127.0.0.1)",
    )
    p.add_argument(
        "--service-lb-pool",
        default="",
        metavar="CIDR",
        help="addresses for LoadBalancer Services (CIDR or first-last, comma-separated; "
        "default none: they stay <pending>)",
    )
    p.add_argument(
        "--node-cidr-mask-size",
        type=int,
        default=24,
        help="prefix length of each node's podCIDR (default 24)",
    )
    p.add_argument(
        "--disable-controllers",
        action="store_true",
        help="run the API server alone (no controller manager, no scheduler)",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_server)


def cmd_server(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = server_config(args)
    tune_gc()
    try:
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        pass
    return 0


def server_config(args: argparse.Namespace) -> ControlPlaneConfig:
    return ControlPlaneConfig(
        data_dir=args.data_dir or default_data_dir(),
        host=args.bind_address,
        port=args.port,
        durable=not args.no_fsync,
        controllers=[] if args.disable_controllers else None,
        scheduler=not args.disable_controllers,
        cluster_cidr=args.cluster_cidr,
        service_cidr=args.service_cidr,
        node_cidr_mask_size=args.node_cidr_mask_size,
        advertise_address=args.advertise_address,
        service_lb_pool=args.service_lb_pool,
    )


async def serve(config: ControlPlaneConfig) -> None:
    plane = ControlPlane(config)
    await plane.start()
    freeze_startup_objects()
    log.info("pyk8s API server listening on %s; kubeconfig: %s", plane.url, plane.kubeconfig)
    print(f"pyk8s server ready: {plane.url} (KUBECONFIG={plane.kubeconfig})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await plane.stop()
