"""Defaults: the exact spec upstream returns for common bodies, and idempotence."""

from __future__ import annotations

import copy

import pytest

from pyk8s.api.kinds import STRATEGIES
from pyk8s.api.kinds.podspec import default_pod_spec, image_pull_policy_for


def kubectl_create_deployment() -> dict:
    """The body `kubectl create deployment echo-hname --image=sysnet4admin/echo-hname` sends."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "echo-hname", "namespace": "default", "labels": {"app": "echo-hname"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "echo-hname"}},
            "strategy": {},
            "template": {
                "metadata": {"labels": {"app": "echo-hname"}},
                "spec": {
                    "containers": [
                        {"name": "echo-hname", "image": "sysnet4admin/echo-hname", "resources": {}}
                    ]
                },
            },
        },
        "status": {},
    }


def test_kubectl_create_deployment_gets_upstream_spec() -> None:
    strategy = STRATEGIES[("apps", "Deployment")]
    obj = kubectl_create_deployment()
    strategy.default(obj)
    strategy.prepare_for_create(obj)
    assert obj["spec"] == {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "echo-hname"}},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        },
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
        "template": {
            "metadata": {"creationTimestamp": None, "labels": {"app": "echo-hname"}},
            "spec": {
                "containers": [
                    {
                        "name": "echo-hname",
                        "image": "sysnet4admin/echo-hname",
                        "imagePullPolicy": "Always",
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                    }
                ],
                "dnsPolicy": "ClusterFirst",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
            },
        },
    }
    assert obj["status"] == {}
    assert strategy.validate(obj) == []


def test_recreate_strategy_gets_no_rolling_update() -> None:
    obj = kubectl_create_deployment()
    obj["spec"]["strategy"] = {"type": "Recreate"}
    STRATEGIES[("apps", "Deployment")].default(obj)
    assert obj["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/nginx", "Always"),
        ("localhost:5000/nginx:1.0", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy_for(image) == policy


def test_container_level_defaults() -> None:
    spec = {
        "containers": [
            {
                "name": "c",
                "image": "busybox:1.36",
                "ports": [{"containerPort": 80}],
                "env": [
                    {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
                ],
                "livenessProbe": {"httpGet": {"port": 80}},
                "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 5},
                "lifecycle": {"preStop": {"httpGet": {"port": 80, "path": "/stop"}}},
            }
        ],
        "volumes": [
            {"name": "a"},
            {"name": "b", "configMap": {"name": "cm"}},
            {"name": "c", "secret": {"secretName": "s"}},
            {"name": "d", "hostPath": {"path": "/tmp"}},
        ],
    }
    default_pod_spec(spec)
    ctr = spec["containers"][0]
    assert ctr["imagePullPolicy"] == "IfNotPresent"
    assert ctr["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert ctr["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert ctr["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert ctr["readinessProbe"]["periodSeconds"] == 5
    assert ctr["lifecycle"]["preStop"]["httpGet"] == {"port": 80, "path": "/stop", "scheme": "HTTP"}
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["a"] == {"name": "a", "emptyDir": {}}
    assert vols["b"]["configMap"]["defaultMode"] == 420
    assert vols["c"]["secret"]["defaultMode"] == 420
    assert vols["d"]["hostPath"] == {"path": "/tmp", "type": ""}


def test_host_network_copies_container_port_to_host_port() -> None:
    spec = {
        "hostNetwork": True,
        "containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 53}]}],
    }
    default_pod_spec(spec)
    assert spec["containers"][0]["ports"][0]["hostPort"] == 53


def _samples() -> dict[tuple[str, str], dict]:
    template = {
        "metadata": {"labels": {"app": "a"}},
        "spec": {
            "containers": [
                {"name": "c", "image": "nginx", "livenessProbe": {"httpGet": {"port": 80}}}
            ]
        },
    }
    sel = {"matchLabels": {"app": "a"}}
    return {
        ("apps", "Deployment"): {"spec": {"selector": sel, "template": template}},
        ("apps", "ReplicaSet"): {"spec": {"selector": sel, "template": template}},
        ("apps", "DaemonSet"): {"spec": {"selector": sel, "template": template}},
        ("apps", "StatefulSet"): {
            "spec": {
                "selector": sel,
                "template": template,
                "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {}}],
            }
        },
        ("batch", "Job"): {"spec": {"template": template}},
        ("batch", "CronJob"): {
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
        },
        ("", "Pod"): {"spec": copy.deepcopy(template["spec"])},
        ("", "ReplicationController"): {"spec": {"template": template}},
        ("", "Service"): {"spec": {"ports": [{"port": 80}], "sessionAffinity": "ClientIP"}},
        ("", "Namespace"): {},
        ("", "Secret"): {"stringData": {"k": "v"}},
        ("", "PersistentVolumeClaim"): {"spec": {}},
        ("", "PersistentVolume"): {"spec": {}},
        ("", "Node"): {"status": {"capacity": {"cpu": "2"}}},
    }


@pytest.mark.parametrize("key", list(_samples()))
def test_defaulting_is_idempotent(key: tuple[str, str]) -> None:
    obj = copy.deepcopy(_samples()[key])
    obj["metadata"] = {"name": "x", "namespace": "default", "uid": "u-1"}
    strategy = STRATEGIES[key]
    strategy.default(obj)
    once = copy.deepcopy(obj)
    strategy.default(obj)
    assert obj == once


def test_statefulset_defaults() -> None:
    obj = copy.deepcopy(_samples()[("apps", "StatefulSet")])
    STRATEGIES[("apps", "StatefulSet")].default(obj)
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    claim = spec["volumeClaimTemplates"][0]
    assert claim["apiVersion"] == "v1" and claim["kind"] == "PersistentVolumeClaim"
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["status"] == {"phase": "Pending"}


def test_daemonset_defaults() -> None:
    obj = copy.deepcopy(_samples()[("apps", "DaemonSet")])
    STRATEGIES[("apps", "DaemonSet")].default(obj)
    assert obj["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert obj["spec"]["revisionHistoryLimit"] == 10


def test_replicaset_and_rc_defaults() -> None:
    rs = copy.deepcopy(_samples()[("apps", "ReplicaSet")])
    STRATEGIES[("apps", "ReplicaSet")].default(rs)
    assert rs["spec"]["replicas"] == 1
    rc = copy.deepcopy(_samples()[("", "ReplicationController")])
    rc["metadata"] = {"name": "rc"}
    STRATEGIES[("", "ReplicationController")].default(rc)
    assert rc["spec"]["selector"] == {"app": "a"}
    assert rc["metadata"]["labels"] == {"app": "a"}


def test_service_defaults() -> None:
    obj = {"spec": {"ports": [{"port": 80}], "selector": {"app": "a"}}}
    STRATEGIES[("", "Service")].default(obj)
    assert obj["spec"] == {
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "selector": {"app": "a"},
        "type": "ClusterIP",
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
    }


def test_nodeport_and_loadbalancer_service_defaults() -> None:
    obj = {"spec": {"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": "http"}]}}
    STRATEGIES[("", "Service")].default(obj)
    assert obj["spec"]["externalTrafficPolicy"] == "Cluster"
    assert obj["spec"]["allocateLoadBalancerNodePorts"] is True
    assert obj["spec"]["ports"][0]["targetPort"] == "http"
    ext = {"spec": {"type": "ExternalName", "externalName": "example.com"}}
    STRATEGIES[("", "Service")].default(ext)
    assert "ipFamilies" not in ext["spec"] and "internalTrafficPolicy" not in ext["spec"]


def test_client_ip_affinity_timeout() -> None:
    obj = copy.deepcopy(_samples()[("", "Service")])
    STRATEGIES[("", "Service")].default(obj)
    assert obj["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_job_and_cronjob_defaults() -> None:
    job = copy.deepcopy(_samples()[("batch", "Job")])
    job["metadata"] = {"name": "pi"}
    STRATEGIES[("batch", "Job")].default(job)
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed"
    assert spec["suspend"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert job["metadata"]["labels"] == {"app": "a"}
    cj = copy.deepcopy(_samples()[("batch", "CronJob")])
    STRATEGIES[("batch", "CronJob")].default(cj)
    assert cj["spec"]["concurrencyPolicy"] == "Allow"
    assert (cj["spec"]["successfulJobsHistoryLimit"], cj["spec"]["failedJobsHistoryLimit"]) == (
        3,
        1,
    )
    assert cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"


def test_parallelism_only_leaves_completions_unset() -> None:
    job = {"spec": {"parallelism": 3, "template": {"spec": {"containers": []}}}}
    STRATEGIES[("batch", "Job")].default(job)
    assert "completions" not in job["spec"]


def test_secret_defaults_fold_string_data() -> None:
    obj = {"data": {"a": "YQ=="}, "stringData": {"b": "hello"}}
    STRATEGIES[("", "Secret")].default(obj)
    assert obj == {"type": "Opaque", "data": {"a": "YQ==", "b": "aGVsbG8="}}


def test_volume_defaults_pv_pvc() -> None:
    pvc = {"spec": {"accessModes": ["ReadWriteOnce"]}}
    STRATEGIES[("", "PersistentVolumeClaim")].default(pvc)
    assert pvc["spec"]["volumeMode"] == "Filesystem"
    pv = {"spec": {}}
    STRATEGIES[("", "PersistentVolume")].default(pv)
    assert pv["spec"] == {"persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem"}


def test_node_allocatable_defaults_to_capacity() -> None:
    node = {"status": {"capacity": {"cpu": "2", "memory": "1Gi"}}}
    STRATEGIES[("", "Node")].default(node)
    assert node["status"]["allocatable"] == {"cpu": "2", "memory": "1Gi"}
