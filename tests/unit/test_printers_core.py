"""Table cells of core/v1 kinds (other than Pod) and of Events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pyk8s.api.printers import column_definitions, row_cells

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def ago(seconds: float) -> str:
    return datetime.fromtimestamp(NOW - seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def md(name: str, age_s: float = 3600, **extra) -> dict:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(age_s), **extra}


def cells(kind: str, obj: dict, group: str = "") -> list:
    return row_cells(group, kind, obj, NOW)


def names(group: str, kind: str, priority: int | None = None) -> list[str]:
    cols = column_definitions(group, kind)
    return [c["name"] for c in cols if priority is None or c["priority"] == priority]


# --- Node ---------------------------------------------------------------------


def make_node(ready: str | None = "True", labels=None, unschedulable=False) -> dict:
    node = {
        "metadata": {"name": "m-k8s", "creationTimestamp": ago(4), "labels": labels or {}},
        "spec": {"unschedulable": True} if unschedulable else {},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}],
            "addresses": [
                {"type": "Hostname", "address": "m-k8s"},
                {"type": "InternalIP", "address": "198.18.1.10"},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.4",
                "osImage": "Ubuntu 22.04.4 LTS",
                "kernelVersion": "5.15.0-105-generic",
                "containerRuntimeVersion": "containerd://1.7.12",
            },
        },
    }
    if ready is not None:
        node["status"]["conditions"].append({"type": "Ready", "status": ready})
    return node


def test_node_cells_match_kubectl_get_nodes_wide() -> None:
    node = make_node(labels={"node-role.kubernetes.io/control-plane": ""})
    assert cells("Node", node) == [
        "m-k8s",
        "Ready",
        "control-plane",
        "4s",
        "v1.32.4",
        "198.18.1.10",
        "<none>",
        "Ubuntu 22.04.4 LTS",
        "5.15.0-105-generic",
        "containerd://1.7.12",
    ]


@pytest.mark.parametrize(
    ("ready", "unschedulable", "expected"),
    [
        ("True", False, "Ready"),
        ("False", False, "NotReady"),
        ("Unknown", False, "NotReady"),  # any non-True Ready condition reads NotReady
        (None, False, "Unknown"),  # no Ready condition at all
        ("True", True, "Ready,SchedulingDisabled"),
        ("False", True, "NotReady,SchedulingDisabled"),
    ],
)
def test_node_status(ready, unschedulable, expected) -> None:
    assert cells("Node", make_node(ready, unschedulable=unschedulable))[1] == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({}, "<none>"),
        ({"node-role.kubernetes.io/worker": ""}, "worker"),
        (
            {"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/control-plane": ""},
            "control-plane,master",
        ),
        ({"kubernetes.io/role": "ingress"}, "ingress"),
        ({"kubernetes.io/role": ""}, "<none>"),
        ({"node-role.kubernetes.io/": "x"}, "<none>"),
        ({"kubernetes.io/role": "infra", "node-role.kubernetes.io/infra": ""}, "infra"),
    ],
)
def test_node_roles(labels, expected) -> None:
    assert cells("Node", make_node(labels=labels))[2] == expected


def test_node_wide_unknowns() -> None:
    node = {"metadata": {"name": "n"}, "status": {}}
    assert cells("Node", node) == [
        "n",
        "Unknown",
        "<none>",
        "<unknown>",
        "",
        "<none>",
        "<none>",
        "<unknown>",
        "<unknown>",
        "<unknown>",
    ]


def test_node_columns() -> None:
    assert names("", "Node", 0) == ["Name", "Status", "Roles", "Age", "Version"]
    assert names("", "Node", 1) == [
        "Internal-IP",
        "External-IP",
        "OS-Image",
        "Kernel-Version",
        "Container-Runtime",
    ]


# --- Service and Endpoints ----------------------------------------------------


def svc(spec: dict, status: dict | None = None) -> dict:
    return {"metadata": md("web", 120), "spec": spec, "status": status or {}}


def test_service_cluster_ip() -> None:
    s = svc(
        {
            "type": "ClusterIP",
            "clusterIP": "198.19.0.10",
            "clusterIPs": ["198.19.0.10"],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
            "selector": {"k8s-app": "kube-dns"},
        }
    )
    assert cells("Service", s) == [
        "web",
        "ClusterIP",
        "198.19.0.10",
        "<none>",
        "53/UDP,53/TCP",
        "2m",
        "k8s-app=kube-dns",
    ]


def test_service_node_port_and_no_selector() -> None:
    s = svc(
        {
            "type": "NodePort",
            "clusterIP": "198.19.12.3",
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
        }
    )
    assert cells("Service", s)[1:] == [
        "NodePort",
        "198.19.12.3",
        "<none>",
        "80:30080/TCP",
        "2m",
        "<none>",
    ]


def test_service_load_balancer() -> None:
    spec = {"type": "LoadBalancer", "clusterIPs": ["198.19.1.1"], "ports": [{"port": 443}]}
    assert cells("Service", svc(spec))[3:5] == ["<pending>", "443/TCP"]
    ingress = {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example"}]}}
    assert cells("Service", svc(spec, ingress))[3] == "203.0.113.9,lb.example"
    with_ext = dict(spec, externalIPs=["198.51.100.4"])
    assert cells("Service", svc(with_ext, ingress))[3] == "203.0.113.9,lb.example,198.51.100.4"


def test_service_external_name_and_headless() -> None:
    ext = svc({"type": "ExternalName", "externalName": "db.example.com"})
    assert cells("Service", ext)[1:5] == ["ExternalName", "<none>", "db.example.com", "<none>"]
    headless = svc({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]})
    assert cells("Service", headless)[2:4] == ["None", "<none>"]
    with_ext = svc({"type": "ClusterIP", "clusterIPs": ["198.18.0.1"], "externalIPs": ["1.2.3.4"]})
    assert cells("Service", with_ext)[3] == "1.2.3.4"


def test_endpoints() -> None:
    ep = {
        "metadata": md("kube-dns", 86400 * 4 + 3600 * 21),
        "subsets": [
            {
                "addresses": [{"ip": "198.18.1.20"}, {"ip": "198.18.1.21"}],
                "ports": [{"name": "dns", "port": 53}, {"name": "metrics", "port": 9153}],
            }
        ],
    }
    assert cells("Endpoints", ep) == [
        "kube-dns",
        "198.18.1.20:53,198.18.1.21:53,198.18.1.20:9153 + 1 more...",
        "4d21h",
    ]


def test_endpoints_small_empty_headless_ipv6() -> None:
    two = {
        "metadata": md("a"),
        "subsets": [{"addresses": [{"ip": "198.18.0.1"}], "ports": [{"port": 80}]}],
    }
    assert cells("Endpoints", two)[1] == "198.18.0.1:80"
    assert cells("Endpoints", {"metadata": md("b")})[1] == "<none>"
    headless = {"metadata": md("c"), "subsets": [{"addresses": [{"ip": "198.18.0.2"}]}]}
    assert cells("Endpoints", headless)[1] == "198.18.0.2"
    v6 = {
        "metadata": md("d"),
        "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}],
    }
    assert cells("Endpoints", v6)[1] == "[fd00::1]:80"
    no_ready = {"metadata": md("e"), "subsets": [{"notReadyAddresses": [{"ip": "198.18.0.3"}]}]}
    assert cells("Endpoints", no_ready)[1] == ""


# --- simple kinds -------------------------------------------------------------


def test_namespace_configmap_secret_serviceaccount() -> None:
    ns = {
        "metadata": {"name": "kube-system", "creationTimestamp": ago(7200)},
        "status": {"phase": "Active"},
    }
    assert cells("Namespace", ns) == ["kube-system", "Active", "120m"]
    cm = {"metadata": md("cfg", 30), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells("ConfigMap", cm) == ["cfg", 3, "30s"]
    assert cells("ConfigMap", {"metadata": md("empty", 30)})[1] == 0
    sec = {
        "metadata": md("tls", 30),
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "", "tls.key": ""},
    }
    assert cells("Secret", sec) == ["tls", "kubernetes.io/tls", 2, "30s"]
    sa = {"metadata": md("default", 30), "secrets": [{"name": "default-token"}]}
    assert cells("ServiceAccount", sa) == ["default", 1, "30s"]
    assert cells("ServiceAccount", {"metadata": md("bare", 30)})[1] == 0
    assert names("", "Secret") == ["Name", "Type", "Data", "Age"]


# --- volumes ------------------------------------------------------------------


def test_persistent_volume() -> None:
    pv = {
        "metadata": {"name": "pv-nfs", "creationTimestamp": ago(600)},
        "spec": {
            "capacity": {"storage": "100Mi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": "default", "name": "pvc-nfs"},
            "storageClassName": "manual",
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Bound"},
    }
    assert cells("PersistentVolume", pv) == [
        "pv-nfs",
        "100Mi",
        "RWO,RWX",
        "Retain",
        "Bound",
        "default/pvc-nfs",
        "manual",
        "<unset>",
        "",
        "10m",
        "Filesystem",
    ]
    pv["metadata"]["deletionTimestamp"] = ago(1)
    pv["metadata"]["annotations"] = {"volume.beta.kubernetes.io/storage-class": "legacy"}
    assert cells("PersistentVolume", pv)[4:7] == ["Terminating", "default/pvc-nfs", "legacy"]
    assert names("", "PersistentVolume", 1) == ["VolumeMode"]


def test_persistent_volume_claim() -> None:
    pending = {
        "metadata": md("data", 60),
        "spec": {"resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "standard"},
        "status": {"phase": "Pending"},
    }
    assert cells("PersistentVolumeClaim", pending) == [
        "data",
        "Pending",
        "",
        "",
        "",
        "standard",
        "<unset>",
        "60s",
        "<unset>",
    ]
    bound = {
        "metadata": md("data", 60),
        "spec": {"volumeName": "pv-1", "volumeMode": "Filesystem"},
        "status": {
            "phase": "Bound",
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
        },
    }
    assert cells("PersistentVolumeClaim", bound)[1:6] == ["Bound", "pv-1", "1Gi", "RWO", ""]


# --- controllers and the rest -----------------------------------------------------


def test_replication_controller() -> None:
    rc = {
        "metadata": md("nginx", 90),
        "spec": {
            "replicas": 3,
            "selector": {"app": "nginx", "tier": "web"},
            "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}},
        },
        "status": {"replicas": 3, "readyReplicas": 2},
    }
    assert cells("ReplicationController", rc) == [
        "nginx",
        3,
        3,
        2,
        "90s",
        "nginx",
        "nginx:1.25",
        "app=nginx,tier=web",
    ]


def test_pod_template() -> None:
    pt = {
        "metadata": md("tmpl"),
        "template": {
            "metadata": {"labels": {"run": "x"}},
            "spec": {
                "containers": [
                    {"name": "a", "image": "busybox"},
                    {"name": "b", "image": "nginx"},
                ]
            },
        },
    }
    assert cells("PodTemplate", pt) == ["tmpl", "a,b", "busybox,nginx", "run=x"]
    assert names("", "PodTemplate") == ["Name", "Containers", "Images", "Pod Labels"]


def test_resource_quota() -> None:
    rq = {
        "metadata": md("quota", 60),
        "status": {
            "hard": {"requests.cpu": "1", "pods": "10", "limits.memory": "2Gi", "limits.cpu": "2"},
            "used": {"requests.cpu": "500m", "pods": "3", "limits.cpu": "1"},
        },
    }
    assert cells("ResourceQuota", rq) == [
        "quota",
        "pods: 3/10, requests.cpu: 500m/1",
        "limits.cpu: 1/2, limits.memory: 0/2Gi",
        "60s",
    ]


def test_limit_range_uses_default_table() -> None:
    lr = {"metadata": {"name": "limits", "creationTimestamp": "2024-04-30T09:08:07Z"}}
    assert cells("LimitRange", lr) == ["limits", "2024-04-30T09:08:07Z"]
    cols = column_definitions("", "LimitRange")
    assert [(c["name"], c["type"], c["format"]) for c in cols] == [
        ("Name", "string", "name"),
        ("Created At", "date", ""),
    ]


# --- events -------------------------------------------------------------------------


def core_event(**over) -> dict:
    ev = {
        "metadata": md("nginx.17c8f3a2b1", 120),
        "involvedObject": {"kind": "Pod", "name": "nginx", "fieldPath": "spec.containers{nginx}"},
        "reason": "Pulled",
        "message": 'Successfully pulled image "nginx"\n',
        "source": {"component": "kubelet", "host": "w1-k8s"},
        "firstTimestamp": ago(600),
        "lastTimestamp": ago(65),
        "count": 4,
        "type": "Normal",
    }
    ev.update(over)
    return ev


def test_core_event_cells() -> None:
    assert cells("Event", core_event()) == [
        "65s",
        "Normal",
        "Pulled",
        "pod/nginx",
        "spec.containers{nginx}",
        "kubelet, w1-k8s",
        'Successfully pulled image "nginx"',
        "10m",
        4,
        "nginx.17c8f3a2b1",
    ]


def test_core_event_new_style_fields() -> None:
    ev = core_event(
        firstTimestamp=None,
        lastTimestamp=None,
        count=None,
        source={},
        eventTime="2024-05-01T11:59:30.123456Z",
        reportingComponent="default-scheduler",
        reportingInstance="",
        involvedObject={"kind": "Node"},
    )
    c = cells("Event", ev)
    assert c[0] == c[7] == "29s"
    assert c[3] == "node"
    assert c[5] == "default-scheduler"
    assert c[8] == 1  # singleton events have no count


def test_core_event_series() -> None:
    ev = core_event(series={"count": 7, "lastObservedTime": "2024-05-01T11:59:50.000000Z"})
    c = cells("Event", ev)
    assert (c[0], c[8]) == ("10s", 7)


def test_events_k8s_io_event_prints_like_core() -> None:
    ev = {
        "metadata": md("web.1", 30),
        "regarding": {"kind": "Deployment", "name": "web"},
        "reason": "ScalingReplicaSet",
        "note": "Scaled up replica set web-5d4f to 3",
        "type": "Normal",
        "eventTime": ago(30).replace("Z", ".000000Z"),
        "reportingController": "deployment-controller",
        "reportingInstance": "deployment-controller-m-k8s",
        "deprecatedCount": 2,
    }
    assert cells("Event", ev, "events.k8s.io") == [
        "30s",
        "Normal",
        "ScalingReplicaSet",
        "deployment/web",
        "",
        "deployment-controller, deployment-controller-m-k8s",
        "Scaled up replica set web-5d4f to 3",
        "30s",
        2,
        "web.1",
    ]


def test_event_columns() -> None:
    assert names("", "Event", 0) == ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert names("", "Event", 1) == ["Subobject", "Source", "First Seen", "Count", "Name"]
    assert column_definitions("events.k8s.io", "Event") == column_definitions("", "Event")
