"""The scheduler cache's node count follows adds, updates and removals (and ghost
slots held by pods of unknown nodes do not count)."""

from __future__ import annotations

from pyk8s.scheduler.cache import NodeCache
from pyk8s.scheduler.podinfo import pod_info


def node(name: str, **labels: str) -> dict:
    return {
        "metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
    }


def bound_pod(name: str, node_name: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "default", "uid": name},
        "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "i"}]},
    }


def test_node_count_follows_the_node_set() -> None:
    cache = NodeCache(capacity=2)
    assert cache.node_count() == 0
    for i in range(5):  # past the initial capacity
        cache.add_node(node(f"n{i}"))
    assert cache.node_count() == 5
    cache.update_node(node("n1", zone="a"))
    assert cache.node_count() == 5
    cache.remove_node("n3")
    cache.remove_node("n3")
    cache.remove_node("unknown")
    assert cache.node_count() == 4
    cache.add_pod(pod_info(bound_pod("p", "later")))  # a ghost slot for an unseen node
    assert cache.node_count() == 4
    cache.add_node(node("later"))
    cache.add_node(node("n3"))
    assert cache.node_count() == 6
    assert cache.node_count() == int(cache.valid[: cache.size].sum())
