"""Pod readiness, availability and upstream's deletion ranking (podutil)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pyk8s.controllers.podutil import (
    POD_DELETION_COST,
    colocation_ranks,
    deletion_cost,
    filter_active,
    is_active,
    is_pod_available,
    is_pod_ready,
    max_container_restarts,
    sort_for_deletion,
)
from pyk8s.controllers.replicaset import pods_to_delete
from pyk8s.machinery import meta

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    return meta.format_time(NOW - timedelta(seconds=seconds))


def pod(
    name: str,
    *,
    node: str = "",
    phase: str = "Pending",
    ready_since: float | None = None,
    created: float = 3600,
    restarts: int = 0,
    cost: int | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "creationTimestamp": ago(created)}
    if cost is not None:
        md["annotations"] = {POD_DELETION_COST: str(cost)}
    if deleting:
        md["deletionTimestamp"] = ago(0)
    status: dict[str, Any] = {"phase": phase}
    if ready_since is not None:
        status["conditions"] = [
            {"type": "Ready", "status": "True", "lastTransitionTime": ago(ready_since)}
        ]
    if restarts:
        status["containerStatuses"] = [{"name": "c", "restartCount": restarts}]
    return {"metadata": md, "spec": {"nodeName": node} if node else {}, "status": status}


def names(pods: list[dict[str, Any]]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


# ------------------------------------------------------------- readiness


def test_ready_needs_a_true_ready_condition() -> None:
    assert is_pod_ready(pod("a", ready_since=10))
    assert not is_pod_ready(pod("a"))
    not_ready = pod("a", ready_since=10)
    not_ready["status"]["conditions"][0]["status"] = "False"
    assert not is_pod_ready(not_ready)


def test_available_after_min_ready_seconds_strictly() -> None:
    p = pod("a", ready_since=10)
    assert is_pod_available(p, 0, NOW)
    assert is_pod_available(p, 9, NOW)
    assert not is_pod_available(p, 10, NOW)  # upstream: transition + min before now
    assert not is_pod_available(p, 30, NOW)
    assert not is_pod_available(pod("b"), 0, NOW)


def test_active_excludes_terminal_and_terminating() -> None:
    pods = [
        pod("run", phase="Running"),
        pod("ok", phase="Succeeded"),
        pod("bad", phase="Failed"),
        pod("gone", deleting=True),
        pod("new"),
    ]
    assert names(filter_active(pods)) == ["run", "new"]
    assert not is_active(pods[3])


def test_deletion_cost_and_restarts_read_defensively() -> None:
    assert deletion_cost(pod("a", cost=-5)) == -5
    assert deletion_cost(pod("a")) == 0
    bad = pod("a")
    bad["metadata"]["annotations"] = {POD_DELETION_COST: "lots"}
    assert deletion_cost(bad) == 0
    assert max_container_restarts(pod("a", restarts=4)) == 4
    assert max_container_restarts(pod("a")) == 0


# --------------------------------------------------------------- ranking


def test_unscheduled_before_pending_before_running_before_ready() -> None:
    pods = [
        pod("ready", node="n1", phase="Running", ready_since=100),
        pod("running", node="n1", phase="Running"),
        pod("unknown", node="n1", phase="Unknown"),
        pod("pending", node="n1", phase="Pending"),
        pod("unscheduled"),
    ]
    ordered = sort_for_deletion(pods, now=NOW)
    assert names(ordered) == ["unscheduled", "pending", "unknown", "running", "ready"]


def test_lower_deletion_cost_goes_first() -> None:
    pods = [
        pod("costly", node="n1", phase="Running", cost=100),
        pod("cheap", node="n1", phase="Running", cost=-1),
        pod("plain", node="n1", phase="Running"),
    ]
    assert names(sort_for_deletion(pods, now=NOW)) == ["cheap", "plain", "costly"]


def test_doubled_up_pods_go_first() -> None:
    pods = [
        pod("alone", node="n1", phase="Running"),
        pod("crowded", node="n2", phase="Running"),
    ]
    related = [*pods, pod("sibling", node="n2", phase="Running")]
    ranks = colocation_ranks(pods, related)
    assert ranks == [1, 2]
    assert names(sort_for_deletion(pods, ranks, NOW)) == ["crowded", "alone"]


def test_ranks_ignore_inactive_related_pods() -> None:
    pods = [pod("a", node="n1")]
    related = [
        pods[0],
        pod("dead", node="n1", phase="Failed"),
        pod("bye", node="n1", deleting=True),
    ]
    assert colocation_ranks(pods, related) == [1]


def test_recently_ready_goes_first_on_a_log_scale() -> None:
    pods = [
        pod("old", node="n", phase="Running", ready_since=10_000),
        pod("new", node="n", phase="Running", ready_since=10),
    ]
    assert names(sort_for_deletion(pods, now=NOW)) == ["new", "old"]
    # Without `now`, times compare exactly: same answer.
    assert names(sort_for_deletion(pods)) == ["new", "old"]


def test_same_log_bucket_falls_back_to_uid() -> None:
    # 100 and 101 seconds ago share floor(log2(ns)); the uid breaks the tie.
    pods = [
        pod("b", node="n", phase="Running", ready_since=100),
        pod("a", node="n", phase="Running", ready_since=101),
    ]
    assert names(sort_for_deletion(pods, now=NOW)) == ["a", "b"]
    # Compared exactly, the more recently ready one goes first.
    assert names(sort_for_deletion(pods)) == ["b", "a"]


def test_more_restarts_first_then_newest_first() -> None:
    pods = [
        pod("steady", node="n", phase="Running", created=100_000),
        pod("crashy", node="n", phase="Running", created=100_000, restarts=3),
        pod("young", node="n", phase="Running", created=5),
    ]
    assert names(sort_for_deletion(pods, now=NOW)) == ["crashy", "young", "steady"]


def test_missing_creation_time_goes_first() -> None:
    unknown = pod("unknown", node="n", phase="Running")
    del unknown["metadata"]["creationTimestamp"]
    pods = [pod("known", node="n", phase="Running", created=1), unknown]
    assert names(sort_for_deletion(pods, now=NOW)) == ["unknown", "known"]


# ---------------------------------------------------------- pods_to_delete


def test_pods_to_delete_takes_the_front_of_the_ranking() -> None:
    pods = [
        pod("ready", node="n1", phase="Running", ready_since=50),
        pod("pending", node="n1"),
        pod("unscheduled"),
        pod("running", node="n2", phase="Running"),
    ]
    assert names(pods_to_delete(pods, pods, 2, NOW)) == ["unscheduled", "pending"]
    assert names(pods_to_delete(pods, pods, 3, NOW)) == ["unscheduled", "pending", "running"]


def test_pods_to_delete_everything_needs_no_ranking() -> None:
    pods = [pod("a"), pod("b")]
    assert names(pods_to_delete(pods, [], 2, NOW)) == ["a", "b"]
    assert names(pods_to_delete(pods, [], 5, NOW)) == ["a", "b"]
