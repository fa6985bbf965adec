"""kubectl drain on `pyk8s up`: DaemonSet pods, bare pods and PodDisruptionBudgets
as upstream treats them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from servers import Kubectl, UpCluster, kubectl_binaries

DAEMONSET = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: kube-system
spec:
  selector:
    matchLabels: {app: node-agent}
  template:
    metadata:
      labels: {app: node-agent}
    spec:
      containers:
      - name: agent
        image: busybox
"""

PDB = """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: guarded
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: guarded}
"""


@pytest.fixture(scope="module")
def k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    version = "1.32" if "1.32" in kubectl_binaries() else sorted(kubectl_binaries())[0]
    base = tmp_path_factory.mktemp("drain")
    cluster = UpCluster(base / "cluster")
    try:
        yield Kubectl(kubectl_binaries()[version], cluster.kubeconfig, base / "home", version)
    finally:
        cluster.stop()


def wait_until(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def pods_on(k: Kubectl, node: str, namespace: str = "default") -> list[str]:
    out = k(
        "get",
        "pods",
        "-n",
        namespace,
        "--field-selector",
        f"spec.nodeName={node}",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    )
    return out.split()


def test_daemonset_pods_need_ignore_daemonsets(k: Kubectl):
    k("create", "-f", "-", input=DAEMONSET)
    wait_until(lambda: len(pods_on(k, "w2-k8s", "kube-system")) == 1, what="daemon pod on w2")
    proc = k.run("drain", "w2-k8s", check=False)
    assert proc.returncode == 1
    assert (
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/node-agent-"
        in proc.stderr
    )
    proc = k.run("drain", "w2-k8s", "--ignore-daemonsets")
    assert proc.stdout.splitlines()[-1] == "node/w2-k8s drained"
    assert "Warning: ignoring DaemonSet-managed Pods: kube-system/node-agent-" in proc.stderr
    # The daemon pod stays: unschedulable nodes still run their daemon pods.
    assert len(pods_on(k, "w2-k8s", "kube-system")) == 1
    k("uncordon", "w2-k8s")


def test_bare_pod_needs_force(k: Kubectl):
    k("run", "bare", "--image=nginx", "--overrides", '{"spec":{"nodeName":"w1-k8s"}}')
    wait_until(lambda: "bare" in pods_on(k, "w1-k8s"), what="bare pod on w1")
    proc = k.run("drain", "w1-k8s", "--ignore-daemonsets", check=False)
    assert proc.returncode == 1
    assert (
        "cannot delete cannot delete Pods that declare no controller (use --force to override): default/bare"
        in proc.stderr
    )
    proc = k.run("drain", "w1-k8s", "--ignore-daemonsets", "--force", timeout=90)
    assert "deleting Pods that declare no controller: default/bare" in proc.stderr
    assert "pod/bare evicted" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "node/w1-k8s drained"
    k("uncordon", "w1-k8s")


def test_pdb_blocks_then_allows(k: Kubectl):
    k("create", "deployment", "guarded", "--image=nginx", "--replicas=2")
    k("create", "-f", "-", input=PDB)
    wait_until(
        lambda: k("get", "pdb", "guarded", "-o", "jsonpath={.status.currentHealthy}") == "2",
        what="PDB sees 2 healthy pods",
    )
    assert k("get", "pdb", "guarded", "-o", "jsonpath={.status.disruptionsAllowed}") == "0"
    node = k("get", "pods", "-l", "app=guarded", "-o", "jsonpath={.items[0].spec.nodeName}")
    proc = k.run("drain", node, "--ignore-daemonsets", "--timeout=4s", check=False)
    assert proc.returncode == 1
    assert "Cannot evict pod as it would violate the pod's disruption budget." in proc.stderr
    k("scale", "deployment", "guarded", "--replicas=3")
    wait_until(
        lambda: k("get", "pdb", "guarded", "-o", "jsonpath={.status.disruptionsAllowed}") == "1",
        what="PDB allows a disruption",
    )
    proc = k.run("drain", node, "--ignore-daemonsets", timeout=90)
    assert proc.stdout.splitlines()[-1] == f"node/{node} drained"
    k("uncordon", node)
