"""PodDisruptionBudget arithmetic, as upstream's disruption controller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pyk8s.controllers import disruption as d

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def _pod(name: str, ready: bool = True, owner: str = "rs1", deleting: bool = False) -> dict:
    md: dict = {"name": name, "namespace": "ns", "labels": {"app": "x"}}
    md["ownerReferences"] = [
        {"kind": "ReplicaSet", "name": owner, "uid": owner, "controller": True}
    ]
    if deleting:
        md["deletionTimestamp"] = "2024-01-01T11:59:00Z"
    cond = [{"type": "Ready", "status": "True" if ready else "False"}]
    return {"metadata": md, "status": {"conditions": cond}}


def _scale(replicas: dict[str, int]):
    def scale_of(pod):
        uid = pod["metadata"]["ownerReferences"][0]["uid"]
        return uid, replicas[uid]

    return scale_of


def test_min_available_int_counts_pods():
    pods = [_pod("a"), _pod("b"), _pod("c")]
    assert d.desired_healthy({"minAvailable": 2}, pods, None) == (3, 2)


def test_min_available_percent_rounds_up_against_scale():
    pods = [_pod("a"), _pod("b")]
    assert d.desired_healthy({"minAvailable": "50%"}, pods, _scale({"rs1": 5})) == (5, 3)


def test_max_unavailable_percent_rounds_up():
    pods = [_pod("a")]
    assert d.desired_healthy({"maxUnavailable": "25%"}, pods, _scale({"rs1": 10})) == (10, 7)
    assert d.desired_healthy({"maxUnavailable": 1}, pods, _scale({"rs1": 3})) == (3, 2)


def test_distinct_controllers_scales_add_up():
    pods = [_pod("a", owner="rs1"), _pod("b", owner="rs1"), _pod("c", owner="rs2")]
    assert d.expected_scale(pods, _scale({"rs1": 2, "rs2": 4})) == 6


def test_scale_error_propagates():
    def fail(_pod):
        raise d.ScaleError("found no controller ref")

    with pytest.raises(d.ScaleError):
        d.desired_healthy({"maxUnavailable": 1}, [_pod("a")], fail)


def test_healthy_excludes_deleting_disrupted_and_unready():
    pods = [_pod("a"), _pod("b", ready=False), _pod("c", deleting=True), _pod("d")]
    assert d.count_healthy(pods, {"d": "x"}) == 1


def test_disruptions_allowed_never_negative():
    assert d.disruptions_allowed(3, 3, 2) == 1
    assert d.disruptions_allowed(3, 1, 2) == 0
    assert d.disruptions_allowed(0, 3, 0) == 0


def test_disrupted_entries_expire_or_go_with_the_pod():
    recent = (NOW - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = (NOW - timedelta(seconds=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pdb = {"status": {"disruptedPods": {"a": recent, "b": old, "gone": recent, "c": recent}}}
    pods = [_pod("a"), _pod("b"), _pod("c", deleting=True)]
    kept, recheck = d.current_disrupted(pdb, pods, NOW)
    assert kept == {"a": recent}
    assert recheck == pytest.approx(90.0)


def test_condition_keeps_transition_time_while_status_holds():
    first = d.allowed_condition(1, [], 2, "t1")
    assert (first["status"], first["reason"], first["observedGeneration"]) == (
        "True",
        "SufficientPods",
        2,
    )
    same = d.allowed_condition(2, [first], 2, "t2")
    assert same["lastTransitionTime"] == "t1"
    flipped = d.allowed_condition(0, [first], 2, "t3")
    assert (flipped["status"], flipped["reason"], flipped["lastTransitionTime"]) == (
        "False",
        "InsufficientPods",
        "t3",
    )
