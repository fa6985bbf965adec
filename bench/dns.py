"""Cluster DNS queries answered per second, over UDP.

    python -m bench.dns [--clients 8] [--seconds 10] [--services 200] [--no-cache]

An in-process control plane (API server + cluster DNS on 127.0.0.1, ephemeral
port) gets `--services` ClusterIP Services and one headless Service with 10 ready
endpoints, made through the API. A load generator in a separate process (so the
server keeps its own core) runs `--clients` closed-loop UDP clients: each sends a
query, waits for its answer, sends the next. The names cycle through the
services' A records, the headless A record, an SRV name and an unknown name
(NXDOMAIN), in the proportions 7:1:1:1. A query unanswered after 1 s is counted
lost and the client moves on. `--no-cache` turns the server's response cache off,
so every query walks the informer caches. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import select
import socket
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import dns.message

from pyk8s.client import Client
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig

NS = "bench-dns"
ZONE = "cluster.local"
SERVICES = Client.resource("v1", "services")
SLICES = Client.resource("discovery.k8s.io/v1", "endpointslices")
NAMESPACES = Client.resource("v1", "namespaces")


def query_names(services: int) -> list[tuple[str, str]]:
    """(name, type) in the mix the clients send."""
    names: list[tuple[str, str]] = []
    for i in range(services):
        names.append((f"svc-{i}.{NS}.svc.{ZONE}", "A"))
        if i % 7 == 6:
            names += [
                (f"headless.{NS}.svc.{ZONE}", "A"),
                (f"_http._tcp.svc-{i}.{NS}.svc.{ZONE}", "SRV"),
                (f"missing-{i}.{NS}.svc.{ZONE}", "A"),
            ]
    return names


# -- the load generator (its own process) -------------------------------------------------


def load(port: int, names: list[tuple[str, str]], clients: int, seconds: float, out: Any) -> None:
    """Closed-loop UDP clients on one epoll loop; puts a result dict on `out`."""
    wires = [dns.message.make_query(n, t, use_edns=False).to_wire() for n, t in names]
    socks = []
    for _ in range(clients):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
    poller = select.epoll()
    by_fd: dict[int, list[Any]] = {}  # fd -> [socket, id, sent at, next name index]
    for i, s in enumerate(socks):
        poller.register(s.fileno(), select.EPOLLIN)
        by_fd[s.fileno()] = [s, 0, 0.0, i * len(wires) // clients]
    counts = {"answered": 0, "nxdomain": 0, "lost": 0, "mismatched": 0}
    latencies: list[float] = []

    def send(state: list[Any]) -> None:
        wire = bytearray(wires[state[3] % len(wires)])
        state[3] += 1
        state[1] = random.getrandbits(16)
        struct.pack_into("!H", wire, 0, state[1])
        state[2] = time.perf_counter()
        state[0].send(wire)

    for state in by_fd.values():
        send(state)
    end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < end:
        for fd, _ in poller.poll(0.05):
            state = by_fd[fd]
            data = state[0].recv(65535)
            if struct.unpack_from("!H", data)[0] != state[1]:
                counts["mismatched"] += 1  # a late answer to a query counted lost
                continue
            counts["answered"] += 1
            counts["nxdomain"] += (data[3] & 0xF) == 3
            if len(latencies) < 200_000:
                latencies.append(time.perf_counter() - state[2])
            send(state)
        for state in by_fd.values():
            if now - state[2] > 1.0:
                counts["lost"] += 1
                send(state)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1e6 if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99)] * 1e6 if latencies else 0.0
    out.put({**counts, "p50_us": round(p50), "p99_us": round(p99)})


# -- the server side ----------------------------------------------------------------------


async def populate(client: Client, services: int) -> None:
    await client.create(NAMESPACES, {"metadata": {"name": NS}})
    ports = [{"name": "http", "port": 80, "protocol": "TCP"}]
    for i in range(services):
        body = {"metadata": {"name": f"svc-{i}", "namespace": NS}, "spec": {"ports": ports}}
        await client.create(SERVICES, body)
    headless = {"metadata": {"name": "headless", "namespace": NS}, "spec": {"clusterIP": "None"}}
    await client.create(SERVICES, headless)
    endpoints = [
        {"addresses": [f"198.18.7.{i}"], "conditions": {"ready": True}} for i in range(1, 11)
    ]
    sl = {
        "metadata": {
            "name": "headless-1",
            "namespace": NS,
            "labels": {"kubernetes.io/service-name": "headless"},
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }
    await client.create(SLICES, sl)


async def wait_answered(cp: ControlPlane, services: int) -> None:
    """Until the server's caches hold every service (the informers caught up)."""
    resolver = cp.dns.resolver
    deadline = time.monotonic() + 30
    name = f"svc-{services - 1}.{NS}.svc.{ZONE}"
    while (
        resolver.resolve(name, 1).rcode != 0
        or not resolver.resolve(f"headless.{NS}.svc.{ZONE}", 1).answer
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("cluster DNS did not catch up with the API in 30 s")
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pyk8s-bench-dns-") as tmp:
        cp = ControlPlane(
            ControlPlaneConfig(
                data_dir=Path(tmp),
                port=0,
                durable=False,
                controllers=[],
                scheduler=False,
                service_cidr="198.19.0.0/16",
                dns_address="127.0.0.1",
                dns_port=0,
                dns_upstreams=[],
            )
        )
        await cp.start()
        client = cp.new_client("bench-dns")
        try:
            await populate(client, args.services)
            await wait_answered(cp, args.services)
            if args.no_cache:
                cp.dns.server.cache_entries = 0
            names = query_names(args.services)
            ctx = multiprocessing.get_context("spawn")
            out = ctx.Queue()
            proc = ctx.Process(
                target=load, args=(cp.dns_port, names, args.clients, args.seconds, out)
            )
            load_before = os.getloadavg()[0]
            proc.start()
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(None, out.get, True, args.seconds + 60)
            await loop.run_in_executor(None, proc.join, 10)
        finally:
            await client.close()
            await cp.stop()
    return {
        "qps": round(result["answered"] / args.seconds),
        "clients": args.clients,
        "seconds": args.seconds,
        "services": args.services,
        "cache": not args.no_cache,
        **result,
        "loadavg_1m_before": round(load_before, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.dns", description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--services", type=int, default=200)
    ap.add_argument("--no-cache", action="store_true", help="turn the response cache off")
    print(json.dumps(asyncio.run(run(ap.parse_args()))))


if __name__ == "__main__":
    main()
