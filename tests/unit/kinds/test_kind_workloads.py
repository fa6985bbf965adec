"""Deployment, ReplicaSet, DaemonSet, StatefulSet: validation messages and update rules."""

from __future__ import annotations

import copy

import pytest

from pyk8s.api.kinds import STRATEGIES

DEPLOY = STRATEGIES[("apps", "Deployment")]


def workload(kind: str = "Deployment", labels: dict | None = None) -> dict:
    labels = labels or {"app": "x"}
    obj = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "default", "generation": 1},
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    STRATEGIES[("apps", kind)].default(obj)
    return obj


def messages(causes: list) -> list[str]:
    return [f"{c['field']}: {c['message']}" for c in causes]


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"])
def test_valid_workloads(kind: str) -> None:
    assert STRATEGIES[("apps", kind)].validate(workload(kind)) == []


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"])
def test_selector_must_match_template(kind: str) -> None:
    obj = workload(kind, {"app": "y"})
    assert messages(STRATEGIES[("apps", kind)].validate(obj)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"y"}: '
        "`selector` does not match template `labels`"
    ]


def test_missing_selector() -> None:
    obj = workload()
    del obj["spec"]["selector"]
    assert messages(DEPLOY.validate(obj)) == [
        "spec.selector: Required value",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: '
        "`selector` does not match template `labels`",
    ]


def test_empty_selector() -> None:
    obj = workload()
    obj["spec"]["selector"] = {"matchLabels": {}}
    assert messages(DEPLOY.validate(obj)) == [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
    ]


def test_selector_expressions_match() -> None:
    obj = workload()
    obj["spec"]["selector"] = {
        "matchExpressions": [{"key": "app", "operator": "In", "values": ["x", "z"]}]
    }
    assert DEPLOY.validate(obj) == []


def test_negative_replicas() -> None:
    obj = workload()
    obj["spec"]["replicas"] = -1
    assert messages(DEPLOY.validate(obj)) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    ]


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"])
def test_template_restart_policy_must_be_always(kind: str) -> None:
    obj = workload(kind)
    obj["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert messages(STRATEGIES[("apps", kind)].validate(obj)) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'
    ]


def test_template_needs_containers() -> None:
    obj = workload()
    obj["spec"]["template"]["spec"]["containers"] = []
    assert messages(DEPLOY.validate(obj)) == ["spec.template.spec.containers: Required value"]


def test_max_surge_and_unavailable_both_zero() -> None:
    obj = workload()
    obj["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": 0, "maxUnavailable": 0}
    assert messages(DEPLOY.validate(obj)) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
        'intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0'
    ]
    obj["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": "0%", "maxUnavailable": 0}
    assert len(DEPLOY.validate(obj)) == 1


def test_int_or_percent_format() -> None:
    obj = workload()
    obj["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": "abc", "maxUnavailable": "120%"}
    got = messages(DEPLOY.validate(obj))
    assert got == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
        'intstr.IntOrString{Type:1, IntVal:0, StrVal:"120%"}: must not be greater than 100%',
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: "
        'intstr.IntOrString{Type:1, IntVal:0, StrVal:"abc"}: a valid percent string must be a '
        "numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ]


def test_recreate_with_rolling_update_is_forbidden() -> None:
    obj = workload()
    obj["spec"]["strategy"] = {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}
    assert messages(DEPLOY.validate(obj)) == [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"
    ]


def test_progress_deadline_must_exceed_min_ready() -> None:
    obj = workload()
    obj["spec"]["minReadySeconds"] = 600
    assert messages(DEPLOY.validate(obj)) == [
        "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"
    ]


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "DaemonSet"])
def test_selector_is_immutable(kind: str) -> None:
    old = workload(kind)
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "y"}}
    assert messages(STRATEGIES[("apps", kind)].validate_update(new, old)) == [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"y"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    ]
    same = copy.deepcopy(old)
    same["spec"]["selector"]["matchExpressions"] = []
    assert STRATEGIES[("apps", kind)].validate_update(same, old) == []


def test_statefulset_update_rules() -> None:
    sts = STRATEGIES[("apps", "StatefulSet")]
    old = workload("StatefulSet")
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    assert sts.validate_update(new, old) == []
    new["spec"]["serviceName"] = "other"
    assert messages(sts.validate_update(new, old)) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
        "'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' "
        "and 'minReadySeconds' are forbidden"
    ]


def test_deployment_generation_counts_annotations() -> None:
    old = workload()
    new = copy.deepcopy(old)
    assert not DEPLOY.generation_changed(new, old)
    new["metadata"]["annotations"] = {"a": "b"}
    assert DEPLOY.generation_changed(new, old)
    rs = STRATEGIES[("apps", "ReplicaSet")]
    old_rs = workload("ReplicaSet")
    new_rs = copy.deepcopy(old_rs)
    new_rs["metadata"]["annotations"] = {"a": "b"}
    assert not rs.generation_changed(new_rs, old_rs)
    new_rs["spec"]["replicas"] = 3
    assert rs.generation_changed(new_rs, old_rs)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("Deployment", {}),
        ("ReplicaSet", {"replicas": 0}),
        ("StatefulSet", {"replicas": 0, "availableReplicas": 0}),
        (
            "DaemonSet",
            {
                "currentNumberScheduled": 0,
                "numberMisscheduled": 0,
                "desiredNumberScheduled": 0,
                "numberReady": 0,
            },
        ),
    ],
)
def test_initial_status(kind: str, status: dict) -> None:
    obj = workload(kind)
    obj["status"] = {"replicas": 99}
    STRATEGIES[("apps", kind)].prepare_for_create(obj)
    assert obj["status"] == status


def test_update_keeps_status() -> None:
    old = workload()
    old["status"] = {"replicas": 1}
    new = copy.deepcopy(old)
    new["status"] = {"replicas": 7}
    DEPLOY.prepare_for_update(new, old)
    assert new["status"] == {"replicas": 1}


def test_daemonset_active_deadline_message() -> None:
    obj = workload("DaemonSet")
    obj["spec"]["template"]["spec"]["activeDeadlineSeconds"] = 10
    assert messages(STRATEGIES[("apps", "DaemonSet")].validate(obj)) == [
        "spec.template.spec.activeDeadlineSeconds: Invalid value: 10: activeDeadlineSeconds in DaemonSet is not Supported"
    ]
