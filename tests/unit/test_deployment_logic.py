"""Decisions of the deployment controller on plain dicts: surge, scale-down plans,
proportional scaling, Recreate's wait, and the status/conditions it writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyk8s.controllers.deployment import progress
from pyk8s.controllers.deployment.recreate import old_pods_running
from pyk8s.controllers.deployment.rolling import (
    max_scaled_down,
    scale_down_plan,
    unhealthy_cleanup_plan,
)
from pyk8s.controllers.deployment.sync import (
    created_message,
    find_active_or_latest,
    is_saturated,
    new_replica_set,
    new_rs_new_replicas,
    proportional_sizes,
    scaling_message,
)
from pyk8s.controllers.deployment.util import DESIRED_REPLICAS, HASH_LABEL, MAX_REPLICAS

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def deploy(replicas: int = 10, surge="25%", unavailable="25%", generation: int = 1, status=None):
    return {
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "d-uid",
            "generation": generation,
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c"}]},
            },
            "progressDeadlineSeconds": 600,
        },
        "status": dict(status or {}),
    }


def rs(name, replicas, available=None, actual=None, ts="2025-01-01T00:00:00Z", **ann):
    return {
        "metadata": {"name": name, "uid": name, "creationTimestamp": ts, "annotations": ann},
        "spec": {"replicas": replicas},
        "status": {
            "replicas": replicas if actual is None else actual,
            "availableReplicas": replicas if available is None else available,
            "readyReplicas": replicas if available is None else available,
        },
    }


# ------------------------------------------------------------------ new set growth


def test_new_rs_grows_up_to_replicas_plus_surge() -> None:
    d = deploy(10)
    old, new = rs("old", 10), rs("new", 0)
    assert new_rs_new_replicas(d, [old, new], new) == 3
    old8 = rs("old", 8)
    new3 = rs("new", 3, available=0)
    assert new_rs_new_replicas(d, [old8, new3], new3) == 5
    # an old set whose pods are not gone yet still counts against the surge
    lagging = rs("old", 8, actual=10)
    assert new_rs_new_replicas(d, [lagging, new3], new3) == 3
    # never past the desired count
    assert new_rs_new_replicas(d, [rs("old", 0), rs("new", 9)], rs("new", 9)) == 10


def test_new_rs_recreate_takes_everything() -> None:
    d = deploy(4)
    d["spec"]["strategy"] = {"type": "Recreate"}
    assert new_rs_new_replicas(d, [rs("new", 0)], rs("new", 0)) == 4


def test_new_replica_set_object() -> None:
    d = deploy(3)
    made = new_replica_set(d)
    pod_hash = made["spec"]["template"]["metadata"]["labels"][HASH_LABEL]
    assert made["metadata"]["name"] == f"web-{pod_hash}"
    assert made["metadata"]["labels"] == {"app": "web", HASH_LABEL: pod_hash}
    assert made["spec"]["selector"] == {"matchLabels": {"app": "web", HASH_LABEL: pod_hash}}
    assert made["spec"]["template"]["spec"] == d["spec"]["template"]["spec"]
    assert d["spec"]["template"]["metadata"]["labels"] == {"app": "web"}  # untouched
    (ref,) = made["metadata"]["ownerReferences"]
    assert ref == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
        "uid": "d-uid",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    collided = new_replica_set(deploy(3, status={"collisionCount": 1}))
    assert collided["metadata"]["name"] != made["metadata"]["name"]


# -------------------------------------------------------------- old set shrinking


def test_scale_down_keeps_min_available() -> None:
    d = deploy(10)  # surge 3, unavailable 2: at least 8 available
    old, new = rs("old", 10), rs("new", 3, available=0)
    assert max_scaled_down([old, new], new, d) == 2  # 13 - 8 - 3 unavailable new
    assert [(r["metadata"]["name"], n) for r, n in scale_down_plan([old, new], [old], d)] == [
        ("old", 8)
    ]
    # a set just scaled to 8 still reporting 10 available gives no more room
    assert scale_down_plan([rs("old", 8, available=10), new], [rs("old", 8, available=10)], d) == []


def test_scale_down_oldest_first() -> None:
    d = deploy(10)
    a = rs("a", 4, ts="2025-01-01T00:00:01Z")
    b = rs("b", 4, ts="2025-01-01T00:00:00Z")
    new = rs("new", 5, available=5)
    plan = scale_down_plan([a, b, new], [a, b], d)  # available 13 - 8 = 5 may go
    assert [(r["metadata"]["name"], n) for r, n in plan] == [("b", 0), ("a", 3)]


def test_unhealthy_old_pods_go_first() -> None:
    sick = rs("sick", 5, available=2, ts="2025-01-01T00:00:00Z")
    well = rs("well", 3)
    plan = unhealthy_cleanup_plan([well, sick], budget=2)
    assert [(r["metadata"]["name"], n) for r, n in plan] == [("sick", 3)]
    assert unhealthy_cleanup_plan([well], budget=5) == []
    # scaled down to 7 but still reporting 8 available: nothing to clean, never grow
    assert unhealthy_cleanup_plan([rs("lagging", 7, available=8)], budget=3) == []


# -------------------------------------------------------------------- scaling events


def test_find_active_or_latest() -> None:
    new, old = rs("new", 0, ts="2025-01-02T00:00:00Z"), rs("old", 3)
    assert find_active_or_latest(new, [old]) is old
    assert find_active_or_latest(new, [rs("old", 0)]) is new
    assert find_active_or_latest(rs("new", 1), [old]) is None
    assert find_active_or_latest(None, []) is None


def test_is_saturated() -> None:
    d = deploy(3)
    assert is_saturated(d, rs("n", 3, **{DESIRED_REPLICAS: "3"}))
    assert not is_saturated(d, rs("n", 3, available=2, **{DESIRED_REPLICAS: "3"}))
    assert not is_saturated(d, rs("n", 3, **{DESIRED_REPLICAS: "2"}))
    assert not is_saturated(d, None)


def test_proportional_scaling_mid_rollout() -> None:
    """10 -> 20 while old has 8 and new 5 (of max 13): 25 allowed, shared 15/10."""
    d = deploy(20)
    old = rs("old", 8, ts="2025-01-01T00:00:00Z", **{MAX_REPLICAS: "13"})
    new = rs("new", 5, available=0, ts="2025-01-01T00:01:00Z", **{MAX_REPLICAS: "13"})
    ordered, sizes = proportional_sizes(d, [old, new])
    assert [r["metadata"]["name"] for r in ordered] == ["old", "new"]
    assert sizes == {"old": 15, "new": 10}
    # and back down to 5 (max 6): the larger set loses most, never below 0
    d5 = deploy(5)
    _, down = proportional_sizes(
        d5, [rs("old", 15, **{MAX_REPLICAS: "25"}), rs("new", 10, **{MAX_REPLICAS: "25"})]
    )
    assert sum(down.values()) == 7 and all(v >= 0 for v in down.values())


def test_scaling_message_text() -> None:
    assert scaling_message("up", "web-abc", 1, 3) == "Scaled up replica set web-abc to 3 from 1"
    assert scaling_message("down", "web-abc", 3, 2) == "Scaled down replica set web-abc to 2 from 3"
    assert created_message("web-abc", 3) == "Scaled up replica set web-abc to 3"


# --------------------------------------------------------------------------- Recreate


def test_old_pods_running_waits_for_every_old_pod() -> None:
    new = rs("new", 0)
    old = rs("old", 0, actual=0)
    running = {"status": {"phase": "Running"}}
    done = {"status": {"phase": "Succeeded"}}
    assert old_pods_running(new, [old], {"old": [running]})
    assert not old_pods_running(new, [old], {"old": [done], "new": [running]})
    assert old_pods_running(new, [rs("old", 0, actual=1)], {})


# ----------------------------------------------------------------- status/conditions


def test_available_condition_follows_upstream_rule() -> None:
    """3 replicas (maxUnavailable 0): the seed's stalled rollout, 3 old available."""
    d = deploy(3)
    old, new = rs("old", 3), rs("new", 1, available=0)
    st = progress.calculate_status([old, new], new, d, NOW)
    assert (st["replicas"], st["updatedReplicas"], st["availableReplicas"]) == (4, 1, 3)
    assert st["unavailableReplicas"] == 1
    avail = progress.get_condition(st, "Available")
    assert (avail["status"], avail["reason"]) == ("True", "MinimumReplicasAvailable")
    st = progress.calculate_status([rs("old", 3, available=1), new], new, d, NOW)
    avail = progress.get_condition(st, "Available")
    assert (avail["status"], avail["reason"]) == ("False", "MinimumReplicasUnavailable")
    assert avail["message"] == "Deployment does not have minimum availability."


