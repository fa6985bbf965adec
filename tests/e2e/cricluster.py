"""`pyk8s up --runtime containerd` as a child process for the e2e tests: real
containerds (one per node), pod IPs in a range of 198.18.0.0/15 of the test's own
(clusters of parallel tests must not share a subnet: docs/testing.md lists who has which), every image pull routed to
a local registry on 127.0.0.1 serving the sample images, and a check that the
cluster leaves nothing behind when it stops."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyk8s.images.registry import LocalRegistry
from pyk8s.kubelet.cni import NodeNetwork, bridge_name
from pyk8s.kubelet.containerd import containerd_available, default_state_dir
from pyk8s.kubelet.crinode import remove_cgroup_tree
from pyk8s.kubelet.nodeaddrs import interface_name
from pyk8s.proxy import proxy_prefix, remove_rules

NODES = ["m-k8s", "w1-k8s", "w2-k8s", "w3-k8s"]


def require_containerd() -> None:
    reason = containerd_available()
    if reason is not None:
        pytest.skip(f"containerd cannot run here: {reason}")
    for tool in ("curl", "ip"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


class CriUpCluster:
    """`pyk8s up` on containerd; stop() stops it by pid and checks the leftovers."""

    def __init__(
        self,
        data_dir: Path,
        samples: Path,
        *,
        cluster_cidr: str,
        service_cidr: str,
        node_ip_range: str,
        workers: int = 3,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        images = data_dir / "images"
        images.mkdir(parents=True, exist_ok=True)
        shutil.copy(samples, images / "samples.tar")  # the airgap folder: on every node
        self.registry = LocalRegistry([samples]).run_in_thread()
        self.nodes = NODES[: workers + 1]
        args = [
            sys.executable, "-m", "pyk8s.cli.main", "up",
            "--data-dir", str(data_dir), "--port", "0", "--workers", str(workers),
            "--runtime", "containerd", "--no-fsync",
            "--registry-mirror", self.registry.url,
            "--cluster-cidr", cluster_cidr, "--service-cidr", service_cidr,
            "--node-ip-range", node_ip_range, *extra,
        ]  # fmt: skip
        self.log = open(data_dir / "up.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "ready" not in line:
            self.stop(check=False)
            raise RuntimeError(f"pyk8s up did not start: {line!r}\n{self.log_text()}")
        self.kubeconfig = str(data_dir / "kubeconfig.yaml")

    def log_text(self) -> str:
        try:
            return (self.data_dir / "up.log").read_text()[-4000:]
        except OSError:
            return ""

    def stop(self, check: bool = True) -> list[str]:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()
        self.registry.close()
        left = leftovers(self.data_dir, self.nodes)
        if left:
            force_cleanup(self.data_dir, self.nodes)
        if check:
            assert not left, f"the cluster left behind: {left}"
        return left


def leftovers(data_dir: Path, nodes: list[str]) -> list[str]:
    """Bridges, mounts, containerd/shim processes and cgroups of this cluster still there."""
    found = []
    nat_rules = subprocess.run(
        ["iptables", "-w", "-t", "nat", "-S", "POSTROUTING"], capture_output=True, text=True
    ).stdout
    for node in nodes:
        bridge = bridge_name(data_dir / "nodes" / node)
        if Path(f"/sys/class/net/{bridge}").exists():
            found.append(f"bridge {bridge}")
        if Path(f"/sys/fs/cgroup/memory/pyk8s-{node}").exists():
            found.append(f"cgroup /pyk8s-{node}")
        if f"pyk8s {node} pod masquerade" in nat_rules:
            found.append(f"iptables masquerade rule of {node}")
    saved = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    prefix = proxy_prefix(str(data_dir))
    if f"{prefix}-" in saved:
        found.append(f"service proxy rules {prefix}")
    dummy = interface_name(data_dir)
    if Path(f"/sys/class/net/{dummy}").exists():
        found.append(f"interface {dummy}")
    root = str(data_dir.resolve())
    for line in Path("/proc/self/mounts").read_text().splitlines():
        if root in line.split()[1] or any(s in line.split()[1] for s in _state_dirs(data_dir, nodes)):
            found.append(f"mount {line.split()[1]}")
    for needle in [root, *_state_dirs(data_dir, nodes)]:
        for pid in _pids_mentioning(needle):
            found.append(f"process {pid}")
    return found


def _state_dirs(data_dir: Path, nodes: list[str]) -> list[str]:
    """Each node's containerd state dir (its socket, config and shims' addresses)."""
    return [str(default_state_dir(data_dir / "nodes" / n / "containerd")) for n in nodes]


def _pids_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(entry.name))
    return pids


def remove_proxy_rules(prefix: str) -> None:
    """An agent's service rules (it keeps them when it stops, as kube-proxy does)."""
    asyncio.run(remove_rules(prefix))


def force_cleanup(data_dir: Path, nodes: list[str]) -> None:
    """After a failed teardown: remove only what this cluster made."""
    remove_proxy_rules(proxy_prefix(str(data_dir)))
    needles = [str(data_dir.resolve()), *_state_dirs(data_dir, nodes)]
    for needle in needles:
        for pid in _pids_mentioning(needle):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for line in reversed(Path("/proc/self/mounts").read_text().splitlines()):
        target = line.split()[1]
        if any(n in target for n in needles):
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)
    subprocess.run(["ip", "link", "delete", interface_name(data_dir)], capture_output=True)
    for node in nodes:
        NodeNetwork(node, data_dir / "nodes" / node).teardown()
        remove_cgroup_tree(f"/pyk8s-{node}")


def wait_for(check, timeout: float = 60.0, interval: float = 0.5, what: str = ""):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what or check}: last {last!r}")
