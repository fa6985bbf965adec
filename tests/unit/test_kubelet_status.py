"""Pod and node status as the kubelet reports them (pure functions)."""

from __future__ import annotations

import kubernetes.client
import pytest

from pyk8s.client.clock import FakeClock
from pyk8s.kubelet import nodestatus
from pyk8s.kubelet.backoff import Backoff, go_duration, go_seconds
from pyk8s.kubelet.nodestatus import NodeConfig
from pyk8s.kubelet.podstatus import ContainerRecord, build_status, container_status, pod_phase
from pyk8s.kubelet.runtime.base import ContainerExit, normalize_image
from pyk8s.kubelet.runtime.sim import HostLocalIPs, image_id, matches

NOW = "2025-01-01T00:00:00Z"


def _api_client() -> kubernetes.client.ApiClient:
    return kubernetes.client.ApiClient()


def _deserialize(data: dict, klass: str) -> object:
    """Through the official client's models, which reject missing required fields."""
    client = _api_client()
    return client._ApiClient__deserialize(data, klass)  # type: ignore[attr-defined]


def _pod(**spec: object) -> dict:
    return {
        "metadata": {"name": "p", "namespace": "default", "uid": "u1"},
        "spec": {"containers": [{"name": "nginx", "image": "nginx"}], **spec},
        "status": {
            "phase": "Pending",
            "qosClass": "BestEffort",
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": NOW}],
        },
    }


def _exit(code: int) -> ContainerExit:
    return ContainerExit(code, "Completed" if code == 0 else "Error", NOW, NOW)


def test_creating_pod_is_pending_with_container_creating() -> None:
    rec = ContainerRecord("nginx", "docker.io/library/nginx:latest")
    status = build_status(
        _pod(),
        host_ip="127.0.0.1",
        pod_ip="",
        sandbox_ready=False,
        inits=[],
        apps=[rec],
        start_time=NOW,
        now=NOW,
    )
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert "podIP" not in status
    types = [(c["type"], c["status"]) for c in status["conditions"]]
    assert types == [
        ("PodReadyToStartContainers", "False"),
        ("Initialized", "True"),
        ("Ready", "False"),
        ("ContainersReady", "False"),
        ("PodScheduled", "True"),
    ]
    ready = status["conditions"][2]
    assert ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [nginx]"


