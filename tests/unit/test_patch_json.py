"""RFC 6902 JSON patch, with kube-apiserver's (evanphx/json-patch v4) behaviour and errors."""

import copy

import pytest

from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.patch import MAX_OPERATIONS, apply_json_patch


def apply(doc, patch):
    """Apply, and check that neither argument was changed."""
    doc_before, patch_before = copy.deepcopy(doc), copy.deepcopy(patch)
    result = apply_json_patch(doc, patch)
    assert doc == doc_before and patch == patch_before
    return result


def failure(doc, patch) -> StatusError:
    with pytest.raises(StatusError) as info:
        apply_json_patch(doc, patch)
    return info.value


def cause(doc, patch) -> str:
    """The library error text of a 422, checking the Status shape upstream produces."""
    err = failure(doc, patch)
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == "the server rejected our request due to an error in our request"
    [only] = err.details["causes"]
    assert only["reason"] == "UnexpectedServerResponse"
    return only["message"]


# --- RFC 6902 appendix A examples ------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "patch", "expected"),
    [
        # A.1 adding an object member
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux"}],
            {"foo": "bar", "baz": "qux"},
        ),
        # A.2 adding an array element
        (
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
        ),
        # A.3 removing an object member
        ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
        # A.4 removing an array element
        (
            {"foo": ["bar", "qux", "baz"]},
            [{"op": "remove", "path": "/foo/1"}],
            {"foo": ["bar", "baz"]},
        ),
        # A.5 replacing a value
        (
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
        ),
        # A.6 moving a value
        (
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
        ),
        # A.7 moving an array element
        (
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
        ),
        # A.8 testing a value: success
        (
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2},
            ],
            {"baz": "qux", "foo": ["a", 2, "c"]},
        ),
        # A.10 adding a nested member object
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
        ),
        # A.11 ignoring unrecognized members of an operation
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
            {"foo": "bar", "baz": "qux"},
        ),
        # A.14 ~ escape ordering
        (
            {"/": 9, "~1": 10},
            [{"op": "test", "path": "/~01", "value": 10}],
            {"/": 9, "~1": 10},
        ),
        # A.16 adding an array value
        (
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
        ),
    ],
)
def test_rfc6902_examples(doc, patch, expected):
    assert apply(doc, patch) == expected


def test_a9_failed_test_is_422_with_the_library_text():
    doc = {"baz": "qux", "foo": ["a", 2, "c"]}
    patch = [{"op": "test", "path": "/baz", "value": "bar"}]
    assert cause(doc, patch) == "testing value /baz failed: test failed"


def test_a12_adding_to_a_nonexistent_target():
    patch = [{"op": "add", "path": "/baz/bat", "value": "qux"}]
    assert cause({"foo": "bar"}, patch) == (
        'add operation does not apply: doc is missing path: "/baz/bat": missing value'
    )


def test_a15_comparing_strings_and_numbers():
    doc = {"/": 9, "~1": 10}
    assert cause(doc, [{"op": "test", "path": "/~01", "value": "10"}]) == (
        "testing value /~01 failed: test failed"
    )


def test_pointer_escapes_both_ways():
    doc = {"a/b": {"m~n": 1}}
    assert apply(doc, [{"op": "replace", "path": "/a~1b/m~0n", "value": 2}]) == {"a/b": {"m~n": 2}}


def test_test_compares_json_values_structurally():
    doc = {"o": {"a": [1, {"b": None}]}, "t": True, "n": 1}
    ok = [
        {"op": "test", "path": "/o", "value": {"a": [1, {"b": None}]}},
        {"op": "test", "path": "/n", "value": 1.0},
        {"op": "test", "path": "/missing", "value": None},
        {"op": "test", "path": "", "value": doc},
    ]
    assert apply(doc, ok) == doc
    assert "failed" in cause(doc, [{"op": "test", "path": "/t", "value": 1}])
    assert "failed" in cause(doc, [{"op": "test", "path": "/o", "value": {"a": [1, {}], "x": 1}}])


def test_copy_makes_an_independent_value():
    doc = {"a": {"b": [1]}}
    patch = [
        {"op": "copy", "from": "/a", "path": "/c"},
        {"op": "add", "path": "/c/b/-", "value": 2},
    ]
    assert apply(doc, patch) == {"a": {"b": [1]}, "c": {"b": [1, 2]}}


def test_later_operations_do_not_write_through_to_the_patch_values():
    patch = [
        {"op": "add", "path": "/x", "value": {"k": []}},
        {"op": "add", "path": "/x/k/-", "value": 1},
    ]
    assert apply({}, patch) == {"x": {"k": [1]}}  # apply() checks the patch is unchanged


def test_result_is_independent_of_the_input():
    doc = {"metadata": {"labels": {"a": "1"}}, "spec": {"x": 1}}
    result = apply(doc, [{"op": "replace", "path": "/spec/x", "value": 2}])
    result["metadata"]["labels"]["b"] = "2"
    assert doc["metadata"]["labels"] == {"a": "1"}


# --- kube-apiserver / evanphx behaviours -----------------------------------------------


