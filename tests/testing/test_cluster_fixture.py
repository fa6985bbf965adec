"""The k8s_cluster fixture and the Cluster helpers, used as a test author would."""

from __future__ import annotations

import socket
import threading

import pytest
from helpers import condition, pod
from kubernetes import client

from pyk8s.testing import acluster, cluster, wait_for


def test_cluster_is_ready_with_its_nodes(k8s_cluster, k8s_client):
    v1 = client.CoreV1Api(k8s_client)
    nodes = v1.list_node().items
    assert [n.metadata.name for n in nodes] == k8s_cluster.nodes == ["w1-k8s"]
    assert condition(nodes[0], "Ready") == "True"
    assert not any(t.key == "node.kubernetes.io/not-ready" for t in nodes[0].spec.taints or [])
    assert k8s_cluster.url.startswith("https://127.0.0.1:")
    assert k8s_cluster.ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_kubeconfig_fixture_is_the_clusters(k8s_cluster, kubeconfig):
    assert kubeconfig == k8s_cluster.kubeconfig
    text = kubeconfig.read_text()
    assert k8s_cluster.url in text and k8s_cluster.token in text


def test_each_cluster_has_its_own_token(k8s_cluster, k8s_client):
    with cluster(workers=0) as other:
        assert other.token != k8s_cluster.token
        assert other.url != k8s_cluster.url
        # The other cluster's token is not accepted here.
        conf = client.Configuration()
        conf.host = k8s_cluster.url
        conf.ssl_ca_cert = str(k8s_cluster.ca_file)
        conf.api_key = {"authorization": f"Bearer {other.token}"}
        foreign = client.ApiClient(conf)
        with pytest.raises(client.ApiException) as err:
            client.CoreV1Api(foreign).list_namespace()
        assert err.value.status == 401
        foreign.close()


@pytest.mark.pyk8s_cluster(workers=3)
def test_marker_sizes_the_cluster(k8s_cluster):
    assert k8s_cluster.nodes == ["w1-k8s", "w2-k8s", "w3-k8s"]


def test_add_and_remove_node(k8s_cluster, k8s_client):
    v1 = client.CoreV1Api(k8s_client)
    name = k8s_cluster.add_node(labels={"disk": "ssd"})
    assert name == "w2-k8s"
    node = v1.read_node(name)
    assert node.metadata.labels["disk"] == "ssd"
    assert condition(node, "Ready") == "True"
    assert k8s_cluster.add_node("gpu-1") == "gpu-1"
    k8s_cluster.remove_node("gpu-1")
    assert "gpu-1" not in k8s_cluster.nodes
    assert "gpu-1" not in [n.metadata.name for n in v1.list_node().items]


def test_pod_runs_on_an_added_node(k8s_cluster, k8s_client):
    v1 = client.CoreV1Api(k8s_client)
    k8s_cluster.add_node("extra")
    body = pod("pinned")
    body["spec"]["nodeName"] = "extra"
    v1.create_namespaced_pod("default", body)
    wait_for(lambda: v1.read_namespaced_pod("pinned", "default").status.phase == "Running")


@pytest.mark.pyk8s_cluster(workers=2, node_monitor_grace_period=1.0)
def test_frozen_node_goes_not_ready_and_comes_back(k8s_cluster, k8s_client):
    v1 = client.CoreV1Api(k8s_client)
    k8s_cluster.freeze_node("w2-k8s")
    wait_for(lambda: condition(v1.read_node("w2-k8s"), "Ready") == "Unknown")
    assert condition(v1.read_node("w1-k8s"), "Ready") == "True"
    k8s_cluster.thaw_node("w2-k8s")
    wait_for(lambda: condition(v1.read_node("w2-k8s"), "Ready") == "True")


def _waiting_reason(v1, name):
    statuses = v1.read_namespaced_pod(name, "default").status.container_statuses or []
    waiting = statuses[0].state.waiting if statuses else None
    return waiting.reason if waiting else ""


def test_unpullable_image(k8s_cluster, k8s_client):
    v1 = client.CoreV1Api(k8s_client)
    k8s_cluster.make_unpullable("registry.example/missing:*")
    v1.create_namespaced_pod("default", pod("nopull", "registry.example/missing:1.0"))
    reasons = {"ErrImagePull", "ImagePullBackOff"}
    wait_for(lambda: _waiting_reason(v1, "nopull") in reasons)
    assert v1.read_namespaced_pod("nopull", "default").status.phase == "Pending"


def test_crashing_image(k8s_cluster, k8s_client):
    v1 = client.CoreV1Api(k8s_client)
    k8s_cluster.make_crashing("crasher:*")
    v1.create_namespaced_pod("default", pod("crash", "crasher:1"))

    def restarted():
        statuses = v1.read_namespaced_pod("crash", "default").status.container_statuses or []
        return statuses and statuses[0].restart_count >= 1

    wait_for(restarted)
    status = v1.read_namespaced_pod("crash", "default").status.container_statuses[0]
    assert status.last_state.terminated.exit_code == 1


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _cluster_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("pyk8s-cluster")]


def test_teardown_leaves_nothing_behind():
    before = _cluster_threads()
    with cluster(workers=2) as c:
        port = int(c.url.rsplit(":", 1)[1])
        data_dir = c.data_dir
        assert _port_open(port) and data_dir.exists()
    assert not _port_open(port)
    assert not data_dir.exists()
    assert _cluster_threads() == before


def test_teardown_after_a_failing_body():
    before = _cluster_threads()
    with pytest.raises(RuntimeError, match="boom"), cluster() as c:
        data_dir = c.data_dir
        raise RuntimeError("boom")
    assert not data_dir.exists()
    assert _cluster_threads() == before


def test_stopped_cluster_refuses_helpers():
    with cluster(workers=0) as c:
        pass
    with pytest.raises(RuntimeError, match="not running"):
        c.add_node()


async def test_acluster_in_an_async_test():
    from pyk8s.client import Client

    async with acluster(workers=1) as c:
        async with Client(c.url, token=c.token, ca_file=str(c.ca_file)) as api:
            nodes = await api.list(api.resource("v1", "nodes"))
            assert [n["metadata"]["name"] for n in nodes["items"]] == ["w1-k8s"]
    assert not c.data_dir.exists()
