"""Field selectors: parsing, escaping, matching and upstream's error texts."""

from __future__ import annotations

import pytest

from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.fields import (
    DEFAULT_FIELDS,
    check_supported,
    escape_value,
    object_fields,
    parse_field_selector,
    selector_from_set,
    unescape_value,
)


def parse_error(text: str) -> str:
    with pytest.raises(StatusError) as info:
        parse_field_selector(text)
    assert (info.value.code, info.value.reason) == (400, "BadRequest")
    return info.value.message


def test_requirements_normalise_double_equals_and_sort_terms() -> None:
    sel = parse_field_selector("status.phase==Running,metadata.name=x,spec.nodeName!=")
    assert sel.requirements() == [
        ("metadata.name", "=", "x"),
        ("spec.nodeName", "!=", ""),
        ("status.phase", "=", "Running"),
    ]
    assert str(sel) == "metadata.name=x,spec.nodeName!=,status.phase=Running"
    assert sel.fields() == {"metadata.name", "spec.nodeName", "status.phase"}


@pytest.mark.parametrize("text", ["", ",", ",,"])
def test_empty_selectors(text: str) -> None:
    sel = parse_field_selector(text)
    assert sel.empty() and sel.matches({}) and str(sel) == ""


def test_escaped_values() -> None:
    sel = parse_field_selector(r"metadata.name=a\,b\=c\\d")
    assert sel.requirements() == [("metadata.name", "=", "a,b=c\\d")]
    assert str(sel) == r"metadata.name=a\,b\=c\\d"  # printed escaped again
    assert sel.matches({"metadata.name": "a,b=c\\d"})


def test_escaped_comma_does_not_split_terms() -> None:
    sel = parse_field_selector(r"a=x\,b\=y,c=d")
    assert sel.requirements() == [("a", "=", "x,b=y"), ("c", "=", "d")]


def test_first_operator_splits_and_not_equals_wins() -> None:
    assert parse_field_selector("a!=b").requirements() == [("a", "!=", "b")]
    assert parse_field_selector("a==b").requirements() == [("a", "=", "b")]
    assert parse_field_selector("a=!b").requirements() == [("a", "=", "!b")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "invalid selector: 'abc'; can't understand 'abc'"),
        ("a=b,zzz", "invalid selector: 'a=b,zzz'; can't understand 'zzz'"),
        ("a=b=c", "invalid field selector: unescaped character in value: 61"),
        (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_bad_selectors(text: str, message: str) -> None:
    assert parse_error(text) == message


def test_matching_treats_missing_fields_as_empty() -> None:
    unscheduled = parse_field_selector("spec.nodeName=")
    scheduled = parse_field_selector("spec.nodeName!=")
    assert unscheduled.matches({}) and not scheduled.matches({})
    assert scheduled.matches({"spec.nodeName": "n1"})
    both = parse_field_selector("metadata.namespace!=kube-system,status.phase=Running")
    assert both.matches({"metadata.namespace": "default", "status.phase": "Running"})
    assert not both.matches({"metadata.namespace": "kube-system", "status.phase": "Running"})
    assert not both.matches({"metadata.namespace": "default", "status.phase": "Pending"})


def test_requires_exact_match() -> None:
    sel = parse_field_selector("spec.nodeName=n1,metadata.name!=x")
    assert sel.requires_exact_match("spec.nodeName") == "n1"
    assert sel.requires_exact_match("metadata.name") is None
    assert sel.requires_exact_match("status.phase") is None


def test_check_supported_kind_with_own_fields() -> None:
    pod_fields = DEFAULT_FIELDS | {"spec.nodeName", "status.phase"}
    check_supported(parse_field_selector("spec.nodeName=n1"), pod_fields, "pods")
    with pytest.raises(StatusError) as info:
        check_supported(parse_field_selector("spec.foo=bar"), pod_fields, "pods")
    assert (info.value.code, info.value.message) == (400, "field label not supported: spec.foo")


def test_check_supported_kind_with_default_fields_only() -> None:
    check_supported(parse_field_selector("metadata.name=x"), DEFAULT_FIELDS)
    with pytest.raises(StatusError) as info:
        check_supported(parse_field_selector("foo.bar=baz"), DEFAULT_FIELDS)
    assert info.value.message == (
        '"foo.bar" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )


def test_escape_round_trip() -> None:
    for raw in ["plain", "a,b", "a=b", "a\\b", ",=\\"]:
        assert unescape_value(escape_value(raw)) == raw


def test_object_fields_and_set_selector() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns"}}
    fields = object_fields(pod, {"spec.nodeName": "n1"})
    assert fields == {"metadata.name": "p", "metadata.namespace": "ns", "spec.nodeName": "n1"}
    assert selector_from_set({"metadata.name": "p"}).matches(fields)
    assert object_fields({})["metadata.namespace"] == ""
