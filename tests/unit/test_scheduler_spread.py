"""PodTopologySpread: hard skew limits and the system default spreading."""

from __future__ import annotations

import random

from scheduler_helpers import node, pod

from pyk8s.scheduler.cache import NodeCache
from pyk8s.scheduler.core import Algorithm
from pyk8s.scheduler.framework import Framework, Handle, Listers
from pyk8s.scheduler.podinfo import pod_info


class Owners(Listers):
    def controller(self, kind, namespace, name):
        return (
            {"spec": {"selector": {"matchLabels": {"app": "web"}}}}
            if kind == "ReplicaSet"
            else None
        )


def setup(listers=None):
    cache = NodeCache()
    for name, zone in (("a", "z1"), ("b", "z1"), ("c", "z2")):
        cache.add_node(node(name, labels={"topology.kubernetes.io/zone": zone}))
    return cache, Algorithm(Framework(Handle(cache, listers or Listers())), rng=random.Random(1))


def test_do_not_schedule_keeps_zone_skew():
    cache, algo = setup()
    cache.add_pod(pod_info(pod("x", node_name="a", labels={"app": "web"})))
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}},
        }
    ]
    p = pod_info(pod("p", labels={"app": "web"}, topologySpreadConstraints=spread))
    assert algo.schedule(p).node == "c"
    cache.add_node(node("d"))  # no zone label
    cache.add_pod(pod_info(pod("y", node_name="c", labels={"app": "web"})))
    cache.add_pod(pod_info(pod("z", node_name="c", labels={"app": "web"})))
    result = algo.schedule(p)
    assert result.node in ("a", "b")
    cache.add_pod(pod_info(pod("w", node_name="b", labels={"app": "web"})))
    cache.add_pod(pod_info(pod("v", node_name="a", labels={"app": "web"})))
    cache.add_pod(pod_info(pod("hog", cpu="2", node_name="c")))
    big = pod("q", cpu="3", labels={"app": "web"}, topologySpreadConstraints=spread)
    result = algo.schedule(pod_info(big))
    assert result.message == (
        "0/4 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match pod topology "
        "spread constraints (missing required label), 2 node(s) didn't match pod topology "
        "spread constraints. preemption: 0/4 nodes are available: 1 Preemption is not "
        "helpful for scheduling, 3 No preemption victims found for incoming pod.."
    )


def test_replica_set_pods_spread_over_nodes_by_default():
    cache, algo = setup(Owners())
    owner = [{"kind": "ReplicaSet", "name": "web-1", "controller": True, "apiVersion": "apps/v1"}]
    placed = []
    for i in range(6):
        p = pod(f"web-{i}", labels={"app": "web"})
        p["metadata"]["ownerReferences"] = owner
        result = algo.schedule(pod_info(p))
        placed.append(result.node)
        cache.add_pod(pod_info({**p, "spec": {**p["spec"], "nodeName": result.node}}))
    assert sorted(placed.count(n) for n in "abc") == [2, 2, 2]
