"""The kubectl JSONPath subset used by additionalPrinterColumns."""

from __future__ import annotations

import pytest

from pyk8s.apiextensions.jsonpath import JSONPathError, find, parse

OBJ = {
    "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "web"}},
    "spec": {"replicas": 3, "ports": [{"port": 80}, {"port": 443}]},
    "status": {
        "conditions": [
            {"type": "Available", "status": "False"},
            {"type": "Ready", "status": "True", "count": 2},
        ]
    },
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.replicas", [3]),
        ("{.spec.replicas}", [3]),
        ("$.spec.replicas", [3]),
        (".spec.missing", []),
        (".spec.ports[0].port", [80]),
        (".spec.ports[-1].port", [443]),
        (".spec.ports[5].port", []),
        (".spec.ports[*].port", [80, 443]),
        (".metadata.labels['app.kubernetes.io/name']", ["web"]),
        ('.metadata.labels["app.kubernetes.io/name"]', ["web"]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        (".status.conditions[?(@.type=='Available')].status", ["False"]),
        ('.status.conditions[?(@.type!="Ready")].type', ["Available"]),
        (".status.conditions[?(@.count>1)].type", ["Ready"]),
        (".status.conditions[?(@.count)].type", ["Ready"]),
        ("..port", [80, 443]),
    ],
)
def test_find(path, expected):
    assert find(OBJ, path) == expected


def test_find_on_non_objects_is_empty():
    assert find({"spec": "text"}, ".spec.replicas") == []
    assert find({"spec": {"ports": {"a": 1}}}, ".spec.ports[0]") == []


@pytest.mark.parametrize("bad", [".spec[", ".spec.[x", ".spec[?(@.a ~ 1)]", "spec!"])
def test_parse_rejects_unsupported(bad):
    with pytest.raises(JSONPathError):
        parse(bad)