def test_set_condition_keeps_transition_time_and_order() -> None:
    status: dict = {}
    first = progress.new_condition("Progressing", "True", "A", "m", NOW)
    progress.set_condition(status, first)
    progress.set_condition(status, progress.new_condition("Available", "True", "X", "m", NOW))
    later = NOW + timedelta(minutes=1)
    progress.set_condition(status, progress.new_condition("Progressing", "True", "B", "m", later))
    assert [c["type"] for c in status["conditions"]] == ["Available", "Progressing"]
    prog = progress.get_condition(status, "Progressing")
    assert prog["reason"] == "B" and prog["lastTransitionTime"] == "2025-01-01T12:00:00Z"
    assert prog["lastUpdateTime"] == "2025-01-01T12:01:00Z"


def test_progressing_reasons() -> None:
    d = deploy(3, status={"replicas": 3, "updatedReplicas": 0, "availableReplicas": 3})
    d["status"]["conditions"] = [
        progress.new_condition("Progressing", "True", "NewReplicaSetCreated", "m", NOW)
    ]
    new = rs("web-new", 1, available=0)
    st = progress.rollout_status([rs("old", 3), new], new, d, NOW)
    prog = progress.get_condition(st, "Progressing")
    assert (prog["reason"], prog["message"]) == (
        "ReplicaSetUpdated",
        'ReplicaSet "web-new" is progressing.',
    )
    # complete
    done = rs("web-new", 3)
    st = progress.rollout_status([rs("old", 0, actual=0), done], done, d, NOW)
    prog = progress.get_condition(st, "Progressing")
    assert prog["reason"] == "NewReplicaSetAvailable"
    assert prog["message"] == 'ReplicaSet "web-new" has successfully progressed.'


