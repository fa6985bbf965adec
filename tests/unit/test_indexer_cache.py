"""The informer cache's indexes stay right when updates keep or change an object's
index values, and sorted key lists are recomputed after every change."""

from __future__ import annotations

from pyk8s.client.cache import Indexer


def pod(name: str, node: str, ns: str = "default") -> dict:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"nodeName": node}}


def by_node(obj: dict) -> list[str]:
    return [obj["spec"]["nodeName"]] if obj["spec"].get("nodeName") else []


def test_update_keeping_index_values_keeps_the_filing() -> None:
    idx = Indexer()
    idx.add_index("node", by_node)
    idx.set("default/a", pod("a", "n1"))
    idx.set("default/b", pod("b", "n1"))
    assert idx.index_keys("node", "n1") == ["default/a", "default/b"]
    updated = pod("a", "n1")
    idx.set("default/a", updated)
    assert idx.index_keys("node", "n1") == ["default/a", "default/b"]
    assert idx.by_index("node", "n1")[0] is updated


def test_update_changing_index_values_moves_the_key() -> None:
    idx = Indexer()
    idx.add_index("node", by_node)
    idx.set("default/a", pod("a", "n1"))
    assert idx.index_keys("node", "n1") == ["default/a"]
    idx.set("default/a", pod("a", "n2"))
    assert idx.index_keys("node", "n1") == []
    assert idx.index_keys("node", "n2") == ["default/a"]
    assert idx.index_values("node") == ["n2"]
    idx.set("default/a", pod("a", ""))
    assert idx.index_values("node") == []


def test_sorted_keys_follow_adds_and_removals() -> None:
    idx = Indexer()
    for name in ("c", "a"):
        idx.set(f"default/{name}", pod(name, "n1"))
    assert idx.index_keys("namespace", "default") == ["default/a", "default/c"]
    idx.set("default/b", pod("b", "n1"))
    assert idx.index_keys("namespace", "default") == ["default/a", "default/b", "default/c"]
    idx.pop("default/a")
    assert [o["metadata"]["name"] for o in idx.by_index("namespace", "default")] == ["b", "c"]
    keys = idx.index_keys("namespace", "default")
    keys.append("x")  # callers get their own list
    assert idx.index_keys("namespace", "default") == ["default/b", "default/c"]


def test_index_added_late_files_existing_objects() -> None:
    idx = Indexer()
    idx.set("default/a", pod("a", "n1"))
    idx.index_keys("namespace", "default")
    idx.add_index("node", by_node)
    assert idx.index_keys("node", "n1") == ["default/a"]
