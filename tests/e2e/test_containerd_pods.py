"""The seed's pod and rollout sections on real containers: `pyk8s up --runtime
containerd` with three workers, driven by the real kubectl (1.32 and 1.37).

run nginx-pod -> Running with a 198.18.x.y IP, curl answers, exec -it through a
terminal, killing nginx restarts the container (RESTARTS 1, same IP); a
deployment spread over the workers; set image to an existing tag (curl shows the
new version) and to a missing one (ErrImagePull/ImagePullBackOff, the rollout
stalls), undo; logs; and nothing is left behind when the cluster stops.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cricluster import CriUpCluster, require_containerd, wait_for
from servers import Kubectl, kubectl_binaries

pytestmark = pytest.mark.containerd

ROLLOUT_NGINX = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rollout-nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx-updated
  template:
    metadata:
      labels:
        app: nginx-updated
    spec:
      containers:
      - name: nginx
        image: nginx:1.15.12
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, samples_archive: Path) -> Iterator[CriUpCluster]:
    require_containerd()
    up = CriUpCluster(
        tmp_path_factory.mktemp("cri-up"),
        samples_archive,
        cluster_cidr="198.18.0.0/20",
        node_ip_range="198.18.240.0/28",
        service_cidr="198.19.0.0/24",
    )
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture(scope="module", params=sorted(kubectl_binaries()))
def kubectl(cluster: CriUpCluster, request, tmp_path_factory) -> Kubectl:
    binary = kubectl_binaries()[request.param]
    return Kubectl(binary, cluster.kubeconfig, tmp_path_factory.mktemp("kc"), request.param)


def suffix(kubectl: Kubectl) -> str:
    return kubectl.label.replace(".", "")


def pod_json(kubectl: Kubectl, name: str) -> dict:
    return json.loads(kubectl("get", "pod", name, "-o", "json"))


def running(kubectl: Kubectl, name: str) -> dict | None:
    pod = pod_json(kubectl, name)
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    if statuses and all("running" in (s.get("state") or {}) for s in statuses):
        return pod
    return None


def http_get(ip: str, port: int = 80) -> tuple[int, dict[str, str], str]:
    # No proxy: pod IPs are reached straight through the node's bridge.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://{ip}:{port}/", timeout=5) as resp:
        return resp.status, dict(resp.headers), resp.read().decode()


def test_run_pod_curl_exec_and_self_healing(kubectl: Kubectl) -> None:
    name = f"nginx-pod-{suffix(kubectl)}"
    assert kubectl("run", name, "--image=nginx").strip() == f"pod/{name} created"
    pod = wait_for(lambda: running(kubectl, name), 90, what=f"{name} Running")
    ip = pod["status"]["podIP"]
    assert ip.startswith("198.18."), ip
    wide = kubectl("get", "pods", name, "-o", "wide")
    assert ip in wide and pod["spec"]["nodeName"] in wide and "Running" in wide

    status, headers, body = http_get(ip)
    assert status == 200 and headers["Server"].startswith("nginx/")
    assert headers["X-Image-Version"] == "latest"

    pid = kubectl("exec", name, "--", "cat", "/run/nginx.pid").strip()
    assert pid.isdigit()
    out = interactive_exec(kubectl, name, ["ls -l /run/nginx.pid", "kill $(cat /run/nginx.pid)"])
    assert "/run/nginx.pid" in out

    def restarted() -> dict | None:
        p = running(kubectl, name)
        if p and p["status"]["containerStatuses"][0]["restartCount"] == 1:
            return p
        return None

    pod = wait_for(restarted, 90, what="the container restarted")
    assert pod["status"]["podIP"] == ip  # the sandbox (and its IP) is kept
    row = kubectl("get", "pod", name).splitlines()[1].split()
    assert row[1] == "1/1" and row[2] == "Running" and row[3].startswith("1")
    assert http_get(ip)[0] == 200
    kubectl("delete", "pod", name, "--wait=true")


def interactive_exec(kubectl: Kubectl, pod: str, commands: list[str]) -> str:
    """`kubectl exec -it POD -- /bin/bash` in a real terminal: type each command,
    then exit; returns what the terminal showed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [kubectl.binary, "exec", "-it", pod, "--", "/bin/bash"],
        stdin=follower, stdout=follower, stderr=follower, env=kubectl.env(), close_fds=True,
    )
    os.close(follower)
    seen = b""

    def read_for(seconds: float) -> None:
        nonlocal seen
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    return

    try:
        read_for(2.0)
        for command in [*commands, "exit"]:
            os.write(leader, command.encode() + b"\r")
            read_for(1.5)
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    return seen.decode(errors="replace")


