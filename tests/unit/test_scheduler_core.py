"""Scheduling decisions and upstream's failure messages, on a cache built by hand."""

from __future__ import annotations

import random

import pytest
from scheduler_helpers import node, pod

from pyk8s.scheduler.cache import NodeCache
from pyk8s.scheduler.core import Algorithm, num_feasible_nodes_to_find
from pyk8s.scheduler.framework import Framework, Handle
from pyk8s.scheduler.podinfo import pod_info, pod_requests


def algorithm(*nodes, pods=(), vectorized=True):
    cache = NodeCache()
    for n in nodes:
        cache.add_node(n)
    for p in pods:
        cache.add_pod(pod_info(p))
    fw = Framework(Handle(cache))
    return Algorithm(fw, rng=random.Random(0), vectorized=vectorized)


@pytest.mark.parametrize("vectorized", [True, False])
def test_fit_error_message_counts_first_failing_plugin(vectorized):
    algo = algorithm(
        node("m", unschedulable=True, cpu="1"),
        node("a", cpu="1"),
        node("b", cpu="1"),
        node("c", cpu="1"),
        vectorized=vectorized,
    )
    result = algo.schedule(pod_info(pod("big", cpu="2")))
    assert not result.ok
    assert result.message == (
        "0/4 nodes are available: 1 node(s) were unschedulable, 3 Insufficient cpu. "
        "preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, "
        "3 No preemption victims found for incoming pod.."
    )


def test_untolerated_taint_message_and_not_helpful_preemption():
    taint = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    algo = algorithm(node("m", taints=[taint]))
    result = algo.schedule(pod_info(pod("p")))
    assert result.message == (
        "0/1 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }. preemption: 0/1 nodes are available: "
        "1 Preemption is not helpful for scheduling.."
    )
    assert result.unresolvable


def test_no_nodes():
    result = algorithm().schedule(pod_info(pod("p")))
    assert result.message == "no nodes available to schedule pods"


def test_multiple_fit_reasons_and_too_many_pods():
    algo = algorithm(node("a", cpu="1", memory="1Gi", pods="1"), pods=[pod("x", node_name="a")])
    result = algo.schedule(pod_info(pod("p", cpu="2", memory="2Gi")))
    assert result.message.startswith(
        "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods."
    )


def test_preemption_policy_never():
    algo = algorithm(node("a", cpu="1"))
    result = algo.schedule(pod_info(pod("p", cpu="2", preemptionPolicy="Never")))
    assert result.message == (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: not eligible due to preemptionPolicy=Never.."
    )


def test_daemon_style_name_affinity_restricts_nodes():
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}
                ]
            }
        }
    }
    algo = algorithm(node("a"), node("b", cpu="1"), node("c"))
    assert algo.schedule(pod_info(pod("d", affinity=affinity))).node == "b"
    result = algo.schedule(pod_info(pod("d", cpu="2", affinity=affinity)))
    assert result.message.startswith(
        "0/3 nodes are available: 1 Insufficient cpu, "
        "2 node(s) didn't satisfy plugin(s) [NodeAffinity]."
    )


def test_resources_node_selector_taints_and_cordon_pick_the_only_fit():
    taint = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    algo = algorithm(
        node("small", cpu="500m"),
        node("cordoned", unschedulable=True),
        node("tainted", taints=[taint]),
        node("ok", labels={"disk": "ssd"}),
        node("ok2", labels={"disk": "hdd"}),
    )
    p = pod_info(pod("p", cpu="1", nodeSelector={"disk": "ssd"}))
    assert algo.schedule(p).node == "ok"
    tolerant = pod_info(
        pod(
            "t",
            cpu="1",
            tolerations=[{"key": "dedicated", "operator": "Exists"}],
            nodeSelector={"kubernetes.io/hostname": "tainted"},
        )
    )
    assert algo.schedule(tolerant).node == "tainted"
    daemon = pod_info(
        pod(
            "ds",
            tolerations=[
                {
                    "key": "node.kubernetes.io/unschedulable",
                    "operator": "Exists",
                    "effect": "NoSchedule",
                }
            ],
            nodeSelector={"kubernetes.io/hostname": "cordoned"},
        )
    )
    assert algo.schedule(daemon).node == "cordoned"


def test_least_allocated_prefers_emptier_node_and_ties_are_random():
    algo = algorithm(node("busy"), node("idle"), pods=[pod("x", cpu="3", node_name="busy")])
    assert algo.schedule(pod_info(pod("p", cpu="100m"))).node == "idle"
    algo = algorithm(*(node(f"n{i}") for i in range(4)))
    picks = {algo.schedule(pod_info(pod(f"p{i}"))).node for i in range(40)}
    assert len(picks) > 1  # equal nodes: uniformly random choice


def test_num_feasible_nodes_to_find():
    assert num_feasible_nodes_to_find(50) == 50
    assert num_feasible_nodes_to_find(500) == 230  # 46%
    assert num_feasible_nodes_to_find(5000) == 500  # 10%
    assert num_feasible_nodes_to_find(100000) == 5000  # floor at 5%


def test_rotating_start_samples_only_part_of_a_big_cluster():
    algo = algorithm(*(node(f"n{i}") for i in range(200)))
    want = num_feasible_nodes_to_find(200)
    algo.schedule(pod_info(pod("p")))
    assert algo.next_start == want
    result = algo.schedule(pod_info(pod("q")))
    assert result.feasible == want


def test_pod_requests_init_containers_sidecars_and_overhead():
    p = pod("p", cpu="100m", memory="100Mi")
    p["spec"]["initContainers"] = [
        {"name": "i1", "resources": {"requests": {"cpu": "500m"}}},
        {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
        {"name": "i2", "resources": {"requests": {"cpu": "200m", "memory": "1Gi"}}},
    ]
    p["spec"]["overhead"] = {"cpu": "10m"}
    cpu, mem, _ = pod_requests(p)
    # max(100+50 (containers+sidecar), 500, 50, 200+50) + 10 overhead; memory max(100Mi, 1Gi)
    assert cpu == 510
    assert mem == 1024**3
    nz_cpu, nz_mem, _ = pod_requests(pod("be"), non_zero=True)
    assert (nz_cpu, nz_mem) == (100, 200 * 1024 * 1024)


def test_cache_assume_forget_confirm():
    cache = NodeCache()
    cache.add_node(node("a"))
    p = pod_info(pod("p", cpu="1"))
    cache.assume_pod(p, "a")
    assert cache.req_cpu[0] == 1000 and cache.is_assumed("default/p")
    cache.forget_pod("default/p")
    assert cache.req_cpu[0] == 0 and cache.num_pods[0] == 0
    cache.assume_pod(p, "a")
    cache.add_pod(pod_info(pod("p", cpu="1", node_name="a")))  # the informer confirms
    assert not cache.is_assumed("default/p") and cache.req_cpu[0] == 1000
    cache.forget_pod("default/p")  # confirmed pods are not forgotten
    assert cache.num_pods[0] == 1
    cache.remove_pod("default/p")
    assert cache.num_pods[0] == 0


def test_removed_node_keeps_pods_accounted_until_they_go():
    cache = NodeCache()
    cache.add_node(node("a"))
    cache.add_pod(pod_info(pod("p", cpu="1", node_name="a")))
    cache.remove_node("a")
    assert cache.node_count() == 0
    cache.add_node(node("a"))
    assert cache.req_cpu[cache.slot("a")] == 1000
    cache.remove_node("a")
    cache.remove_pod("default/p")
    cache.add_node(node("b"))
    assert cache.slot("b") == 0 and cache.req_cpu[0] == 0
