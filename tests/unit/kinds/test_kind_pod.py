"""Pod: create-time status, admission defaults, validation and the update rule."""

from __future__ import annotations

import copy

import pytest

from pyk8s.api.kinds import STRATEGIES
from pyk8s.api.kinds.pod import IMMUTABLE_SPEC_MSG, pod_qos_class

POD = STRATEGIES[("", "Pod")]


def new_pod(**spec: object) -> dict:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}], **spec},
    }
    return body


def created(**spec: object) -> dict:
    obj = new_pod(**spec)
    POD.default(obj)
    POD.prepare_for_create(obj)
    return obj


def messages(causes: list) -> list[str]:
    return [f"{c['field']}: {c['message']}" for c in causes]


def test_create_sets_pending_status_and_pod_only_defaults() -> None:
    obj = new_pod()
    obj["status"] = {"phase": "Running"}
    POD.default(obj)
    POD.prepare_for_create(obj)
    assert obj["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    spec = obj["spec"]
    assert spec["enableServiceLinks"] is True
    assert spec["priority"] == 0
    assert spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert POD.validate(obj) == []


def test_default_toleration_seconds() -> None:
    spec = created()["spec"]
    assert spec["tolerations"] == [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]


def test_existing_toleration_is_not_duplicated() -> None:
    own = {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 5,
    }
    spec = created(tolerations=[own])["spec"]
    assert spec["tolerations"][0] == own
    assert [t["key"] for t in spec["tolerations"]] == [
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/not-ready",
    ]
    assert created(tolerations=[{"operator": "Exists"}])["spec"]["tolerations"] == [
        {"operator": "Exists"}
    ]


def test_system_priority_class() -> None:
    spec = created(priorityClassName="system-node-critical")["spec"]
    assert spec["priority"] == 2000001000


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        ({}, "BestEffort"),
        ({"requests": {"cpu": "100m"}}, "Burstable"),
        ({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed"),
        ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}, "Burstable"),
        ({"limits": {"cpu": "1"}}, "Burstable"),
        (
            {
                "limits": {"cpu": "1000m", "memory": "1024Mi"},
                "requests": {"cpu": "1", "memory": "1Gi"},
            },
            "Guaranteed",
        ),
        ({"requests": {"cpu": "0"}}, "BestEffort"),
    ],
)
def test_qos_class(resources: dict, qos: str) -> None:
    obj = new_pod()
    obj["spec"]["containers"][0]["resources"] = resources
    POD.default(obj)  # copies limits into missing requests, as upstream
    assert pod_qos_class(obj["spec"]) == qos


