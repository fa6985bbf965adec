"""The Table envelope, the registry, the default table and HumanDuration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pyk8s.api.printers import (
    Printer,
    column_definitions,
    has_printer,
    register,
    row_cells,
    to_table,
)
from pyk8s.api.printers.common import col, name_col
from pyk8s.api.resources import builtin_resources
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.meta import human_duration as _human_duration

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()

M, H, D = 60, 3600, 86400


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "<invalid>"),
        (-2, "<invalid>"),
        (-1.5, "0s"),
        (-0.2, "0s"),
        (0, "0s"),
        (3.9, "3s"),
        (119, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (9 * M + 59, "9m59s"),
        (10 * M + 30, "10m"),
        (3 * H - 1, "179m"),
        (3 * H, "3h"),
        (3 * H + 5 * M + 30, "3h5m"),
        (8 * H + 59 * M, "8h"),
        (47 * H, "47h"),
        (48 * H, "2d"),
        (2 * D + 5 * H, "2d5h"),
        (7 * D + 23 * H, "7d23h"),
        (8 * D + 5 * H, "8d"),
        (729 * D, "729d"),
        (730 * D, "2y"),
        (730 * D + 10 * D, "2y10d"),
        (8 * 365 * D + 40 * D, "8y"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    assert _human_duration(seconds) == expected


def test_age_is_unknown_without_creation_timestamp() -> None:
    assert row_cells("", "ConfigMap", {"metadata": {"name": "x"}}, NOW) == ["x", 0, "<unknown>"]


NODE = {
    "metadata": {
        "name": "w1-k8s",
        "uid": "u-1",
        "resourceVersion": "17",
        "labels": {"kubernetes.io/hostname": "w1-k8s"},
        "creationTimestamp": "2024-05-01T11:59:56Z",
    },
    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
}


def test_table_envelope_with_partial_object_metadata() -> None:
    table = to_table("", "Node", [NODE], NOW, resource_version="1283")
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "1283"}
    assert table["columnDefinitions"] == column_definitions("", "Node")
    (row,) = table["rows"]
    assert row["cells"][:5] == ["w1-k8s", "Ready", "<none>", "4s", ""]
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": NODE["metadata"],
    }
    assert row["object"]["metadata"] is NODE["metadata"]  # shared: tables are serialised at once
    assert "conditions" not in row


def test_include_object_variants() -> None:
    assert to_table("", "Node", [NODE], NOW, include_object="Object")["rows"][0]["object"] is NODE
    assert "object" not in to_table("", "Node", [NODE], NOW, include_object="None")["rows"][0]
    empty = to_table("", "Node", [NODE], NOW, include_object="")["rows"][0]
    assert empty["object"]["kind"] == "PartialObjectMetadata"


def test_invalid_include_object_is_a_bad_request() -> None:
    with pytest.raises(StatusError) as err:
        to_table("", "Node", [NODE], NOW, include_object="Everything")
    assert err.value.code == 400
    assert err.value.reason == "BadRequest"
    assert "includeObject" in err.value.message


def test_continue_token_no_columns_and_empty_list() -> None:
    table = to_table(
        "apps",
        "Deployment",
        [],
        NOW,
        resource_version="9",
        continue_token="abc",
        with_columns=False,
    )
    assert table["metadata"] == {"resourceVersion": "9", "continue": "abc"}
    assert table["columnDefinitions"] == []
    assert table["rows"] == []
    assert to_table("apps", "Deployment", [], NOW)["metadata"] == {}


def test_rows_keep_input_order() -> None:
    objs = [{"metadata": {"name": n}} for n in ("b", "a", "c")]
    rows = to_table("", "ConfigMap", objs, NOW)["rows"]
    assert [r["cells"][0] for r in rows] == ["b", "a", "c"]


def test_unknown_kind_gets_default_table() -> None:
    cr = {"metadata": {"name": "my-crontab", "creationTimestamp": "2024-04-30T01:02:03Z"}}
    table = to_table("stable.example.com", "CronTab", [cr], NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Created At"]
    assert table["rows"][0]["cells"] == ["my-crontab", "2024-04-30T01:02:03Z"]
    assert not has_printer("stable.example.com", "CronTab")
    # Go formats the zero time for an object that has none.
    assert row_cells("x", "Y", {"metadata": {"name": "z"}}, NOW)[1] == "0001-01-01T00:00:00Z"


def test_register_a_printer() -> None:
    printer = Printer(
        (name_col(), col("Spec", "string", "cron spec")),
        lambda obj, now: [obj["metadata"]["name"], obj["spec"]["cronSpec"]],
    )
    register("registered.example.com", "CronTab", printer)
    obj = {"metadata": {"name": "c"}, "spec": {"cronSpec": "* * * * */5"}}
    assert has_printer("registered.example.com", "CronTab")
    assert row_cells("registered.example.com", "CronTab", obj, NOW) == ["c", "* * * * */5"]


TABLE_KINDS = [
    (r.group, r.kind) for r in builtin_resources() if "list" in r.verbs and r.kind != "Binding"
]


@pytest.mark.parametrize(("group", "kind"), TABLE_KINDS, ids=[f"{g}/{k}" for g, k in TABLE_KINDS])
def test_every_listable_kind_prints_one_cell_per_column(group: str, kind: str) -> None:
    cols = column_definitions(group, kind)
    obj = {"metadata": {"name": "n", "creationTimestamp": "2024-05-01T11:00:00Z"}}
    cells = row_cells(group, kind, obj, NOW)
    assert len(cells) == len(cols)
    name_cols = [c for c in cols if c["name"] == "Name"]
    assert len(name_cols) == 1 and name_cols[0]["format"] == "name"
    assert cells[cols.index(name_cols[0])] == "n"
    for c in cols:
        assert set(c) == {"name", "type", "format", "description", "priority"}
        assert c["priority"] in (0, 1)
        assert c["description"]
    # Wide columns always come after the default ones, except Event's interleaved ones.
    if kind != "Event":
        priorities = [c["priority"] for c in cols]
        assert priorities == sorted(priorities)


def test_every_builtin_kind_but_limitrange_has_its_own_printer() -> None:
    missing = [k for g, k in TABLE_KINDS if not has_printer(g, k)]
    assert missing == ["LimitRange"]


@pytest.mark.parametrize(
    ("group", "kind", "wide_columns"),
    [
        ("", "Pod", ["IP", "Node", "Nominated Node", "Readiness Gates"]),
        (
            "",
            "Node",
            ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"],
        ),
        ("", "Service", ["Selector"]),
        ("", "ReplicationController", ["Containers", "Images", "Selector"]),
        ("apps", "Deployment", ["Containers", "Images", "Selector"]),
        ("apps", "ReplicaSet", ["Containers", "Images", "Selector"]),
        ("apps", "DaemonSet", ["Containers", "Images", "Selector"]),
        ("batch", "Job", ["Containers", "Images", "Selector"]),
        ("batch", "CronJob", ["Containers", "Images", "Selector"]),
        ("", "Event", ["Subobject", "Source", "First Seen", "Count", "Name"]),
        ("", "ConfigMap", []),
    ],
)
def test_wide_columns_have_priority_one(group: str, kind: str, wide_columns: list[str]) -> None:
    cols = column_definitions(group, kind)
    assert [c["name"] for c in cols if c["priority"] == 1] == wide_columns


def test_column_definitions_are_copies() -> None:
    column_definitions("", "Pod")[0]["name"] = "changed"
    assert column_definitions("", "Pod")[0]["name"] == "Name"
