"""Service proxy benchmark: how fast EndpointSlice changes reach the kernel, and what
a ClusterIP costs per request.

    python -m bench.serviceproxy [--services 1000] [--changes 200] [--wrk-seconds 5]
                                 [--json FILE]

(a) Programming latency. A `pyk8s server` child (API server alone, durable,
    service range 198.19.232.0/21) holds N Services (cluster IPs allocated) with
    one EndpointSlice of 3 ready endpoints each; a ServiceProxy in this process
    syncs them (the first, full sync is timed too). Then, one at a time, a slice
    of a random service gets one endpoint replaced by a new address; each
    change's latency runs from just before the PUT to the end of the
    iptables-restore of the first sync whose rules name the new address (the
    proxy's sync-done timestamp, same monotonic clock).
(b) Request rate. Three namespaces on a bridge of their own run nginx (one
    worker each). `wrk -t 2 -c 32 -d S` runs through the ClusterIP of a Service
    whose only endpoint is pod-a (with the N services' rules in place) and
    straight at pod-b (an identical nginx, so the two paths share no TIME_WAIT
    state), alternately, 3 times each, medians compared: from the host and from
    pod-c's namespace, with keep-alive connections and with a new connection per
    request (each then walks the nat chains; the host's are also masqueraded).

Root, iptables, wrk and nginx are needed. Prints JSON and a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.podnet import PodNet, get  # noqa: E402
from bench.server import REPO, BenchServer  # noqa: E402
from pyk8s.client import Client  # noqa: E402
from pyk8s.proxy import ServiceProxy, SyncResult, proxy_prefix  # noqa: E402

SERVICE_CIDR = "198.19.232.0/21"
POD_SUBNET = "198.18.228.0/24"  # the nginx namespaces of part (b)
CLUSTER_CIDR = "198.18.224.0/19"  # pods as the proxy sees them: (b)'s and (a)'s made-up ones
NODE_IP = "198.18.223.1"  # outside CLUSTER_CIDR, as a node address is
NS = "default"
SERVICES = ("v1", "services")
SLICES = ("discovery.k8s.io/v1", "endpointslices")


class ProxyBenchServer(BenchServer):
    """BenchServer with a service range in the test addresses."""

    def start(self, timeout: float = 60.0) -> BenchServer:
        args = [sys.executable, "-m", "pyk8s.cli.main", "server", "--disable-controllers"]
        args += ["--data-dir", str(self.data_dir / "server"), "--port", "0"]
        args += ["--service-cidr", SERVICE_CIDR]
        self._log = open(self.data_dir / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            args, cwd=REPO, stdout=subprocess.PIPE, stderr=self._log, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "ready: " not in line:
            self.stop()
            raise RuntimeError(f"pyk8s server did not start: {line!r}")
        self.url = line.split("ready: ", 1)[1].split(" ", 1)[0]
        tls = self.data_dir / "server" / "tls"
        self.token = (tls / "admin.token").read_text().strip()
        self.ca_file = str(tls / "ca.crt")
        return self


def made_up_ip(n: int) -> str:
    """The n-th address of 198.18.240.0/20: endpoints that only exist as rules."""
    return f"198.18.{240 + n // 256}.{n % 256}"


def service(name: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": NS},
        "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
    }


def endpoint_slice(name: str, ips: list[str], port: int = 8080) -> dict:
    return {
        "metadata": {
            "name": f"{name}-1",
            "namespace": NS,
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": [ip], "conditions": {"ready": True}, "nodeName": "bench-node"}
            for ip in ips
        ],
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# -- (a) programming latency ---------------------------------------------------------


async def create_all(client: Client, n: int) -> dict[str, dict]:
    """n services with a slice of 3 made-up endpoints each; the slices by service name."""
    sem = asyncio.Semaphore(16)
    slices: dict[str, dict] = {}

    async def one(i: int) -> None:
        name = f"s{i:04d}"
        async with sem:
            await client.create(client.resource(*SERVICES), service(name))
            ips = [made_up_ip(3 * i + j) for j in range(3)]
            slices[name] = await client.create(client.resource(*SLICES), endpoint_slice(name, ips))

    await asyncio.gather(*(one(i) for i in range(n)))
    return slices


def expect(proxy: ServiceProxy, needle: str) -> asyncio.Future[SyncResult]:
    """The first sync from now on whose restore input contains needle."""
    found: asyncio.Future[SyncResult] = asyncio.get_running_loop().create_future()

    def listener(result: SyncResult) -> None:
        if not found.done() and needle in result.text:
            found.set_result(result)
            proxy.listeners.remove(listener)

    proxy.listeners.append(listener)
    return found


async def change_latencies(
    client: Client, proxy: ServiceProxy, slices: dict[str, dict], changes: int
) -> tuple[list[float], list[float]]:
    rng = random.Random(7)
    names = sorted(slices)
    latencies, sync_seconds = [], []
    for k in range(changes):
        name = rng.choice(names)
        es = slices[name]
        new_ip = f"198.18.{252 + k // 250}.{k % 250 + 1}"
        es["endpoints"][rng.randrange(3)]["addresses"] = [new_ip]
        done = expect(proxy, f"{new_ip}:8080")
        t0 = time.monotonic()
        slices[name] = await client.update(client.resource(*SLICES), es)
        result = await asyncio.wait_for(done, 30)
        latencies.append(result.finished - t0)
        sync_seconds.append(result.seconds)
        await asyncio.sleep(rng.uniform(0.02, 0.08))  # changes arrive one at a time
    return latencies, sync_seconds


# -- (b) request rate --------------------------------------------------------------


def run_wrk(url: str, seconds: float, close: bool, netns: str = "") -> dict[str, float]:
    argv = ["ip", "netns", "exec", netns] if netns else []
    argv += ["wrk", "-t", "2", "-c", "32", "-d", f"{seconds:g}s", "--latency"]
    if close:
        argv += ["-H", "Connection: close"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": rate,
        "socket_errors": errors,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else 0.0,
    }


ROUNDS = 3  # alternations of direct / ClusterIP per variant; the medians are compared
# (name, client namespace or "" for the host, new connection per request)
VARIANTS = (
    ("host_keepalive", False, False),
    ("pod_keepalive", True, False),
    ("pod_close", True, True),
    ("host_close", False, True),
)


async def request_rates(
    client: Client, proxy: ServiceProxy, net: PodNet, seconds: float
) -> dict[str, Any]:
    """wrk through the ClusterIP of a Service whose one endpoint is pod-a, and straight
    at pod-b (an identical nginx: the two paths share no TIME_WAIT state), from the
    host and from pod-c."""
    via_pod, direct_pod, client_pod = net.pods
    done = expect(proxy, f"{via_pod.ip}:{net.port}")
    created = await client.create(client.resource(*SERVICES), service("web"))
    await client.create(client.resource(*SLICES), endpoint_slice("web", [via_pod.ip], net.port))
    await asyncio.wait_for(done, 30)
    urls = {
        "clusterip": f"http://{created['spec']['clusterIP']}/",
        "direct": f"http://{direct_pod.ip}:{net.port}/",
    }
    assert await asyncio.to_thread(get, urls["clusterip"]) == via_pod.name
    out: dict[str, Any] = {"cluster_ip": created["spec"]["clusterIP"]}
    for variant, from_pod, close in VARIANTS:
        netns = client_pod.netns if from_pod else ""
        runs: dict[str, list[dict[str, float]]] = {"direct": [], "clusterip": []}
        for _ in range(ROUNDS):
            for kind in ("direct", "clusterip"):
                result = await asyncio.to_thread(run_wrk, urls[kind], seconds, close, netns)
                runs[kind].append(result)
        direct = statistics.median(r["rps"] for r in runs["direct"])
        via = statistics.median(r["rps"] for r in runs["clusterip"])
        out[variant] = {"runs": runs, "direct_rps": direct, "clusterip_rps": via,
                        "ratio": via / direct}  # fmt: skip
    return out


# -- the run ----------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"services": args.services, "changes": args.changes,
                               "loadavg_start": loadavg()}  # fmt: skip
    with ProxyBenchServer() as server, PodNet(subnet=POD_SUBNET, server="nginx") as net:
        net.add_node_ip(NODE_IP)
        client = Client(server.url, token=server.token, ca_file=server.ca_file)
        proxy = ServiceProxy(client, prefix=proxy_prefix(f"bench-{net.tag}"),
                             node_ips={"bench-node": NODE_IP}, cluster_cidr=CLUSTER_CIDR)  # fmt: skip
        try:
            t0 = time.monotonic()
            slices = await create_all(client, args.services)
            results["create_seconds"] = time.monotonic() - t0
            t0 = time.monotonic()
            await proxy.start()
            await asyncio.wait_for(proxy.synced.wait(), 120)
            results["first_sync_seconds"] = time.monotonic() - t0
            results["first_sync_restore_lines"] = proxy.applied.render().count("\n")
            lat, sync_s = await change_latencies(client, proxy, slices, args.changes)
            results["change_latency"] = {
                "p50_ms": 1000 * pct(lat, 0.50),
                "p99_ms": 1000 * pct(lat, 0.99),
                "max_ms": 1000 * max(lat),
                "sync_p50_ms": 1000 * pct(sync_s, 0.50),
                "sync_p99_ms": 1000 * pct(sync_s, 0.99),
            }
            results["loadavg_before_wrk"] = loadavg()
            results["requests"] = await request_rates(client, proxy, net, args.wrk_seconds)
        finally:
            await proxy.stop(cleanup=True)
            await client.close()
    results["loadavg_end"] = loadavg()
    return results


def markdown(r: dict[str, Any]) -> str:
    lat, req = r["change_latency"], r["requests"]
    rows = [
        "| measurement | result | target |",
        "|---|---:|---|",
        f"| EndpointSlice change -> rules applied, p50 ({r['services']:,} services) "
        f"| {lat['p50_ms']:.0f} ms | |",
        f"| ... p99 (max {lat['max_ms']:.0f} ms) | {lat['p99_ms']:.0f} ms | < 1 s |",
        f"| the proxy's sync (build + iptables-restore), p50 / p99 "
        f"| {lat['sync_p50_ms']:.0f} / {lat['sync_p99_ms']:.0f} ms | |",
        f"| first full sync of {r['services']:,} services "
        f"({r['first_sync_restore_lines']:,} restore lines) | {r['first_sync_seconds']:.2f} s | |",
    ]
    labels = {
        "host_keepalive": ("from the host, keep-alive", ">= 0.9"),
        "pod_keepalive": ("from a pod, keep-alive", ""),
        "pod_close": ("from a pod, a connection per request", ""),
        "host_close": ("from the host, a connection per request (masqueraded)", ""),
    }
    for variant, (label, target) in labels.items():
        v = req[variant]
        rows.append(
            f"| requests/s {label}: ClusterIP / pod IP | {v['clusterip_rps']:,.0f} / "
            f"{v['direct_rps']:,.0f} = {v['ratio']:.2f} | {target} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--services", type=int, default=1000)
    p.add_argument("--changes", type=int, default=200)
    p.add_argument("--wrk-seconds", type=float, default=5.0)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    reason = PodNet.available()
    for tool in ("wrk", "nginx"):
        if not reason and shutil.which(tool) is None:
            reason = f"needs {tool}"
    if reason:
        print(f"bench.serviceproxy {reason}", file=sys.stderr)
        return 2
    results = asyncio.run(run(args))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    print()
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
