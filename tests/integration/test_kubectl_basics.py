"""The real kubectl (1.32 through the dispatcher, 1.37 from PyPI) against a real server."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.kubectl

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo-hname
  labels:
    app: echo-hname
spec:
  replicas: 3
  selector:
    matchLabels:
      app: echo-hname
  template:
    metadata:
      labels:
        app: echo-hname
    spec:
      containers:
      - name: echo-hname
        image: sysnet4admin/echo-hname
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_version_reports_server(kubectl):
    out = kubectl("version")
    assert "Server Version: v1.32" in out


def test_api_versions_lists_groups(kubectl):
    lines = kubectl("api-versions").split()
    for gv in (
        "v1",
        "apps/v1",
        "batch/v1",
        "coordination.k8s.io/v1",
        "policy/v1",
        "events.k8s.io/v1",
        "discovery.k8s.io/v1",
    ):
        assert gv in lines


def test_api_resources_table(kubectl):
    out = kubectl("api-resources")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert rows["nodes"] == ["nodes", "no", "v1", "false", "Node"]
    assert rows["pods"] == ["pods", "po", "v1", "true", "Pod"]
    assert rows["leases"] == ["leases", "coordination.k8s.io/v1", "true", "Lease"]


def test_explain_field(kubectl):
    out = kubectl("explain", "deployment.spec.replicas")
    assert "KIND:" in out and "Deployment" in out
    assert "FIELD: replicas <integer>" in out or "FIELD:    replicas <integer>" in out
    assert "Number of desired pods" in out


def test_create_then_already_exists(kubectl, ns, tmp_path):
    f = write(tmp_path, "echo-hname.yaml", DEPLOYMENT)
    assert kubectl("create", "-n", ns, "-f", f).strip() == "deployment.apps/echo-hname created"
    proc = kubectl.run("create", "-n", ns, "-f", f, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f'Error from server (AlreadyExists): error when creating "{f}": '
        'deployments.apps "echo-hname" already exists'
    )


def test_apply_create_configure_and_warning(kubectl, ns, tmp_path):
    f = write(tmp_path, "echo-hname.yaml", DEPLOYMENT.replace("echo-hname", "applied"))
    assert kubectl("apply", "-n", ns, "-f", f).strip() == "deployment.apps/applied created"
    f6 = write(tmp_path, "six.yaml", Path(f).read_text().replace("replicas: 3", "replicas: 6"))
    assert kubectl("apply", "-n", ns, "-f", f6).strip() == "deployment.apps/applied configured"
    assert kubectl("get", "deploy", "applied", "-n", ns, "-o", "jsonpath={.spec.replicas}") == "6"
    # Created with `create`, then applied: kubectl warns and patches the annotation in.
    g = write(tmp_path, "created.yaml", DEPLOYMENT)
    kubectl("create", "-n", ns, "-f", g)
    g6 = write(tmp_path, "created6.yaml", DEPLOYMENT.replace("replicas: 3", "replicas: 6"))
    proc = kubectl.run("apply", "-n", ns, "-f", g6)
    assert proc.stdout.strip() == "deployment.apps/echo-hname configured"
    assert "kubectl apply should only be used on resources created declaratively" in proc.stderr
    assert (
        kubectl("get", "deploy", "echo-hname", "-n", ns, "-o", "jsonpath={.spec.replicas}") == "6"
    )


def test_run_pod_and_create_deployment(kubectl, ns):
    assert kubectl("run", "nginx-pod", "--image=nginx", "-n", ns).strip() == "pod/nginx-pod created"
    out = kubectl("create", "deployment", "echo-hname", "--image=sysnet4admin/echo-hname", "-n", ns)
    assert out.strip() == "deployment.apps/echo-hname created"
    dep = json.loads(kubectl("get", "deployment", "echo-hname", "-n", ns, "-o", "json"))
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "sysnet4admin/echo-hname"
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert dep["metadata"]["generation"] == 1
    # The protobuf body's Go zero values are omitted, as upstream's JSON encoding does.
    assert "minReadySeconds" not in dep["spec"] and "paused" not in dep["spec"]
    assert dep["spec"]["template"]["metadata"] == {
        "creationTimestamp": None,
        "labels": {"app": "echo-hname"},
    }
    assert dep["spec"]["template"]["spec"]["containers"][0] == {
        "image": "sysnet4admin/echo-hname",
        "imagePullPolicy": "Always",
        "name": "echo-hname",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    assert dep["status"] == {}
    pod = json.loads(kubectl("get", "pod", "nginx-pod", "-n", ns, "-o", "json"))
    assert pod["spec"]["containers"][0]["name"] == "nginx-pod"
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["status"]["phase"] == "Pending"


def test_get_table_wide_and_selectors(kubectl, ns):
    kubectl("run", "web", "--image=nginx", "--labels=app=web,tier=front", "-n", ns)
    kubectl("run", "db", "--image=postgres", "--labels=app=db", "-n", ns)
    out = kubectl("get", "pods", "-n", ns)
    header = out.splitlines()[0].split()
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    wide = kubectl("get", "pods", "-n", ns, "-o", "wide").splitlines()[0]
    assert "NOMINATED NODE" in wide and "READINESS GATES" in wide
    names = [
        ln.split()[0] for ln in kubectl("get", "pods", "-n", ns, "-l", "app=web").splitlines()[1:]
    ]
    assert names == ["web"]
    names = [
        ln.split()[0]
        for ln in kubectl(
            "get", "pods", "-n", ns, "-l", "app in (web,db),tier!=front"
        ).splitlines()[1:]
    ]
    assert names == ["db"]
    names = [
        ln.split()[0]
        for ln in kubectl(
            "get", "pods", "-n", ns, "--field-selector", "metadata.name=db"
        ).splitlines()[1:]
    ]
    assert names == ["db"]
    doc = yaml.safe_load(kubectl("get", "pod", "web", "-n", ns, "-o", "yaml"))
    assert doc["kind"] == "Pod" and doc["metadata"]["labels"] == {"app": "web", "tier": "front"}


def test_get_watch_prints_changes(kubectl, ns):
    kubectl("create", "configmap", "watched", "--from-literal=a=1", "-n", ns)
    proc = subprocess.Popen(
        [
            kubectl.binary,
            "get",
            "configmaps",
            "-n",
            ns,
            "-w",
            "--output-watch-events",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl.env(),
    )
    try:
        time.sleep(1.5)
        kubectl("create", "configmap", "second", "--from-literal=b=2", "-n", ns)
        kubectl("delete", "configmap", "watched", "-n", ns)
        time.sleep(1.5)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    lines = [ln.split() for ln in out.splitlines()]
    events = [(ln[0], ln[1]) for ln in lines[1:]]
    assert ("ADDED", "watched") in events
    assert ("ADDED", "second") in events
    assert ("DELETED", "watched") in events
    assert len([e for e in events if e == ("ADDED", "watched")]) == 1


def test_scale_deployment_and_pod(kubectl, ns):
    kubectl("create", "deployment", "scaled", "--image=nginx", "-n", ns)
    assert (
        kubectl("scale", "deployment", "scaled", "--replicas=3", "-n", ns).strip()
        == "deployment.apps/scaled scaled"
    )
    assert kubectl("get", "deploy", "scaled", "-n", ns, "-o", "jsonpath={.spec.replicas}") == "3"
    kubectl("run", "nginx-pod", "--image=nginx", "-n", ns)
    proc = kubectl.run("scale", "pod", "nginx-pod", "--replicas=3", "-n", ns, check=False)
    assert proc.returncode == 1
    assert (
        proc.stderr.strip()
        == "Error from server (NotFound): the server could not find the requested resource"
    )


def test_set_image_record(kubectl, ns):
    kubectl("create", "deployment", "rollout-nginx", "--image=nginx:1.15.12", "-n", ns)
    out = kubectl(
        "set", "image", "deployment", "rollout-nginx", "nginx=nginx:1.16.0", "--record", "-n", ns
    )
    assert out.strip() == "deployment.apps/rollout-nginx image updated"
    dep = json.loads(kubectl("get", "deploy", "rollout-nginx", "-n", ns, "-o", "json"))
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.16.0"
    cause = dep["metadata"]["annotations"]["kubernetes.io/change-cause"]
    assert "set image deployment rollout-nginx nginx=nginx:1.16.0" in cause
    assert dep["metadata"]["generation"] == 2


def test_label_annotate_patch_edit_delete(kubectl, ns, tmp_path):
    kubectl("create", "configmap", "cfg", "--from-literal=k=v", "-n", ns)
    assert (
        kubectl("label", "configmap", "cfg", "team=a", "-n", ns).strip() == "configmap/cfg labeled"
    )
    assert (
        kubectl("annotate", "configmap", "cfg", "note=hi", "-n", ns).strip()
        == "configmap/cfg annotated"
    )
    kubectl("label", "configmap", "cfg", "team-", "-n", ns)
    kubectl("patch", "configmap", "cfg", "-n", ns, "-p", '{"data":{"k2":"v2"}}')
    kubectl("patch", "configmap", "cfg", "-n", ns, "--type=merge", "-p", '{"data":{"k3":"v3"}}')
    kubectl(
        "patch",
        "configmap",
        "cfg",
        "-n",
        ns,
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/data/k"}]',
    )
    cm = json.loads(kubectl("get", "configmap", "cfg", "-n", ns, "-o", "json"))
    assert cm["data"] == {"k2": "v2", "k3": "v3"}
    assert "team" not in (cm["metadata"].get("labels") or {})
    assert cm["metadata"]["annotations"]["note"] == "hi"
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/k2: v2/k2: edited/' \"$1\"\n")
    editor.chmod(0o755)
    out = kubectl(
        "edit",
        "configmap",
        "cfg",
        "-n",
        ns,
        env={"EDITOR": str(editor), "KUBE_EDITOR": str(editor)},
    )
    assert out.strip() == "configmap/cfg edited"
    assert kubectl("get", "configmap", "cfg", "-n", ns, "-o", "jsonpath={.data.k2}") == "edited"
    # kubectl 1.33+ names the namespace in its own message.
    assert kubectl("delete", "configmap", "cfg", "-n", ns).strip() in (
        'configmap "cfg" deleted',
        f'configmap "cfg" deleted from {ns} namespace',
    )
    proc = kubectl.run("get", "configmap", "cfg", "-n", ns, check=False)
    assert proc.stderr.strip() == 'Error from server (NotFound): configmaps "cfg" not found'


NODE = """\
apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels:
    kubernetes.io/hostname: {name}
