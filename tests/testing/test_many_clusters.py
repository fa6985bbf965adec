"""Fifty tiny tests, each with a function-scoped cluster of its own (also under
--pyk8s-scope=session: the marker asks for a dedicated one). Run in parallel
with `pytest -n 2 -m many_clusters tests/testing`: every xdist worker starts
its own clusters, and nothing outlives its test."""

from __future__ import annotations

import pytest
from kubernetes import client

pytestmark = [pytest.mark.many_clusters, pytest.mark.pyk8s_cluster()]


@pytest.mark.parametrize("i", range(25))
def test_configmap_roundtrip(i, k8s_client):
    v1 = client.CoreV1Api(k8s_client)
    # A fresh cluster: nothing from another test is here.
    assert not v1.list_namespaced_config_map("default", label_selector="many").items
    v1.create_namespaced_config_map(
        "default",
        {"metadata": {"name": f"cm-{i}", "labels": {"many": "yes"}}, "data": {"i": str(i)}},
    )
    assert v1.read_namespaced_config_map(f"cm-{i}", "default").data == {"i": str(i)}


@pytest.mark.parametrize("i", range(25))
def test_nodes_listed(i, k8s_cluster, k8s_client):
    v1 = client.CoreV1Api(k8s_client)
    assert [n.metadata.name for n in v1.list_node().items] == k8s_cluster.nodes
    names = {ns.metadata.name for ns in v1.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
