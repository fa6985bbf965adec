"""DaemonSet pure logic: node eligibility, the daemon pod, rolling-update planning."""

from __future__ import annotations

from datetime import UTC, datetime

from pyk8s.controllers import daemonset_util as du

NOW = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)


def _ds(**spec) -> dict:
    return {
        "metadata": {"name": "ds", "namespace": "ns", "uid": "u1", "generation": 3},
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": []}},
            **spec,
        },
    }


def _node(name: str, labels=None, taints=None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def _pod(name: str, hash_: str, ready: bool = True, deleting: bool = False) -> dict:
    md = {
        "name": name,
        "labels": {du.HASH_LABEL: hash_},
        "creationTimestamp": "2024-01-01T00:00:00Z",
    }
    if deleting:
        md["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    cond = {
        "type": "Ready",
        "status": "True" if ready else "False",
        "lastTransitionTime": "2024-01-01T00:00:00Z",
    }
    return {"metadata": md, "spec": {}, "status": {"phase": "Running", "conditions": [cond]}}


def test_taints_no_schedule_keeps_running_no_execute_evicts():
    ds = _ds()
    assert du.node_should_run(ds, _node("a")) == (True, True)
    no_sched = [{"key": "k", "value": "v", "effect": "NoSchedule"}]
    assert du.node_should_run(ds, _node("a", taints=no_sched)) == (False, True)
    no_exec = [{"key": "k", "effect": "NoExecute"}]
    assert du.node_should_run(ds, _node("a", taints=no_exec)) == (False, False)
    # Upstream's daemon tolerations cover these.
    for key, effect in [
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ("node.kubernetes.io/not-ready", "NoExecute"),
    ]:
        assert du.node_should_run(ds, _node("a", taints=[{"key": key, "effect": effect}]))[0]


def test_node_selector_and_affinity():
    ds = _ds()
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"role": "web"}
    assert not du.node_should_run(ds, _node("a", {"role": "db"}))[0]
    assert du.node_should_run(ds, _node("a", {"role": "web"}))[0]
    ds = _ds()
    ds["spec"]["template"]["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}
                ]
            }
        }
    }
    assert du.node_should_run(ds, _node("a", {"zone": "z1"}))[0]
    assert not du.node_should_run(ds, _node("a", {"zone": "z2"}))[0]
    pod = du.new_pod(ds, "a", "h")
    (term,) = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert term["matchExpressions"][0]["key"] == "zone"  # kept
    assert term["matchFields"] == [{"key": "metadata.name", "operator": "In", "values": ["a"]}]
    assert du.target_node(pod) == "a"


def test_new_pod_labels_and_owner():
    pod = du.new_pod(_ds(), "n1", "abc")
    md = pod["metadata"]
    assert md["generateName"] == "ds-"
    assert md["labels"] == {"app": "x", du.HASH_LABEL: "abc", du.GENERATION_LABEL: "3"}
    assert md["ownerReferences"][0]["kind"] == "DaemonSet"
    assert "nodeName" not in pod["spec"]


def test_toleration_matching():
    taint = {"key": "k", "value": "v", "effect": "NoSchedule"}
    assert du.toleration_matches({"key": "k", "operator": "Equal", "value": "v"}, taint)
    assert not du.toleration_matches({"key": "k", "operator": "Equal", "value": "w"}, taint)
    assert du.toleration_matches({"operator": "Exists"}, taint)
    assert not du.toleration_matches(
        {"key": "k", "operator": "Exists", "effect": "NoExecute"}, taint
    )


def test_revision_hash_is_stable_and_template_sensitive():
    a, b = _ds(), _ds()
    assert du.revision_hash(a) == du.revision_hash(b)
    b["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    assert du.revision_hash(a) != du.revision_hash(b)
    b = _ds(status=None)
    b["status"] = {"collisionCount": 1}
    assert du.revision_hash(b) != du.revision_hash(a)


def test_rolling_update_without_surge_respects_max_unavailable():
    ds = _ds(
        updateStrategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
        }
    )
    nodes = ["a", "b", "c"]
    node_pods = {n: [_pod(f"{n}-old", "old")] for n in nodes}
    delete, create = du.rolling_update_plan(ds, node_pods, nodes, "new", NOW)
    assert [p["metadata"]["name"] for p in delete] == ["a-old"] and create == []
    # One node already down to nothing (counts as unavailable): no further deletes.
    node_pods["a"] = []
    delete, _ = du.rolling_update_plan(ds, node_pods, nodes, "new", NOW)
    assert delete == []
    # An unavailable old pod is replaced regardless of the budget.
    node_pods["b"] = [_pod("b-old", "old", ready=False)]
    delete, _ = du.rolling_update_plan(ds, node_pods, nodes, "new", NOW)
    assert [p["metadata"]["name"] for p in delete] == ["b-old"]


def test_rolling_update_with_surge_creates_before_deleting():
    ds = _ds(
        updateStrategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }
    )
    nodes = ["a", "b"]
    node_pods = {n: [_pod(f"{n}-old", "old")] for n in nodes}
    delete, create = du.rolling_update_plan(ds, node_pods, nodes, "new", NOW)
    assert delete == [] and create == ["a"]
    node_pods["a"].append(_pod("a-new", "new"))
    delete, create = du.rolling_update_plan(ds, node_pods, nodes, "new", NOW)
    assert [p["metadata"]["name"] for p in delete] == ["a-old"] and create == []


def test_surge_and_unavailable_rounding():
    ds = _ds(
        updateStrategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 0},
        }
    )
    assert du.surge_and_unavailable(ds, 15) == (0, 2)  # 1.5 rounds up
    ds = _ds(
        updateStrategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0},
        }
    )
    assert du.surge_and_unavailable(ds, 5) == (0, 1)
