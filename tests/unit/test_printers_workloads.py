"""Table cells of apps/v1, batch/v1, coordination, policy and discovery kinds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pyk8s.api.printers import column_definitions, row_cells

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def ago(seconds: float) -> str:
    return datetime.fromtimestamp(NOW - seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def md(name: str, age_s: float = 3600, **extra) -> dict:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(age_s), **extra}


def template(*containers: tuple[str, str]) -> dict:
    return {"spec": {"containers": [{"name": n, "image": i} for n, i in containers]}}


def wide(group: str, kind: str) -> list[str]:
    return [c["name"] for c in column_definitions(group, kind) if c["priority"] == 1]


def narrow(group: str, kind: str) -> list[str]:
    return [c["name"] for c in column_definitions(group, kind) if c["priority"] == 0]


# --- apps -------------------------------------------------------------------------


def test_deployment() -> None:
    d = {
        "metadata": md("nginx", 3),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": template(("nginx", "nginx:1.25"), ("log", "busybox")),
        },
        "status": {"replicas": 3, "readyReplicas": 1, "updatedReplicas": 3, "availableReplicas": 1},
    }
    assert row_cells("apps", "Deployment", d, NOW) == [
        "nginx",
        "1/3",
        3,
        1,
        "3s",
        "nginx,log",
        "nginx:1.25,busybox",
        "app=nginx",
    ]
    assert narrow("apps", "Deployment") == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    assert wide("apps", "Deployment") == ["Containers", "Images", "Selector"]


def test_deployment_fresh_without_status() -> None:
    d = {"metadata": md("new", 1), "spec": {"replicas": 2, "template": template()}}
    assert row_cells("apps", "Deployment", d, NOW)[1:4] == ["0/2", 0, 0]
    assert row_cells("apps", "Deployment", d, NOW)[7] == ""


def test_selector_with_expressions_is_sorted_by_key() -> None:
    sel = {
        "matchLabels": {"tier": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "zone", "operator": "NotIn", "values": ["b", "a"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "app", "operator": "Exists"},
        ],
    }
    rs = {"metadata": md("x"), "spec": {"replicas": 1, "selector": sel, "template": template()}}
    assert row_cells("apps", "ReplicaSet", rs, NOW)[7] == (
        "app,!canary,env in (dev,prod),tier=web,zone notin (a,b)"
    )


def test_replicaset() -> None:
    rs = {
        "metadata": md("nginx-5d4f8c9b7", 3 * 3600 + 120),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "nginx", "pod-template-hash": "5d4f8c9b7"}},
            "template": template(("nginx", "nginx")),
        },
        "status": {"replicas": 3, "readyReplicas": 3},
    }
    assert row_cells("apps", "ReplicaSet", rs, NOW) == [
        "nginx-5d4f8c9b7",
        3,
        3,
        3,
        "3h2m",
        "nginx",
        "nginx",
        "app=nginx,pod-template-hash=5d4f8c9b7",
    ]
    assert narrow("apps", "ReplicaSet") == ["Name", "Desired", "Current", "Ready", "Age"]
    empty = {"metadata": md("e"), "spec": {"replicas": 0, "template": template()}}
    assert row_cells("apps", "ReplicaSet", empty, NOW)[1:4] == [0, 0, 0]
    assert row_cells("apps", "ReplicaSet", empty, NOW)[7] == "<none>"


def test_daemonset() -> None:
    tmpl = template(("fluentd", "fluentd:v1"))
    tmpl["spec"]["nodeSelector"] = {"kubernetes.io/os": "linux"}
    ds = {
        "metadata": md("fluentd", 86400 * 10),
        "spec": {"selector": {"matchLabels": {"name": "fluentd"}}, "template": tmpl},
        "status": {
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3,
            "numberReady": 2,
            "updatedNumberScheduled": 3,
            "numberAvailable": 2,
        },
    }
    assert row_cells("apps", "DaemonSet", ds, NOW) == [
        "fluentd",
        3,
        3,
        2,
        3,
        2,
        "kubernetes.io/os=linux",
        "10d",
        "fluentd",
        "fluentd:v1",
        "name=fluentd",
    ]
    assert narrow("apps", "DaemonSet") == [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Up-to-date",
        "Available",
        "Node Selector",
        "Age",
    ]


def test_statefulset() -> None:
    sts = {
        "metadata": md("web", 45),
        "spec": {"replicas": 2, "template": template(("nginx", "registry.k8s.io/nginx-slim:0.8"))},
        "status": {"readyReplicas": 1},
    }
    assert row_cells("apps", "StatefulSet", sts, NOW) == [
        "web",
        "1/2",
        "45s",
        "nginx",
        "registry.k8s.io/nginx-slim:0.8",
    ]
    assert wide("apps", "StatefulSet") == ["Containers", "Images"]


def test_controller_revision() -> None:
    cr = {
        "metadata": md(
            "fluentd-6b7d9",
            60,
            ownerReferences=[
                {"apiVersion": "v1", "kind": "Pod", "name": "other"},
                {
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "name": "fluentd",
                    "controller": True,
                },
            ],
        ),
        "revision": 2,
    }
    assert row_cells("apps", "ControllerRevision", cr, NOW) == [
        "fluentd-6b7d9",
        "daemonset.apps/fluentd",
        2,
        "60s",
    ]
    orphan = {"metadata": md("x", 60), "revision": 1}
    assert row_cells("apps", "ControllerRevision", orphan, NOW)[1] == "<none>"


# --- batch ------------------------------------------------------------------------


def job(conditions=(), deleting=False, **spec) -> dict:
    j = {
        "metadata": md("pi", 600),
        "spec": {
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}},
            "template": template(("pi", "perl:5.34")),
            **spec,
        },
        "status": {"conditions": [{"type": t, "status": "True"} for t in conditions]},
    }
    if deleting:
        j["metadata"]["deletionTimestamp"] = ago(1)
    return j


def test_job_complete() -> None:
    j = job(["SuccessCriteriaMet", "Complete"], completions=1, parallelism=1)
    j["status"].update({"succeeded": 1, "startTime": ago(600), "completionTime": ago(562)})
    assert row_cells("batch", "Job", j, NOW) == [
        "pi",
        "Complete",
        "1/1",
        "38s",
        "10m",
        "pi",
        "perl:5.34",
        "batch.kubernetes.io/controller-uid=abc",
    ]
    assert narrow("batch", "Job") == ["Name", "Status", "Completions", "Duration", "Age"]


@pytest.mark.parametrize(
    ("conditions", "deleting", "expected"),
    [
        ([], False, "Running"),
        (["Failed"], False, "Failed"),
        (["Failed"], True, "Failed"),
        ([], True, "Terminating"),
        (["Suspended"], False, "Suspended"),
        (["FailureTarget"], False, "FailureTarget"),
    ],
)
def test_job_status(conditions, deleting, expected) -> None:
    assert row_cells("batch", "Job", job(conditions, deleting), NOW)[1] == expected


def test_job_completions_and_running_duration() -> None:
    j = job(parallelism=3)
    j["status"].update({"succeeded": 1, "startTime": ago(150)})
    assert row_cells("batch", "Job", j, NOW)[2:4] == ["1/1 of 3", "2m30s"]
    assert row_cells("batch", "Job", job(completions=5), NOW)[2:4] == ["0/5", ""]
    assert row_cells("batch", "Job", job(), NOW)[2] == "0/1"


def test_cronjob() -> None:
    cj = {
        "metadata": md("hello", 86400 * 3),
        "spec": {
            "schedule": "*/1 * * * *",
            "suspend": False,
            "jobTemplate": {"spec": {"template": template(("hello", "busybox:1.28"))}},
        },
        "status": {"active": [{"name": "hello-28573921"}], "lastScheduleTime": ago(42)},
    }
    assert row_cells("batch", "CronJob", cj, NOW) == [
        "hello",
        "*/1 * * * *",
        "<none>",
        "False",
        1,
        "42s",
        "3d",
        "hello",
        "busybox:1.28",
        "<none>",
    ]
    cj["spec"].update(timeZone="Etc/UTC", suspend=True)
    cj["status"] = {}
    assert row_cells("batch", "CronJob", cj, NOW)[2:6] == ["Etc/UTC", "True", 0, "<none>"]
    del cj["spec"]["suspend"]
    assert row_cells("batch", "CronJob", cj, NOW)[3] == "<unset>"
    assert narrow("batch", "CronJob") == [
        "Name",
        "Schedule",
        "Timezone",
        "Suspend",
        "Active",
        "Last Schedule",
        "Age",
    ]


# --- coordination, policy, discovery -------------------------------------------------


def test_lease() -> None:
    lease = {"metadata": md("kube-scheduler", 600), "spec": {"holderIdentity": "m-k8s_1234"}}
    assert row_cells("coordination.k8s.io", "Lease", lease, NOW) == [
        "kube-scheduler",
        "m-k8s_1234",
        "10m",
    ]
    assert row_cells("coordination.k8s.io", "Lease", {"metadata": md("x")}, NOW)[1] == ""


def test_pod_disruption_budget() -> None:
    pdb = {
        "metadata": md("zk-pdb", 60),
        "spec": {"minAvailable": 2},
        "status": {"disruptionsAllowed": 1},
    }
    assert row_cells("policy", "PodDisruptionBudget", pdb, NOW) == ["zk-pdb", "2", "N/A", 1, "60s"]
    pdb["spec"] = {"maxUnavailable": "25%"}
    assert row_cells("policy", "PodDisruptionBudget", pdb, NOW)[1:3] == ["N/A", "25%"]
    assert narrow("policy", "PodDisruptionBudget") == [
        "Name",
        "Min Available",
        "Max Unavailable",
        "Allowed Disruptions",
        "Age",
    ]


def test_endpoint_slice() -> None:
    es = {
        "metadata": md("kube-dns-abcde", 60),
        "addressType": "IPv4",
        "ports": [{"name": "dns", "port": 53}, {"name": "metrics"}, {}, {"port": 9153}],
        "endpoints": [
            {"addresses": ["198.18.0.20"]},
            {"addresses": ["198.18.0.21"]},
        ],
    }
    assert row_cells("discovery.k8s.io", "EndpointSlice", es, NOW) == [
        "kube-dns-abcde",
        "IPv4",
        "53,metrics,* + 1 more...",
        "198.18.0.20,198.18.0.21",
        "60s",
    ]
    empty = {"metadata": md("e", 60), "addressType": "IPv6"}
    assert row_cells("discovery.k8s.io", "EndpointSlice", empty, NOW)[2:4] == ["<unset>", "<unset>"]
