"""ReplicaSet controller logic without a server: status, slow start, expectations,
pods from templates, and claiming (adopt / release) against a fake PodControl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pyk8s.controllers.podcontrol import (
    claim_pods,
    controller_ref,
    controller_uid_index,
    pod_from_template,
    pods_prefix,
)
from pyk8s.controllers.replicaset import (
    REPLICA_FAILURE,
    PodExpectations,
    calculate_status,
    slow_start_batch,
)
from pyk8s.machinery import meta
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.labels import selector_from_set

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def rs(replicas: int = 3, min_ready: int = 0, status: dict[str, Any] | None = None) -> dict:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {}},
    }
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default", "uid": "rs-uid", "generation": 2},
        "spec": spec,
        "status": status or {"replicas": 0},
    }


def pod(name: str, labels: dict[str, str], ready_for: float | None = None) -> dict:
    status: dict[str, Any] = {"phase": "Running"}
    if ready_for is not None:
        since = meta.format_time(NOW - timedelta(seconds=ready_for))
        status["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": since}]
    return {
        "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}", "labels": labels},
        "spec": {},
        "status": status,
    }


FULL = {"app": "web", "tier": "fe"}
PARTIAL = {"app": "web"}


# --------------------------------------------------------------------- status


def test_status_counts_labeled_ready_and_available() -> None:
    pods = [
        pod("a", FULL, ready_for=60),
        pod("b", FULL, ready_for=2),
        pod("c", PARTIAL),
    ]
    status = calculate_status(rs(3, min_ready=10), pods, None, NOW)
    assert status == {
        "replicas": 3,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 1,
    }


def test_status_omits_zero_counts_as_upstream_json() -> None:
    before = {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "observedGeneration": 1}
    status = calculate_status(rs(0, status=before), [], None, NOW)
    assert status == {"replicas": 0, "observedGeneration": 1}


def test_failed_create_sets_replica_failure_once() -> None:
    err = StatusError(403, "Forbidden", 'pods "web-" is forbidden: exceeded quota: q')
    status = calculate_status(rs(3), [pod("a", FULL)], err, NOW)
    (cond,) = status["conditions"]
    assert cond == {
        "type": REPLICA_FAILURE,
        "status": "True",
        "lastTransitionTime": "2024-05-01T12:00:00Z",
        "reason": "FailedCreate",
        "message": 'pods "web-" is forbidden: exceeded quota: q',
    }
    # Still failing later: the condition (and its transition time) stays as it was.
    again = calculate_status(rs(3, status=status), [pod("a", FULL)], err, NOW + timedelta(1))
    assert again["conditions"] == [cond]
    # Success clears it.
    healed = calculate_status(rs(3, status=status), [pod("a", FULL)] * 3, None, NOW)
    assert "conditions" not in healed


def test_failed_delete_reason() -> None:
    status = calculate_status(rs(1), [pod("a", FULL), pod("b", FULL)], RuntimeError("x"), NOW)
    assert status["conditions"][0]["reason"] == "FailedDelete"
    assert status["conditions"][0]["message"] == "x"


# ----------------------------------------------------------------- slow start


async def test_slow_start_batches_double() -> None:
    calls: list[int] = []

    async def ok() -> None:
        calls.append(1)

    assert await slow_start_batch(10, 1, ok) == (10, None)
    assert len(calls) == 10


async def test_slow_start_stops_after_the_failing_batch() -> None:
    calls = 0

    async def fail_from_fourth() -> None:
        nonlocal calls
        calls += 1
        if calls >= 4:
            raise RuntimeError("quota")

    successes, err = await slow_start_batch(50, 1, fail_from_fourth)
    # Batches 1, 2, 4: the third batch fails (calls 4..7), nothing after it.
    assert calls == 7
    assert successes == 3
    assert str(err) == "quota"


async def test_slow_start_of_nothing() -> None:
    async def boom() -> None:
        raise AssertionError("not called")

    assert await slow_start_batch(0, 1, boom) == (0, None)


# --------------------------------------------------------------- expectations


def test_creations_must_all_be_observed() -> None:
    exp = PodExpectations()
    exp.expect_creations("ns/rs", 2)
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs")


def test_a_deletion_counts_once_per_pod() -> None:
    exp = PodExpectations()
    exp.expect_deletions("ns/rs", ["ns/a", "ns/b"])
    exp.deletion_observed("ns/rs", "ns/a")  # deletionTimestamp set
    exp.deletion_observed("ns/rs", "ns/a")  # then actually gone: no double count
    exp.deletion_observed("ns/rs", "ns/other")  # not one we deleted
    assert not exp.satisfied("ns/rs")
    exp.deletion_observed("ns/rs", "ns/b")
    assert exp.satisfied("ns/rs")


def test_unknown_key_is_satisfied_and_delete_resets() -> None:
    exp = PodExpectations()
    assert exp.satisfied("ns/x")
    exp.expect_creations("ns/x", 5)
    exp.delete("ns/x")
    assert exp.satisfied("ns/x")


# -------------------------------------------------------- pods from templates


def test_pod_from_template_carries_labels_annotations_and_owner() -> None:
    owner = rs()
    owner["spec"]["template"]["metadata"]["annotations"] = {"note": "x"}
    ref = controller_ref(owner)
    made = pod_from_template(owner["spec"]["template"], owner, ref)
    assert made["metadata"] == {
        "generateName": "web-",
        "labels": {"app": "web", "tier": "fe"},
        "annotations": {"note": "x"},
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web",
                "uid": "rs-uid",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    # A copy: changing the pod leaves the template alone.
    made["metadata"]["labels"]["app"] = "other"
    assert owner["spec"]["template"]["metadata"]["labels"]["app"] == "web"


def test_pods_prefix() -> None:
    assert pods_prefix("web") == "web-"


def test_index_files_orphans_per_namespace() -> None:
    orphan = pod("a", FULL)
    assert controller_uid_index(orphan) == ["default/_ORPHAN_POD"]
    owned = pod("b", FULL)
    owned["metadata"]["ownerReferences"] = [controller_ref(rs())]
    assert controller_uid_index(owned) == ["rs-uid"]


# ------------------------------------------------------------------- claiming


class FakeControl:
    def __init__(self) -> None:
        self.adopted: list[str] = []
        self.released: list[str] = []

    async def adopt_pod(self, pod: dict, ref: dict) -> dict:
        self.adopted.append(meta.name_of(pod))
        return pod

    async def release_pod(self, pod: dict, owner_uid: str) -> None:
        self.released.append(meta.name_of(pod))


async def _allowed() -> None:
    return None


def owned(name: str, labels: dict[str, str], uid: str = "rs-uid") -> dict:
    p = pod(name, labels)
    p["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": uid, "controller": True}
    ]
    return p


async def test_claim_adopts_orphans_releases_mismatches_ignores_others() -> None:
    control = FakeControl()
    owner = rs()
    pods = [
        owned("mine", FULL),
        owned("drifted", {"app": "db"}),
        owned("theirs", FULL, uid="other"),
        pod("orphan", PARTIAL),
        pod("stranger", {"app": "db"}),
    ]
    selector = selector_from_set({"app": "web"})
    claimed = await claim_pods(control, owner, controller_ref(owner), selector, pods, _allowed)  # type: ignore[arg-type]
    assert [meta.name_of(p) for p in claimed] == ["mine", "orphan"]
    assert control.adopted == ["orphan"]
    assert control.released == ["drifted"]


async def test_claim_does_nothing_while_owner_is_deleted() -> None:
    control = FakeControl()
    owner = rs()
    owner["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    pods = [owned("mine", FULL), owned("drifted", {"app": "db"}), pod("orphan", FULL)]
    selector = selector_from_set({"app": "web"})
    claimed = await claim_pods(control, owner, controller_ref(owner), selector, pods, _allowed)  # type: ignore[arg-type]
    assert [meta.name_of(p) for p in claimed] == ["mine"]
    assert control.adopted == [] and control.released == []


async def test_claim_reports_a_refused_adoption() -> None:
    control = FakeControl()
    owner = rs()

    async def refused() -> None:
        raise RuntimeError("ReplicaSet default/web has just been deleted at T")

    selector = selector_from_set({"app": "web"})
    with pytest.raises(RuntimeError, match="can't adopt Pod default/orphan .*just been deleted"):
        await claim_pods(
            control, owner, controller_ref(owner), selector, [pod("orphan", FULL)], refused
        )  # type: ignore[arg-type]
    assert control.adopted == []
