"""The one-walk decode check gives exactly what type_errors, unknown_fields and prune
give, on valid objects, on upstream's examples, and on many randomly broken ones."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from pyk8s.api.fieldcheck import check_and_prune
from pyk8s.api.schema import prune, schema_for_kind, type_errors, unknown_fields

POD = schema_for_kind("", "v1", "Pod")
DEPLOYMENT = schema_for_kind("apps", "v1", "Deployment")


def pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-1",
            "namespace": "default",
            "labels": {"app": "web"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web",
                    "uid": "u",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "nodeName": "n1",
            "containers": [
                {
                    "name": "c",
                    "image": "pause",
                    "ports": [{"containerPort": 80}],
                    "env": [{"name": "A", "value": "1"}],
                    "resources": {"limits": {"cpu": "500m", "memory": 128}},
                }
            ],
            "tolerations": [{"key": "k", "operator": "Exists"}],
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None}],
            "containerStatuses": [
                {
                    "name": "c",
                    "ready": True,
                    "restartCount": 0,
                    "image": "pause",
                    "imageID": "",
                    "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
                }
            ],
            "podIPs": [{"ip": "198.18.0.5"}],
        },
    }


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod()["spec"]},
        },
    }


def separately(obj: Any, node: Any) -> tuple[list[str], list[str], Any]:
    problems = type_errors(obj, node)
    unknown = unknown_fields(obj, node)
    return problems, unknown, prune(copy.deepcopy(obj), node)


def at_once(obj: Any, node: Any) -> tuple[list[str], list[str], Any]:
    mine = copy.deepcopy(obj)
    problems, unknown = check_and_prune(mine, node)
    return problems, unknown, mine


def paths(value: Any, trail: tuple = ()) -> list[tuple]:
    """Every (container, key) position in a JSON value."""
    out = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for k, v in items:
        out.append((*trail, k))
        if isinstance(v, dict | list):
            out += paths(v, (*trail, k))
    return out


def get(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


BAD_VALUES = ["text", 7, 1.5, True, None, [], ["x"], {}, {"x": 1}, 2**40]


def broken(obj: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    for _ in range(rng.randint(1, 4)):
        path = rng.choice(paths(obj))
        parent = get(obj, path[:-1])
        if isinstance(parent, dict) and rng.random() < 0.4:
            parent[rng.choice(["bogus", "x", "kind", "apiVersion"])] = copy.deepcopy(
                rng.choice(BAD_VALUES)
            )
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(BAD_VALUES))
    return obj


@pytest.mark.parametrize(("make", "node"), [(pod, POD), (deployment, DEPLOYMENT)])
def test_valid_objects_pass_unchanged(make: Any, node: Any) -> None:
    obj = make()
    assert at_once(obj, node) == ([], [], obj)


def test_type_error_in_the_walk_matches_upstream_text() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "80"
    obj["metadata"]["labels"]["n"] = 5
    problems, _, _ = at_once(obj, DEPLOYMENT)
    assert problems == [
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels "
        "of type string",
        "json: cannot unmarshal string into Go struct field "
        "ContainerPort.spec.template.spec.containers.ports.containerPort of type int32",
    ]


def test_unknown_fields_are_reported_with_indices_and_pruned() -> None:
    obj = pod()
    obj["spec"]["containers"][0]["ports"][0]["x"] = 1
    obj["metadata"]["colour"] = "red"
    problems, unknown, pruned = at_once(obj, POD)
    assert problems == []
    assert unknown == ["metadata.colour", "spec.containers[0].ports[0].x"]
    assert pruned == pod()


def test_a_top_level_value_of_the_wrong_kind() -> None:
    assert at_once([1], POD)[0] == separately([1], POD)[0]


@pytest.mark.parametrize("seed", range(40))
def test_same_answers_as_the_separate_walks(seed: int) -> None:
    rng = random.Random(seed)
    for make, node in ((pod, POD), (deployment, DEPLOYMENT)):
        for _ in range(10):
            obj = broken(make(), rng)
            problems, unknown, pruned = separately(obj, node)
            got = at_once(obj, node)
            assert got[0] == problems
            if not problems:  # with type errors the object is refused, pruned or not
                assert got[1:] == (unknown, pruned)
