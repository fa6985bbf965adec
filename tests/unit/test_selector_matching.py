"""Selector.matches with equality terms (looked up directly) mixed with other operators."""

from __future__ import annotations

import pytest

from pyk8s.machinery.labels import parse_selector
from pyk8s.machinery.labelselector import selector_from_label_selector


@pytest.mark.parametrize(
    ("text", "labels", "want"),
    [
        ("app=web", {"app": "web"}, True),
        ("app=web", {"app": "db"}, False),
        ("app=web", {}, False),
        ("app==web,tier in (front)", {"app": "web", "tier": "front"}, True),
        ("app==web,tier in (front)", {"app": "web", "tier": "back"}, False),
        ("app=web,tier in (front,back)", {"app": "web", "tier": "back"}, True),
        ("app=web,tier notin (back)", {"app": "web"}, True),
        ("app=web,tier notin (back)", {"app": "web", "tier": "back"}, False),
        ("app=web,!canary", {"app": "web", "canary": "1"}, False),
        ("app=web,!canary", {"app": "web"}, True),
        ("app=web,replicas>2", {"app": "web", "replicas": "3"}, True),
        ("app=web,replicas>2", {"app": "web", "replicas": "1"}, False),
        ("app,tier!=back", {"app": "", "tier": "front"}, True),
        ("app=", {"app": ""}, True),
        ("app=", {}, False),
    ],
)
def test_matches(text: str, labels: dict[str, str], want: bool) -> None:
    assert parse_selector(text).matches(labels) is want


def test_match_labels_and_expressions_together() -> None:
    sel = selector_from_label_selector(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}],
        }
    )
    assert sel.matches({"app": "web", "tier": "front"})
    assert not sel.matches({"app": "web", "tier": "db"})
    assert not sel.matches({"tier": "front"})
    assert not sel.matches(None)


def test_nothing_and_everything() -> None:
    assert not selector_from_label_selector(None).matches({"a": "b"})
    assert selector_from_label_selector({}).matches(None)
