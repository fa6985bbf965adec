"""RFC 7386 JSON merge patch and kube-apiserver's guards around it."""

import copy

import pytest

from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.patch import apply_merge_patch, merge_patch


# RFC 7386 appendix A, every example.
@pytest.mark.parametrize(
    ("doc", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_rfc7386_examples(doc, patch, expected):
    doc_before, patch_before = copy.deepcopy(doc), copy.deepcopy(patch)
    assert merge_patch(doc, patch) == expected
    assert doc == doc_before and patch == patch_before


def test_nulls_inside_added_arrays_of_objects_are_pruned_but_null_elements_kept():
    patch = {"l": [{"a": None, "b": 1}, None]}
    assert merge_patch({}, patch) == {"l": [{"b": 1}, None]}


def test_lists_are_replaced_whole():
    doc = {"metadata": {"finalizers": ["a", "b"]}}
    assert apply_merge_patch(doc, {"metadata": {"finalizers": ["c"]}}) == {
        "metadata": {"finalizers": ["c"]}
    }


def test_label_and_annotation_updates():
    doc = {"metadata": {"name": "p", "labels": {"app": "x", "tier": "web"}}}
    patch = {"metadata": {"labels": {"tier": None, "env": "prod"}, "annotations": {"a": "1"}}}
    assert apply_merge_patch(doc, patch) == {
        "metadata": {"name": "p", "labels": {"app": "x", "env": "prod"}, "annotations": {"a": "1"}}
    }


def test_result_shares_nothing_with_inputs():
    doc = {"spec": {"a": {"b": 1}}}
    patch = {"spec": {"c": {"d": [1]}}}
    result = apply_merge_patch(doc, patch)
    result["spec"]["a"]["b"] = 2
    result["spec"]["c"]["d"].append(2)
    assert doc == {"spec": {"a": {"b": 1}}}
    assert patch == {"spec": {"c": {"d": [1]}}}


@pytest.mark.parametrize("patch", [None, "x", 3, True])
def test_api_server_rejects_non_object_bodies_as_upstream(patch):
    with pytest.raises(StatusError) as info:
        apply_merge_patch({"a": 1}, patch)
    assert (info.value.code, info.value.reason, info.value.message) == (
        400,
        "BadRequest",
        "Invalid JSON Patch",
    )


def test_api_server_rejects_an_array_body_as_an_invalid_object():
    with pytest.raises(StatusError) as info:
        apply_merge_patch({"a": 1}, [1])
    err = info.value
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message.startswith(' "" is invalid: patch: Invalid value: "[1]"')
