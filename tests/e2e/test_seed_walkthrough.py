"""The seed's walkthrough (chapter 3.2: pods, deployments, scale, apply, self-healing,
cordon, drain, rolling update, rollout history/undo) on `pyk8s up` with simulated
nodes, driven by the real kubectl, checking upstream's output.

Exec, killing a process and curl to a pod need real containers and are covered by
the containerd node agent's tests.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from servers import Kubectl, UpCluster, kubectl_binaries

ECHO_HNAME = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo-hname
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: echo-hname
        image: sysnet4admin/echo-hname
"""

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


@pytest.fixture(params=sorted(kubectl_binaries()), scope="module")
def seed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kubectl]:
    base = tmp_path_factory.mktemp(f"seed-{request.param}")
    cluster = UpCluster(base / "cluster")
    try:
        yield Kubectl(
            kubectl_binaries()[request.param], cluster.kubeconfig, base / "home", request.param
        )
    finally:
        cluster.stop()


def wait_until(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def pods(k: Kubectl, *args: str) -> list[list[str]]:
    out = k("get", "pods", "-o", "wide", "--no-headers", *args)
    return [line.split() for line in out.splitlines() if line.strip()]


def deleted(k: Kubectl, what: str) -> set[str]:
    """kubectl's delete line; 1.33+ names the namespace."""
    return {f"{what} deleted", f"{what} deleted from default namespace"}


def running(k: Kubectl, prefix: str) -> list[list[str]]:
    return [p for p in pods(k) if p[0].startswith(prefix) and p[2] == "Running" and p[1] == "1/1"]


def test_1_pods_and_deployments(seed: Kubectl, tmp_path: Path):
    k = seed
    nodes = [ln.split() for ln in k("get", "nodes").splitlines()[1:]]
    assert [(n[0], n[1], n[2]) for n in nodes] == [
        ("m-k8s", "Ready", "control-plane"),
        ("w1-k8s", "Ready", "<none>"),
        ("w2-k8s", "Ready", "<none>"),
        ("w3-k8s", "Ready", "<none>"),
    ]
    assert k("run", "nginx-pod", "--image=nginx").strip() == "pod/nginx-pod created"
    wait_until(lambda: running(k, "nginx-pod"), what="nginx-pod Running")
    row = running(k, "nginx-pod")[0]
    assert re.fullmatch(r"198\.18\.\d+\.\d+", row[5]) and row[6].startswith("w")
    assert (
        k("create", "deployment", "dpy-nginx", "--image=nginx").strip()
        == "deployment.apps/dpy-nginx created"
    )
    proc = k.run("scale", "pod", "nginx-pod", "--replicas=3", check=False)
    assert proc.returncode == 1
    assert (
        proc.stderr.strip()
        == "Error from server (NotFound): the server could not find the requested resource"
    )
    assert (
        k("scale", "deployment", "dpy-nginx", "--replicas=3").strip()
        == "deployment.apps/dpy-nginx scaled"
    )
    wait_until(lambda: len(running(k, "dpy-nginx-")) == 3, what="3 dpy-nginx pods")
    assert {p[6] for p in running(k, "dpy-nginx-")} == {"w1-k8s", "w2-k8s", "w3-k8s"}


def test_2_apply_and_self_healing(seed: Kubectl, tmp_path: Path):
    k = seed
    spec = tmp_path / "echo-hname.yaml"
    spec.write_text(ECHO_HNAME)
    assert k("create", "-f", str(spec)).strip() == "deployment.apps/echo-hname created"
    spec.write_text(ECHO_HNAME.replace("replicas: 3", "replicas: 6"))
    proc = k.run("create", "-f", str(spec), check=False)
    assert proc.stderr.strip() == (
        f'Error from server (AlreadyExists): error when creating "{spec}": '
        'deployments.apps "echo-hname" already exists'
    )
    proc = k.run("apply", "-f", str(spec))
    assert proc.stdout.strip() == "deployment.apps/echo-hname configured"
    assert "kubectl apply should only be used on resources created declaratively" in proc.stderr
    wait_until(lambda: len(running(k, "echo-hname-")) == 6, what="6 echo-hname pods")
    victim = running(k, "echo-hname-")[0][0]
    assert k("delete", "pods", victim).strip() in deleted(k, f'pod "{victim}"')
    wait_until(
        lambda: len(running(k, "echo-hname-")) == 6 and victim not in [p[0] for p in pods(k)],
        what="the deleted pod replaced",
    )
    assert k("delete", "pods", "nginx-pod").strip() in deleted(k, 'pod "nginx-pod"')
    assert "nginx-pod" not in [p[0] for p in pods(k)]
    doc = k("get", "pods", running(k, "echo-hname-")[0][0], "-o", "yaml")
    assert "kind: Pod" in doc and "ownerReferences:" in doc and "kind: ReplicaSet" in doc


def test_3_cordon_and_drain(seed: Kubectl):
    k = seed
    assert k("cordon", "w1-k8s").strip() == "node/w1-k8s cordoned"
    row = [ln.split() for ln in k("get", "nodes").splitlines() if ln.startswith("w1-k8s")][0]
    assert row[1] == "Ready,SchedulingDisabled"
    before = {p[0] for p in pods(k) if p[6] == "w1-k8s"}
    k("scale", "deployment", "echo-hname", "--replicas=10")
    wait_until(lambda: len(running(k, "echo-hname-")) == 10, what="10 echo-hname pods")
    assert {p[0] for p in pods(k) if p[6] == "w1-k8s"} <= before  # nothing new on w1

    out = k("drain", "w3-k8s", "--ignore-daemonsets")
    assert out.splitlines()[0] == "node/w3-k8s cordoned"
    assert out.splitlines()[-1] == "node/w3-k8s drained"
    assert re.search(r"pod/echo-hname-\S+ evicted", out)
    wait_until(lambda: len(running(k, "echo-hname-")) == 10, what="evicted pods recreated")
    assert not [p for p in pods(k) if p[6] == "w3-k8s"]
    k("uncordon", "w1-k8s")
    k("uncordon", "w3-k8s")
    k("delete", "deployment", "echo-hname")
    wait_until(
        lambda: not [p for p in pods(k) if p[0].startswith("echo-hname-")], what="echo-hname gone"
    )


def history(k: Kubectl) -> list[tuple[str, str]]:
    out = k("rollout", "history", "deployment", "rollout-nginx").splitlines()
    assert out[0].strip() == "deployment.apps/rollout-nginx"
    assert out[1].split() == ["REVISION", "CHANGE-CAUSE"]
    return [(ln.split(None, 1)[0], ln.split(None, 1)[1]) for ln in out[2:] if ln.strip()]


APPLY_CAUSE = "kubectl apply --filename=./rollout-nginx.yaml --record=true"
SET16 = "kubectl set image deployment rollout-nginx nginx=nginx:1.16.0 --record=true"
SET17 = "kubectl set image deployment rollout-nginx nginx=nginx:1.17.23 --record=true"


def test_4_rolling_update_and_rollback(seed: Kubectl, tmp_path: Path):
    k = seed
    (tmp_path / "rollout-nginx.yaml").write_text(ROLLOUT_NGINX)

    def kc(*args: str, **kw) -> str:  # run from the spec's folder, as the seed does
        return subprocess.run(
            [k.binary, *args],
            cwd=tmp_path,
            env=k.env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            **kw,
        ).stdout

    assert "deployment.apps/rollout-nginx created" in kc(
        "apply", "-f", "./rollout-nginx.yaml", "--record"
    )
    assert history(k) == [("1", APPLY_CAUSE)]
    assert (
        kc("set", "image", "deployment", "rollout-nginx", "nginx=nginx:1.16.0", "--record").strip()
        == "deployment.apps/rollout-nginx image updated"
    )
    status = k("rollout", "status", "deployment", "rollout-nginx", timeout=60)
    assert status.splitlines()[-1] == 'deployment "rollout-nginx" successfully rolled out'
    assert history(k) == [("1", APPLY_CAUSE), ("2", SET16)]

    kc("set", "image", "deployment", "rollout-nginx", "nginx=nginx:1.17.23", "--record")
    wait_until(
        lambda: any(
            p[2] in ("ImagePullBackOff", "ErrImagePull")
            for p in pods(k)
            if p[0].startswith("rollout-nginx-")
        ),
        what="ImagePullBackOff",
    )
    stuck = k.run("rollout", "status", "deployment", "rollout-nginx", "--timeout=3s", check=False)
    assert (
        'Waiting for deployment "rollout-nginx" rollout to finish: 1 out of 3 new replicas have been updated...'
        in stuck.stdout
    )
    assert len(running(k, "rollout-nginx-")) == 3
    describe = k("describe", "deployment", "rollout-nginx")
    assert re.search(r"Progressing\s+True\s+ReplicaSetUpdated", describe)
    assert re.search(r"Available\s+True\s+MinimumReplicasAvailable", describe)
    assert re.search(r"NewReplicaSet:\s+rollout-nginx-\S+ \(1/1 replicas created\)", describe)
    assert re.search(r"OldReplicaSets:.*rollout-nginx-\S+ \(3/3 replicas created\)", describe)
    assert history(k) == [("1", APPLY_CAUSE), ("2", SET16), ("3", SET17)]

    assert (
        k("rollout", "undo", "deployment", "rollout-nginx").strip()
        == "deployment.apps/rollout-nginx rolled back"
    )
    assert history(k) == [("1", APPLY_CAUSE), ("3", SET17), ("4", SET16)]
    status = k("rollout", "status", "deployment", "rollout-nginx", timeout=60)
    assert status.splitlines()[-1] == 'deployment "rollout-nginx" successfully rolled out'
    describe = k("describe", "deployment", "rollout-nginx")
    assert re.search(r"Progressing\s+True\s+NewReplicaSetAvailable", describe)
    assert re.search(r"NewReplicaSet:\s+rollout-nginx-\S+ \(3/3 replicas created\)", describe)

    out = k("rollout", "undo", "deployment", "rollout-nginx", "--to-revision=1")
    assert out.strip() == "deployment.apps/rollout-nginx rolled back"
    k("rollout", "status", "deployment", "rollout-nginx", timeout=60)
    assert history(k) == [("3", SET17), ("4", SET16), ("5", APPLY_CAUSE)]
    images = k(
        "get",
        "pods",
        "-l",
        "app=nginx-updated",
        "-o",
        "jsonpath={range .items[*]}{.spec.containers[0].image}{'\\n'}{end}",
    ).split()
    wait_until(
        lambda: (
            set(
                k(
                    "get",
                    "pods",
                    "-l",
                    "app=nginx-updated",
                    "-o",
                    "jsonpath={.items[*].spec.containers[0].image}",
                ).split()
            )
            == {"nginx:1.15.12"}
        ),
        what="pods back on nginx:1.15.12",
    )
    assert images
    events = k("describe", "deployment", "rollout-nginx")
    assert re.search(
        r"ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set rollout-nginx-\S+ to 3",
        events,
    )


def test_5_dead_node_pods_move(seed: Kubectl):
    k = seed
    k("create", "deployment", "moving", "--image=nginx", "--replicas=3")
    wait_until(lambda: len(running(k, "moving-")) == 3, what="3 moving pods")
    victim_node = running(k, "moving-")[0][6]
    k("annotate", "node", victim_node, "sim.pyk8s.io/frozen=true")
    wait_until(
        lambda: any(
            ln.split()[0] == victim_node and ln.split()[1] == "NotReady"
            for ln in k("get", "nodes").splitlines()[1:]
        ),
        timeout=30,
        what="node NotReady",
    )
    wait_until(
        lambda: len([p for p in running(k, "moving-") if p[6] != victim_node]) == 3,
        timeout=60,
        what="pods replaced on other nodes",
    )
    k("annotate", "node", victim_node, "sim.pyk8s.io/frozen-")
    wait_until(
        lambda: any(
            ln.split()[0] == victim_node and ln.split()[1] == "Ready"
            for ln in k("get", "nodes").splitlines()[1:]
        ),
        timeout=30,
        what="node Ready again",
    )
