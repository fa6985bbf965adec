"""Label selectors: parsing, canonical strings, matching and upstream's error texts."""

from __future__ import annotations

import pytest

from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.labels import (
    Requirement,
    everything,
    nothing,
    parse_selector,
    selector_from_set,
    validate_annotations,
    validate_labels,
)
from pyk8s.machinery.labelselector import selector_from_label_selector, validate_label_selector

NAME_PART = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def parse_error(text: str) -> StatusError:
    with pytest.raises(StatusError) as info:
        parse_selector(text)
    assert info.value.code == 400 and info.value.reason == "BadRequest"
    return info.value


# ---------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text",
    ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"],
)
def test_upstream_good_strings_round_trip_without_spaces(text: str) -> None:
    assert str(parse_selector(text)) == text.replace(" ", "")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("z=1,a=2", "a=2,z=1"),  # sorted by key
        ("x==a", "x==a"),  # == is kept distinct from =
        ("env in (prod, dev),tier notin (b,a)", "env in (dev,prod),tier notin (a,b)"),
        ("x in (b,a,b)", "x in (a,b)"),  # values are a set
        ("x in ()", "x in ()"),
        ("x in (a,,b)", "x in (,a,b)"),  # empty items are the empty value
        ("  app  ,  !canary ", "app,!canary"),
        ("a in (in),in notin (notin)", "a in (in),in notin (notin)"),  # keywords as words
        ("example.com/app=web", "example.com/app=web"),
    ],
)
def test_canonical_form(text: str, canonical: str) -> None:
    assert str(parse_selector(text)) == canonical


def test_deterministic_regardless_of_order() -> None:
    assert str(parse_selector("x=a,a=x")) == str(parse_selector("a=x,x=a")) == "a=x,x=a"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x==a==b", "found '==', expected: ',' or 'end of string'"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("x,", "found '', expected: identifier after ','"),
        (",x", "found ',', expected: !, identifier, or 'end of string'"),
        ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
        ("x in", "unable to parse requirement: found '' expected: '('"),
        ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("x=(", "unable to parse requirement: found '(', expected: identifier"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        (
            "x gt 1",
            "unable to parse requirement: found 'gt', expected: in, notin, =, ==, !=, gt, lt",
        ),
        (
            "x<a",
            'unable to parse requirement: values[0]: Invalid value: "a": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        (
            "app:monolith",
            f'unable to parse requirement: <nil>: Invalid value: "app:monolith": {NAME_PART}',
        ),
        (
            "app=a$b",
            f'unable to parse requirement: values[0][app]: Invalid value: "a$b": {LABEL_VALUE}',
        ),
        (
            "x=a||y=b",
            f'unable to parse requirement: values[0][x]: Invalid value: "a||y": {LABEL_VALUE}',
        ),
    ],
)
def test_bad_strings_give_upstream_messages(text: str, message: str) -> None:
    assert parse_error(text).message == message


def test_bad_prefix_and_too_many_slashes() -> None:
    msg = parse_error("app.kubernetes_io/name=x").message
    assert msg.startswith(
        'unable to parse requirement: <nil>: Invalid value: "app.kubernetes_io/name": '
        "prefix part a lowercase RFC 1123 subdomain must consist of"
    )
    msg = parse_error("a/b/c=d").message
    assert msg.endswith("with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
    assert "a qualified name must consist of" in msg


def test_key_and_value_length_limits() -> None:
    assert parse_selector("k" * 63 + "=" + "v" * 63)
    assert "name part must be no more than 63 characters" in parse_error("k" * 64).message
    long_value = parse_error("k=" + "v" * 64).message
    assert "must be no more than 63 characters" in long_value


# --------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("x=y", {"x": "y"}, True),
        ("x=y", {"x": "z"}, False),
        ("x=y", {}, False),
        ("x!=y", {}, True),  # != and notin match a missing key
        ("x notin (a,b)", {"x": "c"}, True),
        ("x notin (a,b)", {"x": "a"}, False),
        ("x in (a,b)", {"x": "b"}, True),
        ("x in (a,b)", {"y": "b"}, False),
        ("x", {"x": ""}, True),
        ("!x", {"x": ""}, False),
        ("!x", {"y": "1"}, True),
        ("x=", {"x": ""}, True),
        ("x>1", {"x": "2"}, True),
        ("x>1", {"x": "1"}, False),
        ("x<1", {"x": "-5"}, True),
        ("x>1", {"x": "abc"}, False),
        ("x>1", {}, False),
        ("x=a,y=b", {"x": "a", "y": "b", "z": "c"}, True),
        ("x=a,y=b", {"x": "a"}, False),
        ("", {"anything": "x"}, True),
    ],
)
def test_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(text).matches(labels) is expected


def test_matches_none_labels_as_empty() -> None:
    assert parse_selector("!x").matches(None)
    assert not parse_selector("x").matches(None)


