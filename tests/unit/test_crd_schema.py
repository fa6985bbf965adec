"""Structural schemas: validation messages, pruning, defaulting, structural rules, and
the CRD strategy's own checks."""

from __future__ import annotations

import copy

from pyk8s.api.kinds.crd import CLEANUP_FINALIZER, CustomResourceDefinitionStrategy
from pyk8s.apiextensions import schema as s
from pyk8s.apiextensions.printer import printer_for_columns
from pyk8s.apiextensions.strategy import CustomResourceStrategy
from pyk8s.machinery.errors import invalid

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["image"],
            "properties": {
                "image": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
                "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
                "ratio": {"type": "number", "exclusiveMaximum": True, "maximum": 1},
                "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
                "port": {"x-kubernetes-int-or-string": True},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "opts": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object"}},
                },
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "weight": {"type": "integer", "default": 5},
                        },
                    },
                },
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}


def messages(obj):
    return [f"{c['field']}: {c['message']}" for c in s.validate(obj, SCHEMA)]


def test_type_error_in_upstreams_words():
    assert messages({"spec": {"image": "ab", "replicas": "string"}}) == [
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'
    ]
    err = invalid("MyApp", "example.com", "x", s.validate({"spec": {"image": 3}}, SCHEMA))
    assert err.message == (
        'MyApp.example.com "x" is invalid: spec.image: Invalid value: "integer": '
        'spec.image in body must be of type string: "integer"'
    )


def test_value_constraints():
    obj = {"spec": {"image": "ABCDEFG", "replicas": 11, "ratio": 1, "mode": "medium",
                    "tags": ["a", "b", "c"], "port": True}}  # fmt: skip
    assert messages(obj) == [
        "spec.image: Too long: may not be more than 5 bytes",
        "spec.image: Invalid value: \"ABCDEFG\": spec.image in body should match '^[a-z]+$'",
        "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
        "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1",
        'spec.mode: Unsupported value: "medium": supported values: "fast", "slow"',
        "spec.tags: Too many: 3: must have at most 2 items",
        'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    ]
    assert messages({"spec": {"image": "a", "replicas": -1}}) == [
        'spec.image: Invalid value: "a": spec.image in body should be at least 2 chars long',
        "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0",
    ]


def test_required_nested_and_array_paths():
    obj = {"spec": {"items": [{"name": 1}], "labels": {"a": 2}, "port": "http"}}
    assert messages(obj) == [
        "spec.image: Required value",
        'spec.items[0].name: Invalid value: "integer": spec.items[0].name in body must be of type string: "integer"',
        'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
    ]


def test_number_accepts_integers_and_null_needs_nullable():
    assert messages({"spec": {"image": "ab", "ratio": 0}}) == []
    assert messages({"spec": {"image": "ab", "mode": None}})[0].startswith(
        'spec.mode: Invalid value: "null": spec.mode in body must be of type string'
    )


def test_prune_drops_unknown_fields_and_names_them():
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "MyApp",
        "metadata": {"name": "x", "bogus": 1},
        "spec": {
            "image": "ab",
            "color": "blue",
            "opts": {"anything": {"goes": 1}},
            "labels": {"k": "v"},
            "items": [{"name": "a", "extra": 1}],
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "x": 1},
                         "spec": {}, "junk": 2},
        },
        "other": 1,
    }  # fmt: skip
    pruned = s.prune(obj, SCHEMA)
    assert pruned == [
        "metadata.bogus",
        "spec.color",
        "spec.items[0].extra",
        "spec.template.metadata.x",
        "spec.template.junk",
        "other",
    ]
    assert obj["metadata"] == {"name": "x"}
    assert obj["spec"]["opts"] == {"anything": {"goes": 1}}
    assert obj["spec"]["template"] == {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {},
    }  # fmt: skip
    assert obj["apiVersion"] == "example.com/v1" and "other" not in obj


def test_defaults_fill_missing_and_null_fields_deeply():
    obj = {"spec": {"image": "ab", "mode": None, "items": [{"name": "a"}, {"weight": 1}]}}
    s.apply_defaults(obj, SCHEMA)
    assert obj["spec"]["replicas"] == 1 and obj["spec"]["mode"] == "fast"
    assert obj["spec"]["items"] == [{"name": "a", "weight": 5}, {"weight": 1}]
    # A default object is copied, never shared between objects.
    schema = {"type": "object", "properties": {"spec": {"type": "object", "default": {}}}}
    a, b = {}, {}
    s.apply_defaults(a, schema)
    s.apply_defaults(b, schema)
    a["spec"]["x"] = 1
    assert b == {"spec": {}}


