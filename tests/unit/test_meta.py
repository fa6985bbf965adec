"""Metadata helpers: timestamps, uids, generated names, human durations, accessors."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pyk8s.machinery.meta import (
    NAME_ALPHABET,
    format_micro_time,
    format_time,
    generate_name,
    human_duration,
    is_being_deleted,
    is_controlled_by,
    key_of,
    labels_of,
    name_of,
    namespace_of,
    new_uid,
    now_rfc3339,
    owner_controller,
    parse_time,
    short_human_duration,
    split_key,
    translate_timestamp_since,
)

MINUTE, HOUR, DAY, YEAR = 60, 3600, 86400, 365 * 86400


def test_timestamps_are_rfc3339_utc_seconds() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", now_rfc3339())
    moment = datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(moment) == "2024-05-01T12:30:15Z"
    assert format_micro_time(moment) == "2024-05-01T12:30:15.123456Z"


@pytest.mark.parametrize(
    "text",
    ["2024-05-01T12:30:15Z", "2024-05-01T14:30:15+02:00", "2024-05-01T12:30:15.000000Z"],
)
def test_parse_time(text: str) -> None:
    assert parse_time(text) == datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)


def test_parse_time_requires_a_zone() -> None:
    with pytest.raises(ValueError):
        parse_time("2024-05-01T12:30:15")


def test_uid_and_generated_names() -> None:
    assert uuid.UUID(new_uid()).version == 4
    name = generate_name("web-")
    assert name.startswith("web-") and len(name) == 9
    assert all(c in NAME_ALPHABET for c in name[4:])
    long = generate_name("x" * 80)
    assert len(long) == 63 and long.startswith("x" * 58)
    assert len({generate_name("a-") for _ in range(50)}) > 40  # random, not fixed


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-3, "<invalid>"),
        (-2, "<invalid>"),
        (-1.5, "0s"),  # truncates to -1: clock skew tolerated
        (-1, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119.9, "119s"),
        (120, "2m"),
        (121, "2m1s"),
        (9 * MINUTE + 59, "9m59s"),
        (10 * MINUTE, "10m"),
        (10 * MINUTE + 59, "10m"),
        (179 * MINUTE + 59, "179m"),
        (3 * HOUR, "3h"),
        (3 * HOUR + 1 * MINUTE, "3h1m"),
        (7 * HOUR + 59 * MINUTE, "7h59m"),
        (8 * HOUR, "8h"),
        (8 * HOUR + 30 * MINUTE, "8h"),
        (47 * HOUR + 59 * MINUTE, "47h"),
        (48 * HOUR, "2d"),
        (49 * HOUR, "2d1h"),
        (7 * DAY + 23 * HOUR, "7d23h"),
        (8 * DAY, "8d"),
        (8 * DAY + 5 * HOUR, "8d"),
        (2 * YEAR - HOUR, "729d"),
        (2 * YEAR, "2y"),
        (2 * YEAR + DAY, "2y1d"),
        (8 * YEAR - DAY, "7y364d"),
        (8 * YEAR, "8y"),
        (9 * YEAR + 100 * DAY, "9y"),
    ],
)
def test_human_duration_boundaries(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-2, "<invalid>"),
        (-1, "0s"),
        (59, "59s"),
        (60, "1m"),
        (59 * MINUTE + 59, "59m"),
        (HOUR, "1h"),
        (23 * HOUR + 59 * MINUTE, "23h"),
        (DAY, "1d"),
        (364 * DAY, "364d"),
        (YEAR, "1y"),
        (3 * YEAR + 200 * DAY, "3y"),
    ],
)
def test_short_human_duration(seconds: float, expected: str) -> None:
    assert short_human_duration(seconds) == expected


def test_translate_timestamp_since() -> None:
    at = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert translate_timestamp_since("2024-05-01T11:55:00Z", at) == "5m"
    assert translate_timestamp_since("2024-04-29T11:00:00Z", at) == "2d1h"
    assert translate_timestamp_since(None, at) == "<unknown>"
    assert translate_timestamp_since("2024-05-01T12:00:10Z", at) == "<invalid>"


def test_accessors() -> None:
    rs_ref = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "rs",
        "uid": "u1",
        "controller": True,
    }
    pod = {
        "metadata": {
            "name": "p",
            "namespace": "ns",
            "labels": {"app": "web"},
            "ownerReferences": [{"kind": "Other", "uid": "u0"}, rs_ref],
        }
    }
    assert (name_of(pod), namespace_of(pod), labels_of(pod)) == ("p", "ns", {"app": "web"})
    assert key_of(pod) == "ns/p" and split_key("ns/p") == ("ns", "p")
    assert key_of({"metadata": {"name": "node-1"}}) == "node-1"
    assert split_key("node-1") == ("", "node-1")
    assert owner_controller(pod) is rs_ref
    assert is_controlled_by(pod, {"metadata": {"uid": "u1"}})
    assert not is_controlled_by(pod, {"metadata": {"uid": "u0"}})
    assert owner_controller({"metadata": {"ownerReferences": [{"controller": False}]}}) is None
    empty: dict = {}
    assert (name_of(empty), namespace_of(empty), labels_of(empty), owner_controller(empty)) == (
        "",
        "",
        {},
        None,
    )
    assert not is_being_deleted(pod)
    assert is_being_deleted({"metadata": {"deletionTimestamp": "2024-05-01T12:00:00Z"}})
