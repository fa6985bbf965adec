"""Pod specs as CRI configs: namespaces, cgroups, resources, labels (upstream's kuberuntime)."""

from __future__ import annotations

import json

from pyk8s.kubelet.cni import bridge_name, conflist
from pyk8s.kubelet.runtime import crispec


def pod(**spec):
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": "u-1", "labels": {"app": "w"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec},
    }


def test_sandbox_labels_namespaces_and_cgroup_parent():
    cfg = crispec.sandbox_config(pod(), attempt=2, log_directory="/l", cgroup_root="/pyk8s-w1")
    assert cfg["metadata"] == {"name": "web", "uid": "u-1", "namespace": "default", "attempt": 2}
    assert cfg["labels"]["app"] == "w"
    assert cfg["labels"][crispec.POD_UID] == "u-1"
    ns = cfg["linux"]["security_context"]["namespace_options"]
    assert ns == {"network": crispec.NS_POD, "pid": crispec.NS_CONTAINER, "ipc": crispec.NS_POD}
    assert cfg["linux"]["cgroup_parent"] == "/pyk8s-w1/kubepods/besteffort/podu-1"
    assert cfg["hostname"] == "web"


def test_host_namespaces_and_shared_pid():
    cfg = crispec.sandbox_config(
        pod(hostNetwork=True, shareProcessNamespace=True, hostIPC=True),
        attempt=0, log_directory="/l", cgroup_root="/r",
    )
    ns = cfg["linux"]["security_context"]["namespace_options"]
    assert ns == {"network": crispec.NS_NODE, "pid": crispec.NS_POD, "ipc": crispec.NS_NODE}
    assert cfg["hostname"] == ""


def test_guaranteed_pods_sit_directly_under_kubepods():
    res = {"requests": {"cpu": "500m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "64Mi"}}
    p = pod()
    p["spec"]["containers"][0]["resources"] = res
    assert crispec.cgroup_parent("/r", p) == "/r/kubepods/podu-1"


def test_host_ports_become_port_mappings():
    p = pod()
    p["spec"]["containers"][0]["ports"] = [
        {"containerPort": 80, "hostPort": 8080, "protocol": "TCP"},
        {"containerPort": 53, "protocol": "UDP"},
    ]
    assert crispec.port_mappings(p) == [
        {"protocol": 0, "container_port": 80, "host_port": 8080, "host_ip": ""}
    ]


def test_cpu_and_memory_arithmetic_as_upstream():
    assert crispec.milli_cpu_to_shares(0) == 2
    assert crispec.milli_cpu_to_shares(1) == 2
    assert crispec.milli_cpu_to_shares(250) == 256
    assert crispec.milli_cpu_to_quota(0) == 0
    assert crispec.milli_cpu_to_quota(1) == 1000
    assert crispec.milli_cpu_to_quota(500) == 50_000
    p = pod()
    c = {"name": "c", "resources": {"limits": {"cpu": "1500m", "memory": "128Mi"}}}
    res = crispec.linux_resources(p, c, 8 << 30)
    assert res["cpu_quota"] == 150_000 and res["cpu_period"] == 100_000
    assert res["cpu_shares"] == 1536  # requests default to limits
    assert res["memory_limit_in_bytes"] == 128 << 20


def test_oom_score_adj_by_qos():
    cap = 1000 << 20
    best = pod()
    assert crispec.oom_score_adj(best, best["spec"]["containers"][0], cap) == 1000
    burst = pod()
    c = {"name": "c", "resources": {"requests": {"memory": "500Mi"}}}
    burst["spec"]["containers"][0] = c
    assert crispec.oom_score_adj(burst, c, cap) == 500
    c_small = {"name": "c", "resources": {"requests": {"memory": "1"}}}
    burst["spec"]["containers"][0] = c_small
    assert crispec.oom_score_adj(burst, c_small, cap) == 999
    c_big = {"name": "c", "resources": {"requests": {"memory": "2000Mi"}}}
    burst["spec"]["containers"][0] = c_big
    assert crispec.oom_score_adj(burst, c_big, cap) == 3


def test_container_config_fields():
    p = pod()
    c = {"name": "c", "image": "nginx", "workingDir": "/w", "tty": True, "stdin": True}
    cfg = crispec.container_config(
        p, c, attempt=3, image="docker.io/library/nginx:latest", command=["a"], args=["b"],
        envs=[("K", "V")], mounts=[], memory_capacity=1 << 30,
    )
    assert cfg["metadata"] == {"name": "c", "attempt": 3}
    assert cfg["log_path"] == "c/3.log"
    assert cfg["envs"] == [{"key": "K", "value": "V"}]
    assert cfg["labels"][crispec.CONTAINER_NAME] == "c"
    assert cfg["annotations"][crispec.RESTART_COUNT] == "3"
    assert cfg["tty"] and cfg["stdin"] and not cfg["stdin_once"]
    assert cfg["working_dir"] == "/w"


def test_rfc3339_from_nanos():
    assert crispec.rfc3339_from_nanos(0) == ""
    assert crispec.rfc3339_from_nanos(1_700_000_000_123_000_000) == "2023-11-14T22:13:20Z"


def test_cni_conflist_per_node(tmp_path):
    a, b = bridge_name(tmp_path / "a"), bridge_name(tmp_path / "b")
    assert a != b and len(a) <= 15
    conf = conflist("pyk8s-w1", a, "198.18.3.0/24", tmp_path / "ipam")
    bridge = conf["plugins"][0]
    assert bridge["type"] == "bridge" and bridge["bridge"] == a and bridge["isGateway"]
    assert bridge["ipam"]["ranges"] == [[{"subnet": "198.18.3.0/24"}]]
    assert bridge["ipam"]["dataDir"] == str(tmp_path / "ipam")
    assert conf["plugins"][1]["type"] == "portmap"
    json.dumps(conf)