def test_structural_rules():
    path = "spec.versions[0].schema.openAPIV3Schema"
    assert s.structural_errors(SCHEMA, path) == []
    bad = {
        "type": "object",
        "properties": {
            "spec": {"properties": {"a": {"type": "array"}}},
            "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}},
        },
    }
    got = [f"{c['field']}: {c['message']}" for c in s.structural_errors(bad, path)]
    assert got == [
        f"{path}.properties[metadata].properties[labels]: Forbidden: must not be specified",
        f"{path}.properties[spec].type: Required value: must not be empty for specified object fields",
        f"{path}.properties[spec].properties[a].items: Required value: must be specified",
    ]
    assert [c["message"] for c in s.structural_errors({"type": "string"}, path)] == [
        'Invalid value: "string": must be object at the root'
    ]


def _crd(**spec_changes):
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "myapps.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "myapps", "kind": "MyApp"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                },
            ],  # fmt: skip
        },
    }
    crd["spec"].update(spec_changes)
    return crd


def test_crd_strategy_defaults_status_and_validation():
    st = CustomResourceDefinitionStrategy()
    crd = _crd()
    st.default(crd)
    st.prepare_for_create(crd)
    assert crd["spec"]["names"]["singular"] == "myapp"
    assert crd["spec"]["names"]["listKind"] == "MyAppList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    assert crd["status"]["storedVersions"] == ["v1"]
    assert st.validate(crd) == []

    bad = _crd(group="example", scope="Everywhere")
    bad["spec"]["versions"].append(copy.deepcopy(bad["spec"]["versions"][0]))
    st.default(bad)
    got = [f"{c['field']}: {c['message']}" for c in st.validate(bad)]
    assert 'spec.group: Invalid value: "example": should be a domain with at least one dot' in got
    assert (
        'metadata.name: Invalid value: "myapps.example.com": must be spec.names.plural+"."+spec.group'
        in got
    )
    assert (
        'spec.scope: Unsupported value: "Everywhere": supported values: "Cluster", "Namespaced"'
        in got
    )
    assert 'spec.versions[1].name: Duplicate value: "v1"' in got
    assert any("must have exactly one version marked as storage version" in g for g in got)


def test_crd_first_delete_adds_cleanup_finalizer():
    crd = _crd()
    CustomResourceDefinitionStrategy().prepare_for_delete(crd)
    assert crd["metadata"]["finalizers"] == [CLEANUP_FINALIZER]
    cond = crd["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == (
        "Terminating", "True", "InstanceDeletionPending",
    )  # fmt: skip


def test_custom_resource_generation_rules():
    with_status = CustomResourceStrategy(SCHEMA, has_status=True)
    without = CustomResourceStrategy(SCHEMA)
    old = {"metadata": {"name": "x"}, "spec": {"image": "ab"}, "status": {"phase": "A"}}
    status_change = {**old, "status": {"phase": "B"}}
    spec_change = {**old, "spec": {"image": "cd"}}
    assert not with_status.generation_changed(status_change, old)
    assert with_status.generation_changed(spec_change, old)
    assert without.generation_changed(status_change, old)
    label_change = {**old, "metadata": {"name": "x", "labels": {"a": "b"}}}
    assert not without.generation_changed(label_change, old)


def test_printer_columns_and_default_age():
    now = 1_000_000.0
    printer = printer_for_columns(
        [
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Ready", "type": "string", "priority": 1,
             "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
            {"name": "Spec", "type": "string", "jsonPath": ".spec"},
        ]
    )  # fmt: skip
    assert [c["name"] for c in printer.columns] == ["Name", "Replicas", "Ready", "Spec"]
    assert printer.columns[2]["priority"] == 1
    obj = {"metadata": {"name": "x"}, "spec": {"replicas": 2},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}}  # fmt: skip
    assert printer.cells(obj, now) == ["x", 2, "True", '{"replicas":2}']
    assert printer.cells({"metadata": {"name": "y"}}, now) == ["y", None, None, None]
    default = printer_for_columns(None)
    assert [c["name"] for c in default.columns] == ["Name", "Age"]
    assert default.columns[1]["type"] == "date"
    created = {"metadata": {"name": "z", "creationTimestamp": "1970-01-12T13:40:40Z"}}
    assert default.cells(created, now) == ["z", "6m"]
