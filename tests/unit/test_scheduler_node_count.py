"""The scheduler cache: the node count follows adds, updates and removals (ghost
slots held by pods of unknown nodes do not count), and confirming an assumed pod
leaves the same accounting as adding it."""

from __future__ import annotations

from pyk8s.machinery.labels import selector_from_set
from pyk8s.scheduler.cache import NodeCache
from pyk8s.scheduler.podinfo import pod_info

_SEL = selector_from_set({"app": "web"})


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


def _state(cache: NodeCache) -> tuple:
    n = cache.size
    spread = cache.spread_counts("default", _SEL)
    return (
        cache.num_pods[:n].tolist(),
        cache.nz_cpu[:n].tolist(),
        cache.nz_mem[:n].tolist(),
        spread.tolist(),
        sorted(cache.pods),
        sorted(cache.assumed),
        {k: sorted(v) for k, v in cache.pod_label_index.items()},
    )


def _labeled(name: str, node_name: str, app: str) -> dict:
    pod = bound_pod(name, node_name)
    pod["metadata"]["labels"] = {"app": app}
    return pod


def test_confirming_an_assumed_pod_leaves_the_cache_as_a_plain_add_would() -> None:
    for app in ("web", "db"):  # same labels as assumed, then changed labels
        confirmed, fresh = NodeCache(), NodeCache()
        for cache in (confirmed, fresh):
            cache.add_node(node("n1"))
            cache.add_node(node("n2"))
            cache.spread_counts("default", _SEL)  # counts kept from here on
        assumed = pod_info(_labeled("p", "", "web"))
        confirmed.assume_pod(assumed, "n2")
        seen = pod_info(_labeled("p", "n2", app))
        confirmed.add_pod(seen)
        fresh.add_pod(seen)
        assert _state(confirmed) == _state(fresh)
        assert confirmed.get_pod("default/p") is seen
