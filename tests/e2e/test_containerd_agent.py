"""`pyk8s agent --runtime containerd` joining `pyk8s server`: a restarted agent
adopts the containers it already runs (same container ID, no restart), and removes
the sandboxes of pods deleted while it was down."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cricluster import force_cleanup, leftovers, remove_proxy_rules, require_containerd, wait_for
from servers import Kubectl, kubectl_binaries

from pyk8s.apiserver.credentials import ensure_credentials
from pyk8s.cli.agent import make_join_token
from pyk8s.images.registry import LocalRegistry
from pyk8s.kubelet.cri import CriClient
from pyk8s.proxy import proxy_prefix

pytestmark = pytest.mark.containerd

NODE = "agent-node"


class Proc:
    def __init__(self, args: list[str], log: Path, ready: str) -> None:
        self.log = open(log, "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert self.proc.stdout is not None
        self.first = self.proc.stdout.readline()
        if ready not in self.first:
            self.stop()
            raise RuntimeError(f"{args[3]} did not start: {self.first!r}\n{log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    require_containerd()
    data = tmp_path / "server"
    proc = Proc(
        [
            sys.executable, "-m", "pyk8s.cli.main", "server", "--data-dir", str(data),
            "--port", "0", "--no-fsync", "--cluster-cidr", "198.18.32.0/20",
            "--service-cidr", "198.19.2.0/24",
        ],
        tmp_path / "server.log",
        "ready",
    )  # fmt: skip
    url = proc.first.split("ready: ", 1)[1].split(" ", 1)[0]
    try:
        yield data, url
    finally:
        proc.stop()


def start_agent(tmp_path: Path, url: str, server_dir: Path, registry: str) -> Proc:
    creds = ensure_credentials(server_dir)
    token = make_join_token(creds.ca_file.read_bytes(), creds.token)
    return Proc(
        [
            sys.executable, "-m", "pyk8s.cli.main", "agent", "--server", url, "--token", token,
            "--node-name", NODE, "--data-dir", str(tmp_path / "agent"), "--kubelet-port", "0",
            "--runtime", "containerd", "--registry-mirror", registry,
        ],
        tmp_path / "agent.log",
        "joining",
    )  # fmt: skip


def test_restarted_agent_adopts_running_pods(
    tmp_path: Path, server: tuple[Path, str], samples_archive: Path
) -> None:
    server_dir, url = server
    (tmp_path / "agent" / "images").mkdir(parents=True)
    shutil.copy(samples_archive, tmp_path / "agent" / "images" / "samples.tar")
    registry = LocalRegistry([samples_archive]).run_in_thread()
    kubectl = Kubectl(
        kubectl_binaries()[sorted(kubectl_binaries())[-1]],
        str(server_dir / "kubeconfig.yaml"),
        tmp_path / "kc",
    )
    agent = start_agent(tmp_path, url, server_dir, registry.url)
    try:
        wait_for(lambda: "Ready" in kubectl.run("get", "node", NODE, check=False).stdout, 30)
        kubectl("run", "keeper", "--image=nginx:1.16.0")
        kubectl("run", "goner", "--image=nginx:1.16.0")

        def running(name: str) -> dict | None:
            pod = json.loads(kubectl("get", "pod", name, "-o", "json"))
            cs = (pod.get("status") or {}).get("containerStatuses") or [{}]
            return cs[0] if "running" in (cs[0].get("state") or {}) else None

        before = wait_for(lambda: running("keeper"), 60, what="keeper Running")
        wait_for(lambda: running("goner"), 60, what="goner Running")

        agent.stop()  # containers keep running, as when a kubelet restarts
        kubectl("delete", "pod", "goner", "--grace-period=0", "--force")
        agent = start_agent(tmp_path, url, server_dir, registry.url)

        def adopted() -> dict | None:
            cs = running("keeper")
            ready = "Ready" in kubectl("get", "node", NODE)
            return cs if cs and ready else None

        after = wait_for(adopted, 30, what="keeper adopted")
        assert after["containerID"] == before["containerID"]
        assert after["restartCount"] == 0
        sock = json.loads(
            (tmp_path / "agent" / "nodes" / NODE / "containerd.json").read_text()
        )["socket"]
        wait_for(lambda: _sandbox_names(sock) == ["keeper"], 30, what="goner's sandbox removed")

        kubectl("delete", "pod", "keeper")
        wait_for(lambda: _sandbox_names(sock) == [], 60, what="keeper's sandbox removed")

        # A stopped agent leaves its pods, bridge, cgroups and service rules (as the
        # kubelet and kube-proxy do); `pyk8s agent --cleanup` removes them all.
        kubectl("run", "survivor", "--image=nginx:1.16.0")
        wait_for(lambda: running("survivor"), 60, what="survivor Running")
        agent.stop()
        prefix = proxy_prefix(f"{tmp_path / 'agent'}/{NODE}")
        kept = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        assert f"{prefix}-SERVICES" in kept
        assert leftovers(tmp_path / "agent", [NODE])  # bridge, cgroups, masquerade rule
        cleaned = subprocess.run(
            [
                sys.executable, "-m", "pyk8s.cli.main", "agent", "--cleanup",
                "--node-name", NODE, "--data-dir", str(tmp_path / "agent"),
            ],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
        assert f"node {NODE} cleaned up" in cleaned.stdout
        assert not leftovers(tmp_path / "agent", [NODE])
        saved = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        assert f"{prefix}-" not in saved
        assert not Path(f"/sys/fs/cgroup/memory/pyk8s-{NODE}").exists()
    finally:
        agent.stop()
        registry.close()
        if leftovers(tmp_path / "agent", [NODE]):  # a failed run: remove what it made
            force_cleanup(tmp_path / "agent", [NODE])
            remove_proxy_rules(proxy_prefix(f"{tmp_path / 'agent'}/{NODE}"))


def _sandbox_names(socket: str) -> list[str]:
    async def query() -> list[dict]:
        cri = await CriClient.connect(socket)
        try:
            return await cri.list_pod_sandbox()
        finally:
            await cri.close()

    return sorted(s["metadata"]["name"] for s in asyncio.run(query()))
