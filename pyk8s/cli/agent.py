"""`pyk8s agent`: a node agent joining a server.

    pyk8s agent --server https://HOST:6443 --token K10<ca-sha256>::server:<secret> \\
        --node-name w1-k8s --runtime sim

The token is k3s's shape: `K10` + the SHA-256 (hex) of the server's CA
certificate (PEM bytes) + `::server:` + the secret. The agent trusts only that
CA: it takes it from `--ca-file`, or fetches `/cacerts` from the server, and in
both cases refuses to go on unless its hash equals the token's, so a
man-in-the-middle cannot pose as the server. A bare secret (no `K10` prefix)
needs `--ca-file`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import signal
import ssl
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pyk8s.cli.gctune import tune_gc
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
from pyk8s.kubelet import NodeConfig, NodePool
from pyk8s.kubelet.containerd import containerd_available
from pyk8s.kubelet.nodestatus import KUBELET_PORT
from pyk8s.kubelet.registries import RegistriesError
from pyk8s.kubelet.runtime.sim import SimConfig, SimRuntime

log = logging.getLogger("pyk8s")

TOKEN_PREFIX = "K10"


class JoinError(Exception):
    """The agent cannot establish trust in the server (shown to the user as is)."""


@dataclass(frozen=True)
class JoinToken:
    ca_hash: str  # "" when the token carries none
    secret: str


def ca_hash(ca_pem: bytes) -> str:
    return hashlib.sha256(ca_pem).hexdigest()


def make_join_token(ca_pem: bytes, secret: str) -> str:
    """The token a server hands out for agents to join it."""
    return f"{TOKEN_PREFIX}{ca_hash(ca_pem)}::server:{secret}"


def parse_join_token(token: str) -> JoinToken:
    if not token.startswith(TOKEN_PREFIX) or "::" not in token:
        return JoinToken("", token)
    digest, _, rest = token[len(TOKEN_PREFIX) :].partition("::")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
        raise JoinError("token has an invalid CA hash (want K10<sha256 hex>::server:<secret>)")
    user, sep, secret = rest.partition(":")
    return JoinToken(digest.lower(), secret if sep and user == "server" else rest)


def fetch_cacerts(server: str, timeout: float = 10.0) -> bytes:
    """The server's CA bundle from /cacerts, fetched without verification: it is
    trusted only once its hash matches the token's."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    url = server.rstrip("/") + "/cacerts"
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=timeout) as resp:  # noqa: S310
            return resp.read()
    except OSError as err:
        raise JoinError(
            f"cannot fetch the CA from {url} ({err}); pass --ca-file with the server's ca.crt"
        ) from err


def trusted_ca(server: str, token: JoinToken, ca_file: Path | None) -> bytes:
    """The CA certificate to trust, checked against the token's hash."""
    if ca_file is not None:
        pem = ca_file.read_bytes()
    elif token.ca_hash:
        pem = fetch_cacerts(server)
    else:
        raise JoinError("a token without a CA hash needs --ca-file")
    if token.ca_hash and ca_hash(pem) != token.ca_hash:
        raise JoinError(
            "the server's CA does not match the token's hash: refusing to trust it "
            f"(token wants {token.ca_hash[:12]}..., got {ca_hash(pem)[:12]}...)"
        )
    return pem


def add_sim_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sim-unpullable",
        action="append",
        default=[],
        metavar="GLOB",
        help="images matching GLOB fail to pull (ErrImagePull, ImagePullBackOff); repeatable",
    )
    p.add_argument(
        "--sim-crashing",
        action="append",
        default=[],
        metavar="GLOB",
        help="containers of images matching GLOB exit with code 1 (CrashLoopBackOff); repeatable",
    )
    p.add_argument(
        "--sim-probe-failing",
        action="append",
        default=[],
        metavar="GLOB",
        help="probes of containers of images matching GLOB fail; repeatable",
    )