def test_running_pod_status_is_complete_for_the_official_client() -> None:
    rec = ContainerRecord("nginx", "docker.io/library/nginx:latest")
    rec.set_running("sim://abc", NOW)
    rec.image_id = image_id("nginx")
    pod = _pod()
    status = build_status(
        pod,
        host_ip="127.0.0.1",
        pod_ip="198.18.1.2",
        sandbox_ready=True,
        inits=[],
        apps=[rec],
        start_time=NOW,
        now=NOW,
    )
    assert status["phase"] == "Running"
    assert status["podIP"] == "198.18.1.2" and status["podIPs"] == [{"ip": "198.18.1.2"}]
    assert status["hostIPs"] == [{"ip": "127.0.0.1"}]
    assert status["qosClass"] == "BestEffort"  # someone else's field is kept
    cs = status["containerStatuses"][0]
    assert cs["containerID"] == "sim://abc" and cs["started"] is True and cs["ready"] is True
    assert cs["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert all(c["status"] == "True" for c in status["conditions"])
    model = _deserialize({**pod, "status": status}, "V1Pod")
    assert model.status.container_statuses[0].state.running.started_at is not None


def test_transition_time_is_kept_while_the_status_holds() -> None:
    rec = ContainerRecord("nginx", "nginx")
    rec.set_running("sim://a", NOW)
    pod = _pod()
    first = build_status(
        pod,
        host_ip="h",
        pod_ip="ip",
        sandbox_ready=True,
        inits=[],
        apps=[rec],
        start_time=NOW,
        now=NOW,
    )
    later = build_status(
        {**pod, "status": first},
        host_ip="h",
        pod_ip="ip",
        sandbox_ready=True,
        inits=[],
        apps=[rec],
        start_time=NOW,
        now="2025-01-01T01:00:00Z",
    )
    assert [c["lastTransitionTime"] for c in later["conditions"]] == [NOW] * 5


def test_crash_loop_keeps_last_state_and_phase_running() -> None:
    rec = ContainerRecord("app", "busybox")
    rec.set_running("sim://1", NOW)
    rec.set_terminated(_exit(1))
    rec.set_waiting("CrashLoopBackOff", "back-off 10s restarting failed container=app pod=p")
    rec.restart_count = 1
    status = container_status(rec)
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert status["containerID"] == "sim://1"
    assert pod_phase({"restartPolicy": "Always"}, [], [rec]) == "Running"


@pytest.mark.parametrize(
    ("policy", "code", "phase"),
    [("Never", 0, "Succeeded"), ("Never", 1, "Failed"), ("OnFailure", 1, "Running")],
)
def test_phase_of_exited_containers(policy: str, code: int, phase: str) -> None:
    rec = ContainerRecord("app", "busybox")
    rec.set_running("sim://1", NOW)
    rec.set_terminated(_exit(code))
    assert pod_phase({"restartPolicy": policy}, [], [rec]) == phase


def test_pending_init_container_keeps_pod_pending() -> None:
    init = ContainerRecord("init", "busybox", init=True, reason="PodInitializing")
    app = ContainerRecord("app", "nginx", reason="PodInitializing")
    assert pod_phase({}, [init], [app]) == "Pending"
    init.set_running("sim://i", NOW)
    init.set_terminated(_exit(0))
    app.set_running("sim://a", NOW)
    assert pod_phase({}, [init], [app]) == "Running"


def test_backoff_doubles_to_cap_and_resets_after_idle() -> None:
    clock = FakeClock()
    b = Backoff(10, 300, clock)
    assert [b.next("k") for _ in range(7)] == [10, 20, 40, 80, 160, 300, 300]
    assert b.in_backoff("k")
    clock.advance(299)
    assert b.in_backoff("k") and b.remaining("k") == pytest.approx(1)
    clock.advance(1)
    assert not b.in_backoff("k")
    clock.advance(601)
    assert b.next("k") == 10


def test_go_durations() -> None:
    assert go_duration(0.5234) == "523ms"
    assert go_duration(1.2345) == "1.234s"
    assert go_duration(123.5) == "2m3.5s"
    assert go_seconds(10) == "10s" and go_seconds(80) == "1m20s" and go_seconds(300) == "5m0s"


def test_image_references() -> None:
    assert normalize_image("nginx") == "docker.io/library/nginx:latest"
    assert normalize_image("nginx:1.17.23") == "docker.io/library/nginx:1.17.23"
    assert normalize_image("bitnami/redis") == "docker.io/bitnami/redis:latest"
    assert normalize_image("localhost:5000/x:1") == "localhost:5000/x:1"
    assert image_id("nginx:1.16.0").startswith("docker.io/library/nginx@sha256:")
    assert matches("nginx:1.17.23", ["nginx:1.17.*"])
    assert matches("nginx:1.17.23", ["docker.io/library/nginx:1.17.23"])
    assert not matches("nginx:1.16.0", ["nginx:1.17.*"])


def test_host_local_ips_are_sequential_and_reused_after_wrap() -> None:
    ips = HostLocalIPs("198.18.1.0/29")  # .2 .. .6 usable
    got = [ips.allocate() for _ in range(5)]
    assert got == [f"198.18.1.{i}" for i in range(2, 7)]
    with pytest.raises(RuntimeError):
        ips.allocate()
    ips.release("198.18.1.3")
    assert ips.allocate() == "198.18.1.3"


def test_registered_node_is_complete() -> None:
    cfg = NodeConfig("m-k8s", internal_ip="127.1.0.1", control_plane=True)
    node = nodestatus.new_node(cfg, "sim://1.0", NOW, "boot")
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "m-k8s"
    assert labels["node-role.kubernetes.io/control-plane"] == ""
    assert labels["kubernetes.io/os"] == "linux" and "beta.kubernetes.io/arch" in labels
    taints = [(t["key"], t["effect"]) for t in node["spec"]["taints"]]
    assert ("node-role.kubernetes.io/control-plane", "NoSchedule") in taints
    assert ("node.kubernetes.io/not-ready", "NoSchedule") in taints
    status = node["status"]
    assert status["capacity"]["pods"] == "110" and status["capacity"]["memory"] == "8388608Ki"
    assert status["allocatable"]["memory"] == "8286208Ki"  # less upstream's 100Mi eviction floor
    assert status["nodeInfo"]["kubeletVersion"].startswith("v1.32")
    assert status["nodeInfo"]["containerRuntimeVersion"] == "sim://1.0"
    ready = status["conditions"][-1]
    assert (ready["type"], ready["reason"], ready["message"]) == (
        "Ready",
        "KubeletReady",
        "kubelet is posting ready status",
    )
    model = _deserialize(node, "V1Node")
    assert model.status.node_info.machine_id


def test_node_status_needs_report_only_on_change() -> None:
    cfg = NodeConfig("w1")
    node = nodestatus.new_node(cfg, "sim://1.0", NOW, "boot")
    later = nodestatus.node_status(cfg, "sim://1.0", node["status"], "2025-01-02T00:00:00Z", "b")
    assert not nodestatus.needs_report(node, later)
    assert later["conditions"][-1]["lastTransitionTime"] == NOW
    node["status"]["conditions"][-1]["status"] = "Unknown"
    assert nodestatus.needs_report(node, later)