"""


def test_cordon_uncordon_node(kubectl, tmp_path):
    name = f"node-{kubectl.label.replace('.', '')}"
    kubectl("apply", "-f", write(tmp_path, "node.yaml", NODE.format(name=name)))
    assert kubectl("cordon", name).strip() == f"node/{name} cordoned"
    assert kubectl("cordon", name).strip() == f"node/{name} already cordoned"
    row = [ln for ln in kubectl("get", "nodes").splitlines() if ln.startswith(name)][0].split()
    assert "SchedulingDisabled" in row[1]
    assert kubectl("uncordon", name).strip() == f"node/{name} uncordoned"
    node = json.loads(kubectl("get", "node", name, "-o", "json"))
    assert not node["spec"].get("unschedulable")


def test_describe_shows_events(kubectl, ns, api_server):
    kubectl("create", "deployment", "described", "--image=nginx", "-n", ns)
    dep = json.loads(kubectl("get", "deploy", "described", "-n", ns, "-o", "json"))
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "described.1", "namespace": ns},
        "involvedObject": {
            "kind": "Deployment",
            "name": "described",
            "namespace": ns,
            "uid": dep["metadata"]["uid"],
            "apiVersion": "apps/v1",
        },
        "reason": "ScalingReplicaSet",
        "message": "Scaled up replica set described-abc to 1",
        "type": "Normal",
        "source": {"component": "deployment-controller"},
        "count": 1,
        "firstTimestamp": dep["metadata"]["creationTimestamp"],
        "lastTimestamp": dep["metadata"]["creationTimestamp"],
    }
    kubectl("create", "-f", "-", input=json.dumps(event))
    out = kubectl("describe", "deployment", "described", "-n", ns)
    assert "Name:                   described" in out
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in out
    assert "ScalingReplicaSet" in out and "deployment-controller" in out
    assert "Scaled up replica set described-abc to 1" in out
    kubectl("run", "dpod", "--image=nginx", "-n", ns)
    out = kubectl("describe", "pod", "dpod", "-n", ns)
    assert "Name:             dpod" in out or "Name:         dpod" in out
    assert "Status:           Pending" in out or "Status:       Pending" in out
