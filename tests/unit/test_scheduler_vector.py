"""The vectorized filter and score paths agree with the scalar (per node) reference
on random clusters and random pods."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scheduler_helpers import node, pod

from pyk8s.scheduler.cache import NodeCache
from pyk8s.scheduler.core import Algorithm
from pyk8s.scheduler.framework import CycleState, Framework, Handle, Listers
from pyk8s.scheduler.podinfo import pod_info

ZONES = ["z1", "z2", "z3"]
TAINTS = [
    {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
    {"key": "soft", "value": "x", "effect": "PreferNoSchedule"},
    {"key": "soft2", "effect": "PreferNoSchedule"},
]


class RSListers(Listers):
    def controller(self, kind, namespace, name):
        if kind == "ReplicaSet":
            return {"spec": {"selector": {"matchLabels": {"app": name}}}}
        return None


def random_node(rng: random.Random, i: int) -> dict:
    labels = {"tier": rng.choice(["a", "b", "c"]), "rank": str(rng.randint(0, 9))}
    if rng.random() < 0.8:
        labels["topology.kubernetes.io/zone"] = rng.choice(ZONES)
    taints = [t for t in TAINTS if rng.random() < 0.2]
    return node(
        f"n{i}",
        cpu=rng.choice(["1", "2", "4", "500m"]),
        memory=rng.choice(["1Gi", "4Gi", "8Gi"]),
        pods=rng.choice(["3", "10", "110"]),
        labels=labels,
        taints=taints,
        unschedulable=rng.random() < 0.1,
    )


def random_pod(rng: random.Random, i: int, node_name: str = "") -> dict:
    app = rng.choice(["web", "db"])
    spec: dict = {}
    if rng.random() < 0.3:
        spec["nodeSelector"] = {"tier": rng.choice(["a", "b"])}
    if rng.random() < 0.3:
        spec["tolerations"] = [
            rng.choice(
                [
                    {"key": "dedicated", "operator": "Equal", "value": "gpu"},
                    {"operator": "Exists"},
                    {"key": "soft", "operator": "Exists", "effect": "PreferNoSchedule"},
                    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists"},
                ]
            )
        ]
    if rng.random() < 0.3:
        expr = rng.choice(
            [
                {"key": "tier", "operator": "NotIn", "values": ["c"]},
                {"key": "rank", "operator": "Gt", "values": ["3"]},
                {"key": "topology.kubernetes.io/zone", "operator": "Exists"},
                {"key": "topology.kubernetes.io/zone", "operator": "DoesNotExist"},
            ]
        )
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [expr]}]
                },
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 5,
                        "preference": {
                            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]
                        },
                    },
                    {
                        "weight": 1,
                        "preference": {
                            "matchExpressions": [{"key": "rank", "operator": "Lt", "values": ["5"]}]
                        },
                    },
                ],
            }
        }
    if rng.random() < 0.3:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": rng.choice([1, 2]),
                "topologyKey": rng.choice(
                    ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
                ),
                "whenUnsatisfiable": rng.choice(["DoNotSchedule", "ScheduleAnyway"]),
                "labelSelector": {"matchLabels": {"app": app}},
            }
        ]
    p = pod(
        f"p{i}",
        cpu=rng.choice([None, "100m", "500m", "1"]),
        memory=rng.choice([None, "128Mi", "1Gi"]),
        node_name=node_name,
        labels={"app": app},
        **spec,
    )
    if rng.random() < 0.2:
        p["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
    if rng.random() < 0.5:
        p["metadata"]["ownerReferences"] = [
            {"kind": "ReplicaSet", "name": app, "controller": True, "apiVersion": "apps/v1"}
        ]
    return p


@pytest.mark.parametrize("seed", range(6))
def test_vector_and_scalar_paths_agree(seed):
    rng = random.Random(seed)
    cache = NodeCache()
    names = []
    for i in range(rng.randint(5, 40)):
        cache.add_node(random_node(rng, i))
        names.append(f"n{i}")
    for i in range(rng.randint(0, 60)):
        cache.add_pod(pod_info(random_pod(rng, 1000 + i, node_name=rng.choice(names))))
    cache.remove_node(names[0])  # a ghost slot with pods left behind
    fw = Framework(Handle(cache, RSListers()))
    compared = 0
    for i in range(30):
        p = pod_info(random_pod(rng, i))
        state = CycleState()
        if not fw.run_pre_filter(state, p).is_success():
            continue
        vec = fw.filter_mask(state, p)
        ref = fw.filter_scalar(state, p)
        assert np.array_equal(vec, ref), p.pod["spec"]
        idx = np.flatnonzero(vec)
        if idx.size < 2:
            continue
        fw.run_pre_score(state, p, idx)
        for plugin, _ in fw.scorers:
            if plugin.name in state.skip_score:
                continue
            a = plugin.score_nodes(state, p, idx)
            b = [plugin.score(state, p, cache.view(int(j))) for j in idx]
            assert a.tolist() == b, plugin.name
        assert np.array_equal(fw.score(state, p, idx), fw.score(state, p, idx, vectorized=False))
        compared += 1
    assert compared > 3


@pytest.mark.parametrize("seed", range(3))
def test_failure_messages_agree(seed):
    rng = random.Random(100 + seed)
    cache = NodeCache()
    for i in range(12):
        cache.add_node(random_node(rng, i))
    fw = Framework(Handle(cache))
    vec = Algorithm(fw, vectorized=True)
    ref = Algorithm(fw, vectorized=False)
    for i in range(20):
        p = pod_info(random_pod(rng, i))
        p.pod["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "3"}}
        p = pod_info(p.pod)
        a, b = vec.schedule(p), ref.schedule(p)
        assert a.message == b.message