def test_progress_deadline() -> None:
    d = deploy(
        3, status={"replicas": 4, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3}
    )
    d["spec"]["progressDeadlineSeconds"] = 60
    d["status"]["conditions"] = [
        progress.new_condition("Progressing", "True", "ReplicaSetUpdated", "m", NOW)
    ]
    stuck = [rs("old", 3), rs("web-new", 1, available=0)]
    st = progress.rollout_status(stuck, stuck[1], d, NOW + timedelta(seconds=30))
    assert progress.get_condition(st, "Progressing")["reason"] == "ReplicaSetUpdated"
    assert progress.stuck_requeue_after(d, st, NOW + timedelta(seconds=30)) == 30.0
    st = progress.rollout_status(stuck, stuck[1], d, NOW + timedelta(seconds=61))
    prog = progress.get_condition(st, "Progressing")
    assert (prog["status"], prog["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert prog["message"] == 'ReplicaSet "web-new" has timed out progressing.'
    d["status"]["conditions"] = [prog]
    assert progress.stuck_requeue_after(d, st, NOW + timedelta(seconds=90)) is None


def test_no_deadline_removes_progressing() -> None:
    d = deploy(1)
    d["spec"]["progressDeadlineSeconds"] = 2**31 - 1
    d["status"]["conditions"] = [progress.new_condition("Progressing", "True", "X", "m", NOW)]
    st = progress.rollout_status([rs("a", 1)], rs("a", 1), d, NOW)
    assert progress.get_condition(st, "Progressing") is None


def test_replica_failure_copied_from_replica_set() -> None:
    d = deploy(1)
    bad = rs("a", 1, available=0)
    bad["status"]["conditions"] = [
        {
            "type": "ReplicaFailure",
            "status": "True",
            "reason": "FailedCreate",
            "message": "quota",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
        }
    ]
    st = progress.rollout_status([bad], bad, d, NOW)
    fail = progress.get_condition(st, "ReplicaFailure")
    assert (fail["reason"], fail["message"]) == ("FailedCreate", "quota")


def test_statuses_equal_treats_missing_counts_as_zero() -> None:
    assert progress.statuses_equal({"replicas": 0}, {})
    assert not progress.statuses_equal({"replicas": 1}, {})