def test_rollout_undo_replaces_whole_subtrees():
    """kubectl rollout undo sends two replace ops on /spec/template and /metadata/annotations."""
    doc = {
        "metadata": {"name": "d", "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {
            "replicas": 3,
            "template": {
                "metadata": {"labels": {"app": "x", "pod-template-hash": "b"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.16.0"}]},
            },
        },
    }
    old_template = {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]},
    }
    annotations = {"deployment.kubernetes.io/revision": "1"}
    patch = [
        {"op": "replace", "path": "/spec/template", "value": old_template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]
    result = apply(doc, patch)
    assert result["spec"]["template"] == old_template
    assert result["spec"]["template"] is not old_template
    assert result["metadata"] == {"name": "d", "annotations": annotations}
    assert result["spec"]["replicas"] == 3


def test_negative_indices_count_from_the_end():
    doc = {"l": [1, 2, 3]}
    assert apply(doc, [{"op": "remove", "path": "/l/-1"}]) == {"l": [1, 2]}
    assert apply(doc, [{"op": "replace", "path": "/l/-3", "value": 0}]) == {"l": [0, 2, 3]}
    assert apply(doc, [{"op": "add", "path": "/l/-1", "value": 9}]) == {"l": [1, 2, 3, 9]}
    assert cause(doc, [{"op": "remove", "path": "/l/-4"}]) == (
        "error in remove for path: '/l/-4': Unable to access invalid index: -4: "
        "invalid index referenced"
    )


def test_replace_of_a_missing_member_adds_it():
    assert apply({"a": 1}, [{"op": "replace", "path": "/b", "value": 2}]) == {"a": 1, "b": 2}


def test_replace_root():
    assert apply({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}]) == {"b": 2}
    assert cause({"a": 1}, [{"op": "replace", "path": "", "value": 3}]) == (
        "replace operation value must be object or array: %!w(<nil>)"
    )


def test_add_without_value_adds_null():
    assert apply({}, [{"op": "add", "path": "/a"}]) == {"a": None}


def test_empty_and_null_patches_change_nothing():
    doc = {"a": 1}
    assert apply(doc, []) == doc
    assert apply(doc, None) == doc


@pytest.mark.parametrize(
    ("doc", "patch", "message"),
    [
        (
            {"a": 1},
            [{"op": "remove", "path": "/b"}],
            "error in remove for path: '/b': Unable to remove nonexistent key: b: missing value",
        ),
        (
            {"a": 1},
            [{"op": "remove", "path": "/x/y"}],
            'remove operation does not apply: doc is missing path: "/x/y": missing value',
        ),
        (
            {"l": [1]},
            [{"op": "replace", "path": "/l/5", "value": 1}],
            "replace operation does not apply: doc is missing key: /l/5: missing value",
        ),
        (
            {"l": [1]},
            [{"op": "add", "path": "/l/3", "value": 1}],
            "error in add for path: '/l/3': Unable to access invalid index: 3: invalid index referenced",
        ),
        (
            {"l": [1]},
            [{"op": "add", "path": "/l/x", "value": 1}],
            "error in add for path: '/l/x': value was not a proper array index: 'x': "
            'strconv.Atoi: parsing "x": invalid syntax',
        ),
        ({}, [{"op": "frob", "path": "/a"}], "Unexpected kind: frob"),
        ({}, [{"path": "/a"}], "Unexpected kind: unknown"),
        ({}, [None], "Unexpected kind: unknown"),
        ({}, [{"op": "add", "value": 1}], "add operation failed to decode path: missing value"),
        (
            {},
            [{"op": "replace", "value": 1}],
            "replace operation failed to decode path: operation missing path field: missing value",
        ),
        (
            {"a": 1},
            [{"op": "move", "path": "/b"}],
            "move operation failed to decode from: operation, missing from field: missing value",
        ),
        (
            {"a": 1},
            [{"op": "move", "from": "/x/y", "path": "/b"}],
            "move operation does not apply: doc is missing from path: /x/y: missing value",
        ),
        (
            {"a": 1},
            [{"op": "copy", "from": "/a", "path": "/x/y"}],
            "copy operation does not apply: doc is missing destination path: /x/y: missing value",
        ),
        (
            {"a": {"b": 1}},
            [{"op": "move", "from": "/a", "path": "/a/b"}],
            "move operation does not apply: doc is missing destination path: /a/b: missing value",
        ),
        (
            {"a": 1},
            [{"op": "test", "path": "/x/y", "value": 1}],
            "test operation does not apply: is missing path: /x/y: missing value",
        ),
        (
            {"a": 1},
            [{"op": "add", "path": "/a/b", "value": 1}],
            'add operation does not apply: doc is missing path: "/a/b": missing value',
        ),
    ],
)
def test_unappliable_patches_are_422_with_library_text(doc, patch, message):
    assert cause(doc, patch) == message


def test_a_failing_operation_leaves_the_input_untouched():
    doc = {"a": 1, "l": [1]}
    patch = [{"op": "remove", "path": "/a"}, {"op": "test", "path": "/l/0", "value": 2}]
    failure(doc, patch)
    assert doc == {"a": 1, "l": [1]}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"op": "add"}, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
        ("x", "json: cannot unmarshal string into Go value of type jsonpatch.Patch"),
        ([1], "json: cannot unmarshal number into Go value of type jsonpatch.Operation"),
    ],
)
def test_a_patch_that_is_not_an_array_of_objects_is_400(patch, message):
    err = failure({}, patch)
    assert (err.code, err.reason, err.message) == (400, "BadRequest", message)


def test_too_many_operations_is_413():
    patch = [{"op": "test", "path": "/a", "value": None}] * (MAX_OPERATIONS + 1)
    err = failure({}, patch)
    assert (err.code, err.reason) == (413, "RequestEntityTooLarge")
    assert err.message.endswith(f"is {MAX_OPERATIONS}, got {MAX_OPERATIONS + 1}")
