"""Pure helpers of the deployment controller: hash, fenceposts, annotations, revisions."""

from __future__ import annotations

import pytest

from pyk8s.controllers.deployment import util
from pyk8s.controllers.deployment.rollback import append_revision_history, set_new_rs_annotations


def _deploy(replicas: int = 3, surge="25%", unavailable="25%", **ann: str) -> dict:
    return {
        "metadata": {"name": "web", "annotations": dict(ann)},
        "spec": {
            "replicas": replicas,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}},
        },
    }


def test_safe_encode_maps_digits_onto_upstream_alphabet() -> None:
    # '0'..'9' are bytes 48..57: 48 % 27 = 21 -> '4', ... 57 % 27 = 3 -> 'f'
    assert util.safe_encode_string("0123456789") == "456789bcdf"


def test_fnv32a_known_vectors() -> None:
    assert util.fnv32a(b"") == 0x811C9DC5
    assert util.fnv32a(b"a") == 0xE40C292C
    assert util.fnv32a(b"foobar") == 0xBF9CF968


def test_compute_hash_shape_stability_and_collisions() -> None:
    t = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "n"}]}}
    h = util.compute_hash(t)
    assert h == util.compute_hash({"spec": t["spec"], "metadata": t["metadata"]})  # key order
    assert set(h) <= set("456789bcdf") and 1 <= len(h) <= 10
    assert util.compute_hash(t, 1) != h and util.compute_hash(t, 1) != util.compute_hash(t, 2)
    other = {**t, "spec": {"containers": [{"name": "m"}]}}
    assert util.compute_hash(other) != h


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expect"),
    [
        ("25%", "25%", 10, (3, 2)),  # surge rounds up, unavailable down
        ("25%", "25%", 3, (1, 0)),
        ("25%", "25%", 1, (1, 0)),
        (0, 0, 5, (0, 1)),  # both zero: one may be unavailable
        ("0%", "0%", 5, (0, 1)),
        (2, "50%", 5, (2, 2)),
        ("100%", 0, 4, (4, 0)),
    ],
)
def test_resolve_fenceposts(surge, unavailable, desired, expect) -> None:
    assert util.resolve_fenceposts(surge, unavailable, desired) == expect


def test_max_unavailable_capped_and_zero_for_recreate() -> None:
    assert util.max_unavailable(_deploy(2, 0, 5)) == 2
    assert util.max_unavailable(_deploy(0)) == 0
    recreate = _deploy(4)
    recreate["spec"]["strategy"] = {"type": "Recreate"}
    assert util.max_unavailable(recreate) == 0 and util.max_surge(recreate) == 0
    assert util.max_surge(_deploy(10)) == 3


def test_scaled_value_rejects_non_percent_strings() -> None:
    with pytest.raises(ValueError):
        util.scaled_value("3", 10, True)


def test_equal_ignore_hash_ignores_label_and_null_creation_timestamp() -> None:
    a = {"metadata": {"labels": {"app": "x", util.HASH_LABEL: "abc"}}, "spec": {"c": 1}}
    b = {"metadata": {"creationTimestamp": None, "labels": {"app": "x"}}, "spec": {"c": 1}}
    assert util.equal_ignore_hash(a, b)
    assert not util.equal_ignore_hash(a, {**b, "spec": {"c": 2}})
    assert not util.equal_ignore_hash(a, {"metadata": {"labels": {"app": "y"}}, "spec": {"c": 1}})
    assert a["metadata"]["labels"][util.HASH_LABEL] == "abc"  # inputs untouched


def test_copy_annotations_skips_internal_ones() -> None:
    d = _deploy(
        **{
            "kubernetes.io/change-cause": "kubectl set image ...",
            util.REVISION: "7",
            util.LAST_APPLIED: "{}",
            util.DESIRED_REPLICAS: "9",
            "team": "a",
        }
    )
    rs = {"metadata": {"annotations": {"team": "a"}}}
    assert util.copy_deployment_annotations(d, rs)
    assert rs["metadata"]["annotations"] == {
        "team": "a",
        "kubernetes.io/change-cause": "kubectl set image ...",
    }
    assert not util.copy_deployment_annotations(d, rs)  # nothing new the second time