def test_limits_default_requests() -> None:
    obj = new_pod()
    obj["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}}
    POD.default(obj)
    assert obj["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1"}


def test_container_validation_messages() -> None:
    obj = created()
    obj["spec"]["containers"] = [
        {"name": "Web", "image": ""},
        {"name": "dup", "image": "x", "ports": [{"containerPort": 70000, "protocol": "XTP"}]},
        {"name": "dup", "image": "x", "env": [{"name": "A=B"}]},
    ]
    POD.default(obj)
    got = messages(POD.validate(obj))
    assert any(
        m.startswith('spec.containers[0].name: Invalid value: "Web": a lowercase RFC 1123 label')
        for m in got
    )
    assert "spec.containers[0].image: Required value" in got
    assert (
        "spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"
        in got
    )
    assert (
        'spec.containers[1].ports[0].protocol: Unsupported value: "XTP": supported values: "SCTP", "TCP", "UDP"'
        in got
    )
    assert 'spec.containers[2].name: Duplicate value: "dup"' in got
    assert (
        'spec.containers[2].env[0].name: Invalid value: "A=B": a valid environment variable name '
        "must consist only of printable ASCII characters other than '='"
    ) in got


def test_no_containers() -> None:
    obj = created()
    obj["spec"]["containers"] = []
    assert "spec.containers: Required value" in messages(POD.validate(obj))


def test_restart_policy_values() -> None:
    obj = created(restartPolicy="Sometimes")
    assert messages(POD.validate(obj)) == [
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
    ]


def test_pod_name_must_be_subdomain() -> None:
    obj = created()
    obj["metadata"]["name"] = "Bad_Name"
    assert POD.validate(obj) == []
    got = messages(POD.validate_meta(obj))
    assert got and got[0].startswith(
        'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain'
    )


def test_volume_mount_must_name_a_volume() -> None:
    obj = created()
    obj["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    assert messages(POD.validate(obj)) == [
        'spec.containers[0].volumeMounts[0].name: Not found: "data"'
    ]


def test_requests_above_limits() -> None:
    obj = created()
    obj["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}
    assert messages(POD.validate(obj)) == [
        'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'
    ]


def test_liveness_success_threshold_must_be_one() -> None:
    obj = created()
    obj["spec"]["containers"][0]["livenessProbe"] = {
        "exec": {"command": ["true"]},
        "successThreshold": 2,
    }
    POD.default(obj)
    assert messages(POD.validate(obj)) == [
        "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"
    ]


# --- updates -----------------------------------------------------------------------


def updated(old: dict, change) -> tuple[dict, list[str]]:
    new = copy.deepcopy(old)
    change(new)
    POD.default(new)
    POD.prepare_for_update(new, old)
    return new, messages(POD.validate(new) + POD.validate_update(new, old))


def test_image_change_is_allowed() -> None:
    old = created()
    _, errs = updated(old, lambda p: p["spec"]["containers"][0].update(image="nginx:1.26"))
    assert errs == []


def test_other_spec_changes_are_forbidden() -> None:
    old = created()
    _, errs = updated(
        old, lambda p: p["spec"]["containers"][0].update(ports=[{"containerPort": 80}])
    )
    assert errs == [f"spec: Forbidden: {IMMUTABLE_SPEC_MSG}"]
    assert IMMUTABLE_SPEC_MSG.startswith(
        "pod updates may not change fields other than `spec.containers[*].image`,"
    )


def test_node_name_is_immutable_once_set() -> None:
    old = created(nodeName="n1")
    _, errs = updated(old, lambda p: p["spec"].update(nodeName="n2"))
    assert errs == [f"spec: Forbidden: {IMMUTABLE_SPEC_MSG}"]


def test_tolerations_may_only_be_added() -> None:
    old = created()
    extra = {"key": "k", "operator": "Exists", "effect": "NoSchedule"}
    _, errs = updated(old, lambda p: p["spec"]["tolerations"].append(extra))
    assert errs == []
    _, errs = updated(old, lambda p: p["spec"]["tolerations"].pop())
    assert errs == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
    ]
    _, errs = updated(old, lambda p: p["spec"]["tolerations"][0].update(tolerationSeconds=10))
    assert errs == []


def test_active_deadline_may_only_shrink() -> None:
    old = created(activeDeadlineSeconds=100)
    _, errs = updated(old, lambda p: p["spec"].update(activeDeadlineSeconds=50))
    assert errs == []
    _, errs = updated(old, lambda p: p["spec"].update(activeDeadlineSeconds=200))
    assert errs == [
        "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"
    ]
    _, errs = updated(old, lambda p: p["spec"].pop("activeDeadlineSeconds"))
    assert errs == [
        "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"
    ]


def test_adding_a_container_is_forbidden() -> None:
    old = created()
    _, errs = updated(old, lambda p: p["spec"]["containers"].append({"name": "b", "image": "x"}))
    assert errs == ["spec.containers: Forbidden: pod updates may not add or remove containers"]


def test_update_keeps_status() -> None:
    old = created()
    old["status"] = {"phase": "Running", "qosClass": "BestEffort"}
    new, _ = updated(old, lambda p: p.update(status={"phase": "Failed"}))
    assert new["status"] == {"phase": "Running", "qosClass": "BestEffort"}


def test_labels_change_is_allowed() -> None:
    old = created()
    _, errs = updated(old, lambda p: p["metadata"].update(labels={"a": "b"}))
    assert errs == []