def test_deployment_spreads_over_workers_with_distinct_ips(kubectl: Kubectl) -> None:
    name = f"echo-hname-{suffix(kubectl)}"
    kubectl("create", "deployment", name, "--image=sysnet4admin/echo-hname", "--replicas=3")

    def all_running() -> list[dict] | None:
        pods = json.loads(kubectl("get", "pods", "-l", f"app={name}", "-o", "json"))["items"]
        ok = [p for p in pods if p.get("status", {}).get("phase") == "Running"]
        return ok if len(ok) == 3 and len(pods) == 3 else None

    pods = wait_for(all_running, 120, what="3 replicas Running")
    ips = {p["status"]["podIP"] for p in pods}
    nodes = {p["spec"]["nodeName"] for p in pods}
    assert len(ips) == 3 and all(ip.startswith("198.18.") for ip in ips)
    assert nodes == {"w1-k8s", "w2-k8s", "w3-k8s"}
    for p in pods:  # echo-hname answers with the pod's hostname
        assert http_get(p["status"]["podIP"])[2].strip() == p["metadata"]["name"]
    # Pods on different nodes reach each other (through the host, bridge to bridge).
    a, b = pods[0], pods[1]
    assert a["spec"]["nodeName"] != b["spec"]["nodeName"]
    url = f"http://{b['status']['podIP']}/"
    answer = kubectl("exec", a["metadata"]["name"], "--", "wget", "-qO-", url)
    assert answer.strip() == b["metadata"]["name"]
    kubectl("delete", "deployment", name)


def test_rollout_new_tag_missing_tag_and_undo(kubectl: Kubectl, tmp_path: Path) -> None:
    ns = f"rollout-{suffix(kubectl)}"
    kubectl("create", "namespace", ns)
    manifest = tmp_path / "rollout-nginx.yaml"
    manifest.write_text(ROLLOUT_NGINX)
    kubectl("apply", "-n", ns, "-f", str(manifest), "--record")
    kubectl("rollout", "status", "-n", ns, "deployment/rollout-nginx", "--timeout=120s")

    def versions() -> set[str]:
        pods = json.loads(kubectl("get", "pods", "-n", ns, "-o", "json"))["items"]
        return {
            http_get(p["status"]["podIP"])[1]["X-Image-Version"]
            for p in pods
            if p["status"].get("podIP") and p["metadata"].get("deletionTimestamp") is None
        }

    assert versions() == {"1.15.12"}
    kubectl("set", "image", "-n", ns, "deployment/rollout-nginx", "nginx=nginx:1.16.0", "--record")
    kubectl("rollout", "status", "-n", ns, "deployment/rollout-nginx", "--timeout=120s")
    wait_for(lambda: versions() == {"1.16.0"}, 30, what="every pod on 1.16.0")

    kubectl("set", "image", "-n", ns, "deployment/rollout-nginx", "nginx=nginx:1.17.23", "--record")

    def stalled() -> str | None:
        text = kubectl("get", "pods", "-n", ns)
        return text if ("ErrImagePull" in text or "ImagePullBackOff" in text) else None

    wait_for(stalled, 60, what="ErrImagePull/ImagePullBackOff")
    status = kubectl.run(
        "rollout", "status", "-n", ns, "deployment/rollout-nginx", "--timeout=3s", check=False
    )
    assert status.returncode != 0
    assert "1 out of 3 new replicas have been updated" in status.stdout
    events = kubectl("get", "events", "-n", ns)
    assert 'Failed to pull image "nginx:1.17.23"' in events

    kubectl("rollout", "undo", "-n", ns, "deployment/rollout-nginx")
    kubectl("rollout", "status", "-n", ns, "deployment/rollout-nginx", "--timeout=120s")
    assert versions() == {"1.16.0"}
    kubectl("delete", "namespace", ns)


def test_logs_and_logs_follow(kubectl: Kubectl) -> None:
    name = f"talker-{suffix(kubectl)}"
    kubectl(
        "run", name, "--image=busybox", "--restart=Never", "--",
        "sh", "-c", "echo one; echo two >&2; for i in 1 2 3; do sleep 1; echo tick $i; done",
    )  # fmt: skip
    wait_for(lambda: "one" in kubectl.run("logs", name, check=False).stdout, 60, what="first log")
    follow = kubectl.run("logs", "-f", name, timeout=60)
    lines = follow.stdout.splitlines()
    # stdout and stderr are separate pipes: containerd may log "two" before "one".
    assert sorted(lines[:2]) == ["one", "two"] and lines[2:] == ["tick 1", "tick 2", "tick 3"]
    assert kubectl("logs", name, "--tail=1").strip() == "tick 3"
    kubectl("delete", "pod", name)