def test_new_rs_annotations_on_create() -> None:
    d = _deploy(10, **{"kubernetes.io/change-cause": "why"})
    rs: dict = {"metadata": {}}
    assert set_new_rs_annotations(d, rs, "1", exists=False)
    assert rs["metadata"]["annotations"] == {
        "kubernetes.io/change-cause": "why",
        util.REVISION: "1",
        util.DESIRED_REPLICAS: "10",
        util.MAX_REPLICAS: "13",
    }


def test_rollback_moves_revision_and_records_history() -> None:
    """An old set brought back gets max+1 and remembers where it came from."""
    rs = {"metadata": {"annotations": {util.REVISION: "2"}}}
    assert set_new_rs_annotations(_deploy(), rs, "4", exists=True)
    ann = rs["metadata"]["annotations"]
    assert ann[util.REVISION] == "4" and ann[util.REVISION_HISTORY] == "2"
    assert set_new_rs_annotations(_deploy(), rs, "6", exists=True)
    assert ann[util.REVISION] == "6" and ann[util.REVISION_HISTORY] == "2,4"
    # Not higher: nothing moves; exists=True never touches the replicas annotations.
    assert not set_new_rs_annotations(_deploy(), rs, "5", exists=True)
    assert util.DESIRED_REPLICAS not in ann


def test_revision_history_is_capped() -> None:
    assert append_revision_history("", "3") == "3"
    assert append_revision_history("1,2", "3", limit=4) == "2,3"
    assert append_revision_history("1,2", "3", limit=100) == "1,2,3"


def test_revisions_and_orderings() -> None:
    def rs(name: str, rev: str | None, replicas: int, ts: str) -> dict:
        ann = {util.REVISION: rev} if rev else {}
        return {
            "metadata": {"name": name, "annotations": ann, "creationTimestamp": ts},
            "spec": {"replicas": replicas},
        }

    a, b, c = (
        rs("a", "3", 2, "2024-01-01T00:00:02Z"),
        rs("b", "x", 5, "2024-01-01T00:00:01Z"),
        rs("c", None, 2, "2024-01-01T00:00:03Z"),
    )
    assert util.max_revision([a, b, c, None]) == 3
    assert [util.revision(r) for r in (a, b, c)] == [3, 0, 0]
    assert [r["metadata"]["name"] for r in sorted([a, b, c], key=util.by_creation)] == [
        "b",
        "a",
        "c",
    ]
    assert [r["metadata"]["name"] for r in util.sort_by_size_newer([a, b, c])] == ["b", "c", "a"]
    assert [r["metadata"]["name"] for r in util.sort_by_size_older([a, b, c])] == ["b", "a", "c"]


def test_find_new_and_old_sets() -> None:
    d = _deploy()
    tmpl = d["spec"]["template"]
    same = {
        "metadata": {"uid": "1", "name": "s", "creationTimestamp": "2024-01-01T00:00:01Z"},
        "spec": {
            "replicas": 0,
            "template": {**tmpl, "metadata": {"labels": {"app": "web", util.HASH_LABEL: "h"}}},
        },
    }
    other = {
        "metadata": {"uid": "2", "name": "o", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "x"}]}}},
    }
    empty = {"metadata": {"uid": "3", "name": "e"}, "spec": {"replicas": 0, "template": {}}}
    assert util.find_new_rs(d, [other, same, empty]) is same
    active, all_old = util.find_old_rss(d, [other, same, empty])
    assert active == [other] and all_old == [other, empty]


def test_bounds_use_spec_and_status_conservatively() -> None:
    shrinking = {"spec": {"replicas": 8}, "status": {"replicas": 10, "availableReplicas": 10}}
    growing = {"spec": {"replicas": 3}, "status": {"replicas": 1, "availableReplicas": 0}}
    assert util.pods_upper_bound([shrinking, growing]) == 13
    assert util.available_lower_bound([shrinking, growing]) == 8
