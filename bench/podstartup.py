"""Pod startup latency on real containers, and the node agent's memory.

    python -m bench.podstartup [--rounds 3] [--json FILE]

Runs `pyk8s server` and one `pyk8s agent --runtime containerd` as separate
processes (so the agent's RSS is its own), with the sample images imported from
the agent's airgap folder. For batches of 1, 10 and 30 pods created at once
(image present, imagePullPolicy IfNotPresent), each pod's latency is from its
create request to the watch event showing it Running (upstream's pod startup SLI,
which excludes image pulls). Reports p50/p99 per batch over the rounds, and the
agent's RSS idle and with 30 pods running (its containerd child separately).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cluster_procs import cpu_seconds, vm_rss_mib
from pyk8s.apiserver.credentials import ensure_credentials
from pyk8s.cli.agent import make_join_token
from pyk8s.client import Client
from pyk8s.images.cluster import node_sockets
from pyk8s.images.samples import build_samples
from pyk8s.kubelet.cni import NodeNetwork
from pyk8s.kubelet.cri import CriClient
from pyk8s.kubelet.crinode import remove_cgroup_tree
from pyk8s.proxy import proxy_prefix, remove_rules

NODE = "bench-node"
IMAGE = "nginx:1.16.0"
BATCHES = (1, 10, 30)


def start(args: list[str], log: Path, ready: str) -> tuple[subprocess.Popen, str]:
    out = open(log, "w")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=out, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if ready not in line:
        proc.kill()
        raise RuntimeError(f"{args[3]} did not start: {line!r}\n{log.read_text()[-2000:]}")
    return proc, line


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"bench": "startup"}},
        "spec": {
            "containers": [{"name": "web", "image": IMAGE, "imagePullPolicy": "IfNotPresent"}],
            "terminationGracePeriodSeconds": 0,
        },
    }


async def batch(client: Client, size: int, round_: int) -> list[float]:
    pods = client.resource("v1", "pods")
    listed = await client.list(pods, namespace="default")
    rv = listed["metadata"]["resourceVersion"]
    created: dict[str, float] = {}
    done: dict[str, float] = {}

    async def watch() -> None:
        async for event in client.watch(pods, namespace="default", resource_version=rv):
            obj = event.object
            name = obj["metadata"]["name"]
            if name in done or (obj.get("status") or {}).get("phase") != "Running":
                continue
            done[name] = time.monotonic()
            if len(done) == size:
                return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.1)

    async def create(name: str) -> None:
        created[name] = time.monotonic()
        await client.create(pods, pod(name), namespace="default")

    await asyncio.gather(*(create(f"s{size}-r{round_}-{i}") for i in range(size)))
    await asyncio.wait_for(watcher, 120)
    return [done[n] - created[n] for n in created]


async def clear(client: Client, socket: str) -> None:
    """Delete the batch and wait until the node has removed every sandbox."""
    pods = client.resource("v1", "pods")
    await client.delete_collection(pods, namespace="default", label_selector="bench=startup")
    cri = await CriClient.connect(socket)
    try:
        for _ in range(1200):
            listed = (await client.list(pods, namespace="default"))["items"]
            if not listed and not await cri.list_pod_sandbox():
                return
            await asyncio.sleep(0.1)
    finally:
        await cri.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def system_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (every process), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def measure(
    kubeconfig: Path, agent_pid: int, rounds: int, socket: str, server_pid: int
) -> dict[str, Any]:
    client = Client.from_kubeconfig(str(kubeconfig))
    results: dict[str, Any] = {"latency_s": {}, "rss_mib": {}, "cpu_s_per_pod": {}}
    try:
        await asyncio.sleep(2)
        results["rss_mib"]["agent idle"] = vm_rss_mib(agent_pid)
        for size in BATCHES:
            samples: list[float] = []
            cpu = {"agent": 0.0, "server": 0.0, "machine": 0.0}
            for r in range(rounds):
                before = (cpu_seconds(agent_pid), cpu_seconds(server_pid), system_cpu_seconds())
                samples += await batch(client, size, r)
                after = (cpu_seconds(agent_pid), cpu_seconds(server_pid), system_cpu_seconds())
                for key, b, a in zip(cpu, before, after, strict=True):
                    cpu[key] += a - b
                if size == BATCHES[-1] and r == rounds - 1:
                    results["rss_mib"]["agent with 30 pods"] = vm_rss_mib(agent_pid)
                await clear(client, socket)
            results["latency_s"][str(size)] = {
                "p50": statistics.median(samples),
                "p99": percentile(samples, 0.99),
                "n": len(samples),
            }
            # Until the last pod of a batch ran: what starting a pod costs, and who pays.
            results["cpu_s_per_pod"][str(size)] = {k: v / len(samples) for k, v in cpu.items()}
    finally:
        await client.close()
    return results


def containerd_pid(agent_pid: int) -> int | None:
    children = Path(f"/proc/{agent_pid}/task/{agent_pid}/children")
    for pid in children.read_text().split():
        if "containerd" in Path(f"/proc/{pid}/cmdline").read_text():
            return int(pid)
    return None


def run(rounds: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="pyk8s-podstartup-"))
    py = [sys.executable, "-m", "pyk8s.cli.main"]
    server, line = start(
        py + ["server", "--data-dir", str(work / "server"), "--port", "0", "--no-fsync",
              "--cluster-cidr", "198.18.48.0/20", "--service-cidr", "198.19.3.0/24"],
        work / "server.log", "ready",
    )  # fmt: skip
    url = line.split("ready: ", 1)[1].split(" ", 1)[0]
    creds = ensure_credentials(work / "server")
    token = make_join_token(creds.ca_file.read_bytes(), creds.token)
    build_samples(work / "agent" / "images" / "samples.tar")
    agent, _ = start(
        py + ["agent", "--server", url, "--token", token, "--node-name", NODE,
              "--data-dir", str(work / "agent"), "--kubelet-port", "0", "--runtime", "containerd"],
        work / "agent.log", "joining",
    )  # fmt: skip
    try:
        socket = node_sockets(work / "agent")[NODE]
        kubeconfig = work / "server" / "kubeconfig.yaml"
        results = asyncio.run(measure(kubeconfig, agent.pid, rounds, socket, server.pid))
        child = containerd_pid(agent.pid)
        if child is not None:
            results["rss_mib"]["its containerd"] = vm_rss_mib(child)
    finally:
        stop(agent)
        # The agent keeps its bridge, masquerade rule and cgroup parents (a restart
        # would reuse them): the benchmark removes them.
        NodeNetwork(NODE, work / "agent" / "nodes" / NODE).teardown()
        remove_cgroup_tree(f"/pyk8s-{NODE}")
        remove_proxy_rules(proxy_prefix(f"{work / 'agent'}/{NODE}"))
        stop(server)
        shutil.rmtree(work, ignore_errors=True)
    results["command"] = "python -m bench.podstartup " + " ".join(sys.argv[1:])
    return results


def remove_proxy_rules(prefix: str) -> None:
    """An agent's service rules (it keeps them when it stops, as kube-proxy does)."""
    asyncio.run(remove_rules(prefix))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    results = run(args.rounds)
    text = json.dumps(results)
    print(text)
    if args.json:
        with args.json.open("a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