def sim_config(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        unpullable=list(args.sim_unpullable),
        crashing=list(args.sim_crashing),
        probe_failing=list(args.sim_probe_failing),
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("agent", help="run a node agent that joins a server (foreground)")
    p.add_argument("--server", default="", help="the API server's URL (https://HOST:PORT)")
    p.add_argument(
        "--token", default="", help="join token: K10<ca-sha256>::server:<secret>, or the secret"
    )
    p.add_argument(
        "--cleanup",
        action="store_true",
        help="remove what the node left running (containers, network, service rules) and "
        "exit, as kube-proxy --cleanup and k3s-killall.sh do",
    )
    p.add_argument("--ca-file", type=Path, default=None, help="the server's CA certificate")
    p.add_argument("--node-name", required=True, help="this node's name")
    p.add_argument("--node-ip", default="127.0.0.1", help="the node's InternalIP")
    p.add_argument("--data-dir", type=Path, default=None, help="state directory")
    p.add_argument(
        "--kubelet-port",
        type=int,
        default=KUBELET_PORT,
        help=f"kubelet API port on --node-ip (default {KUBELET_PORT}; 0 picks a free one)",
    )
    p.add_argument(
        "--cluster-dns", default="", metavar="IP", help="the nameserver of ClusterFirst pods"
    )
    p.add_argument("--cluster-domain", default="cluster.local", help="the cluster's DNS domain")
    p.add_argument(
        "--cluster-cidr",
        default="",
        help="the pod range (kube-proxy's flag): ClusterIP traffic from outside it is "
        "masqueraded; empty masquerades all of it",
    )
    add_runtime_flags(p)
    add_sim_flags(p)
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_agent)


def cmd_agent(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.cleanup:
        return asyncio.run(cleanup_node(args))
    if not args.server or not args.token:
        print("pyk8s agent: --server and --token are required (or --cleanup)")
        return 1
    try:
        token = parse_join_token(args.token)
        ca = trusted_ca(args.server, token, args.ca_file)
        args.runtime = choose_runtime(args)
        registries_file(args, args.data_dir or default_data_dir())  # fail early on a bad file
    except (JoinError, OSError, RuntimeUnavailable, RegistriesError) as err:
        print(f"pyk8s agent: {err}")
        return 1
    tune_gc()
    try:
        asyncio.run(run_agent(args, token.secret, ca))
    except KeyboardInterrupt:
        pass
    return 0


async def run_agent(args: argparse.Namespace, secret: str, ca_pem: bytes) -> None:
    client = Client(
        args.server, token=secret, ca_data=ca_pem.decode(), user_agent=f"kubelet/{args.node_name}"
    )
    pool = NodePool(client)
    cri_node = proxy = None
    if args.runtime == "containerd":
        from pyk8s.kubelet.crinode import CriNode, CriNodeOptions

        data_dir = args.data_dir or default_data_dir()
        cri_node = CriNode(
            CriNodeOptions(
                data_dir,
                args.node_name,
                ca_pem,
                node_ip=args.node_ip,
                kubelet_port=args.kubelet_port,
                endpoint=args.container_runtime_endpoint,
                registry_config_dir=registry_config_dir(args, data_dir),
                registries=registries_file(args, data_dir),
                cluster_dns=args.cluster_dns,
                cluster_domain=args.cluster_domain,
            )
        )
        pool.add(*await cri_node.start(client))
        proxy = await start_service_proxy(
            "pyk8s agent",
            client,
            f"{data_dir}/{args.node_name}",
            {args.node_name: args.node_ip},
            args.cluster_cidr,
        )
    else:
        config = NodeConfig(args.node_name, internal_ip=args.node_ip)
        pool.add(config, SimRuntime(sim_config(args)))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    starter = asyncio.create_task(pool.start())
    print(f"pyk8s agent: node {args.node_name} joining {args.server}", flush=True)
    await stop.wait()
    starter.cancel()
    try:
        await pool.stop()
    finally:
        if proxy is not None:
            await proxy.stop(cleanup=False)  # services keep working while it restarts
        if cri_node is not None:
            await cri_node.stop()  # containers keep running: a restarted agent adopts them
        await client.close()


async def cleanup_node(args: argparse.Namespace) -> int:
    """`pyk8s agent --cleanup`: the node's containers, network, cgroups and service
    rules removed; its data dir (images, state files) kept."""
    from pyk8s.kubelet.crinode import CriNode, CriNodeOptions
    from pyk8s.proxy import proxy_prefix, remove_rules, unsupported_reason

    data_dir = args.data_dir or default_data_dir()
    if args.runtime != "sim" and (
        args.container_runtime_endpoint or containerd_available() is None
    ):
        node = CriNode(
            CriNodeOptions(data_dir, args.node_name, b"", endpoint=args.container_runtime_endpoint)
        )
        await node.cleanup()
    if not unsupported_reason():
        await remove_rules(proxy_prefix(f"{data_dir}/{args.node_name}"))
    print(f"pyk8s agent: node {args.node_name} cleaned up")
    return 0
