"""Controllers at work behind the fixture: a Deployment's pods run on simulated
nodes, are garbage-collected with it, and a namespace deletion completes (the
three things envtest, which has no controllers, cannot show)."""

from __future__ import annotations

from helpers import deployment
from kubernetes import client

from pyk8s.testing import wait_for


def running_pods(v1: client.CoreV1Api, namespace: str, selector: str) -> list:
    pods = v1.list_namespaced_pod(namespace, label_selector=selector).items
    return [p for p in pods if p.status.phase == "Running"]


def test_deployment_pods_run_then_are_garbage_collected(k8s_cluster, k8s_client):
    apps, v1 = client.AppsV1Api(k8s_client), client.CoreV1Api(k8s_client)
    k8s_cluster.add_node()  # two nodes: the scheduler spreads the replicas
    apps.create_namespaced_deployment("default", deployment("web", replicas=4))

    wait_for(lambda: len(running_pods(v1, "default", "app=web")) == 4)
    pods = running_pods(v1, "default", "app=web")
    assert {p.spec.node_name for p in pods} == {"w1-k8s", "w2-k8s"}
    assert all(p.status.pod_ip for p in pods)
    owners = {p.metadata.owner_references[0].kind for p in pods}
    assert owners == {"ReplicaSet"}
    wait_for(lambda: apps.read_namespaced_deployment("web", "default").status.ready_replicas == 4)

    apps.delete_namespaced_deployment("web", "default")  # background propagation
    wait_for(lambda: not v1.list_namespaced_pod("default", label_selector="app=web").items)
    wait_for(lambda: not apps.list_namespaced_replica_set("default").items)


def test_namespace_deletion_completes(k8s_client):
    apps, v1 = client.AppsV1Api(k8s_client), client.CoreV1Api(k8s_client)
    v1.create_namespace({"metadata": {"name": "team-a"}})
    apps.create_namespaced_deployment("team-a", deployment("api", replicas=2))
    v1.create_namespaced_config_map("team-a", {"metadata": {"name": "settings"}})
    wait_for(lambda: len(running_pods(v1, "team-a", "app=api")) == 2)

    v1.delete_namespace("team-a")
    assert v1.read_namespace("team-a").status.phase == "Terminating"

    def gone() -> bool:
        return "team-a" not in [n.metadata.name for n in v1.list_namespace().items]

    wait_for(gone)