def test_empty_everything_nothing() -> None:
    assert parse_selector("").empty() and everything().empty()
    assert everything().matches({"a": "b"})
    assert not nothing().empty()
    assert not nothing().matches({}) and str(nothing()) == ""
    assert not parse_selector("a=b").empty()


def test_exact_match_requirements_for_indexes() -> None:
    sel = parse_selector("app=web,tier in (fe),env in (a,b),x!=y,z==q")
    assert sel.exact() == {"app": "web", "tier": "fe", "z": "q"}
    assert sel.requires_exact_match("app") == "web"
    assert sel.requires_exact_match("env") is None
    assert sel.requires_exact_match("missing") is None


def test_selector_from_set_and_add() -> None:
    sel = selector_from_set({"b": "2", "a": "1"})
    assert str(sel) == "a=1,b=2"
    sel = sel.add(Requirement.new("c", "exists"))
    assert str(sel) == "a=1,b=2,c"
    assert selector_from_set(None).empty()


# ----------------------------------------------------------- metav1.LabelSelector


def test_label_selector_none_matches_nothing_and_empty_matches_everything() -> None:
    assert not selector_from_label_selector(None).matches({"a": "b"})
    assert selector_from_label_selector({}).matches({"a": "b"})
    assert selector_from_label_selector({"matchLabels": {}, "matchExpressions": []}).empty()


def test_label_selector_combines_labels_and_expressions() -> None:
    sel = selector_from_label_selector(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "team", "operator": "Exists"},
            ],
        }
    )
    assert str(sel) == "app=web,!canary,env notin (dev),team,tier in (be,fe)"
    assert sel.matches({"app": "web", "tier": "fe", "team": "x"})
    assert not sel.matches({"app": "web", "tier": "fe", "team": "x", "canary": "1"})
    assert not sel.matches({"app": "web", "tier": "fe", "team": "x", "env": "dev"})
    assert sel.exact() == {"app": "web"}


def test_label_selector_conversion_errors() -> None:
    with pytest.raises(StatusError) as info:
        selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "Foo"}]})
    assert info.value.code == 400
    assert info.value.message == '"Foo" is not a valid label selector operator'
    with pytest.raises(StatusError) as info:
        selector_from_label_selector({"matchExpressions": [{"key": "a", "operator": "In"}]})
    assert info.value.message == (
        "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
    )
    with pytest.raises(StatusError) as info:
        selector_from_label_selector({"matchLabels": {"bad key": "v"}})
    assert info.value.message == f'key: Invalid value: "bad key": {NAME_PART}'


def test_validate_label_selector_causes() -> None:
    causes = validate_label_selector(
        {
            "matchLabels": {"ok": "bad value"},
            "matchExpressions": [
                {"key": "a", "operator": "In", "values": []},
                {"key": "b", "operator": "Exists", "values": ["x"]},
                {"key": "c", "operator": "Between"},
            ],
        },
        "spec.selector",
    )
    rendered = [f"{c['field']}: {c['message']}" for c in causes]
    assert rendered == [
        f'spec.selector.matchLabels: Invalid value: "bad value": {LABEL_VALUE}',
        "spec.selector.matchExpressions[0].values: Required value: must be specified when "
        "`operator` is 'In' or 'NotIn'",
        "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when "
        "`operator` is 'Exists' or 'DoesNotExist'",
        'spec.selector.matchExpressions[2].operator: Invalid value: "Between": '
        "not a valid selector operator",
    ]
    assert [c["reason"] for c in causes] == [
        "FieldValueInvalid",
        "FieldValueRequired",
        "FieldValueForbidden",
        "FieldValueInvalid",
    ]
    assert validate_label_selector(None, "spec.selector") == []


# ---------------------------------------------------------- labels/annotations


def test_validate_labels_messages() -> None:
    causes = validate_labels({"Bad Key": "ok", "good": "-bad-"}, "metadata.labels")
    assert [(c["field"], c["message"]) for c in causes] == [
        ("metadata.labels", f'Invalid value: "Bad Key": {NAME_PART}'),
        ("metadata.labels", f'Invalid value: "-bad-": {LABEL_VALUE}'),
    ]
    assert validate_labels({"example.com/app": "web", "x": ""}, "metadata.labels") == []


def test_validate_annotations_keys_are_case_insensitive_and_size_is_limited() -> None:
    assert (
        validate_annotations({"Example.COM/Key": "any value at all"}, "metadata.annotations") == []
    )
    bad = validate_annotations({"a b": "x"}, "metadata.annotations")
    assert bad[0]["message"] == f'Invalid value: "a b": {NAME_PART}'
    big = {"k": "x" * (256 * 1024 - 1)}  # key + value is exactly the limit
    assert validate_annotations(big, "metadata.annotations") == []
    big["k"] += "x"
    (cause,) = validate_annotations(big, "metadata.annotations")
    assert cause["reason"] == "FieldValueTooLong"
    assert cause["message"] == "Too long: must have at most 262144 bytes"
