"""Pod table cells: READY, STATUS (upstream printPod's precedence), RESTARTS and wide cells."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pyk8s.api.printers import column_definitions, row_cells, to_table

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def ago(seconds: float) -> str:
    return datetime.fromtimestamp(NOW - seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def running(ready: bool = True, restarts: int = 0, name: str = "app") -> dict:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {}}}


def waiting(reason: str, name: str = "app", restarts: int = 0) -> dict:
    return {
        "name": name,
        "ready": False,
        "restartCount": restarts,
        "state": {"waiting": {"reason": reason}},
    }


def terminated(name: str = "app", **term) -> dict:
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


def make_pod(
    statuses=None,
    *,
    phase="Running",
    containers=("app",),
    init=None,
    init_statuses=None,
    conditions=None,
    reason=None,
    deleting=False,
    **status_extra,
) -> dict:
    pod = {
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(300)},
        "spec": {"containers": [{"name": c, "image": "nginx"} for c in containers]},
        "status": {"phase": phase, "containerStatuses": statuses or [], **status_extra},
    }
    if init is not None:
        pod["spec"]["initContainers"] = init
        pod["status"]["initContainerStatuses"] = init_statuses or []
    if conditions is not None:
        pod["status"]["conditions"] = conditions
    if reason:
        pod["status"]["reason"] = reason
    if deleting:
        pod["metadata"]["deletionTimestamp"] = ago(1)
    return pod


def cells(pod: dict) -> list:
    return row_cells("", "Pod", pod, NOW)


def status_of(pod: dict) -> str:
    return cells(pod)[2]


INIT1 = [{"name": "setup", "image": "busybox"}]
INIT2 = [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]
SIDECAR = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
READY_TRUE = [{"type": "Ready", "status": "True"}]
READY_FALSE = [{"type": "Ready", "status": "False"}]

STATUS_CASES = [
    ("pending, nothing reported", make_pod(phase="Pending"), "Pending"),
    ("creating", make_pod([waiting("ContainerCreating")], phase="Pending"), "ContainerCreating"),
    ("pull error", make_pod([waiting("ErrImagePull")], phase="Pending"), "ErrImagePull"),
    ("pull backoff", make_pod([waiting("ImagePullBackOff")], phase="Pending"), "ImagePullBackOff"),
    ("crash loop", make_pod([waiting("CrashLoopBackOff", restarts=3)]), "CrashLoopBackOff"),
    ("running", make_pod([running()]), "Running"),
    ("running, not ready keeps phase", make_pod([running(ready=False)]), "Running"),
    (
        "completed",
        make_pod([terminated(reason="Completed", exitCode=0)], phase="Succeeded"),
        "Completed",
    ),
    ("error", make_pod([terminated(reason="Error", exitCode=1)], phase="Failed"), "Error"),
    ("signal", make_pod([terminated(signal=9, exitCode=137)], phase="Failed"), "Signal:9"),
    ("exit code", make_pod([terminated(exitCode=1)], phase="Failed"), "ExitCode:1"),
    ("evicted", make_pod(phase="Failed", reason="Evicted"), "Evicted"),
    ("terminating", make_pod([running()], deleting=True), "Terminating"),
    ("node lost", make_pod([running()], reason="NodeLost", deleting=True), "Unknown"),
    (
        "deleted after success stays Completed",
        make_pod([terminated(reason="Completed", exitCode=0)], phase="Succeeded", deleting=True),
        "Completed",
    ),
    (
        "scheduling gated",
        make_pod(
            phase="Pending",
            conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
        ),
        "SchedulingGated",
    ),
    (
        "init running",
        make_pod(
            [waiting("PodInitializing")],
            phase="Pending",
            init=INIT1,
            init_statuses=[running(ready=False, name="setup")],
        ),
        "Init:0/1",
    ),
    (
        "init waiting PodInitializing counts as progress",
        make_pod(phase="Pending", init=INIT1, init_statuses=[waiting("PodInitializing", "setup")]),
        "Init:0/1",
    ),
    (
        "second init container",
        make_pod(
            phase="Pending",
            init=INIT2,
            init_statuses=[
                terminated("a", reason="Completed", exitCode=0),
                running(ready=False, name="b"),
            ],
        ),
        "Init:1/2",
    ),
    (
        "init pull error",
        make_pod(phase="Pending", init=INIT1, init_statuses=[waiting("ErrImagePull", "setup")]),
        "Init:ErrImagePull",
    ),
    (
        "init crash loop",
        make_pod(phase="Pending", init=INIT1, init_statuses=[waiting("CrashLoopBackOff", "setup")]),
        "Init:CrashLoopBackOff",
    ),
    (
        "init failed with reason",
        make_pod(
            phase="Pending",
            init=INIT1,
            init_statuses=[terminated("setup", reason="Error", exitCode=1)],
        ),
        "Init:Error",
    ),
    (
        "init failed without reason",
        make_pod(phase="Pending", init=INIT1, init_statuses=[terminated("setup", exitCode=2)]),
        "Init:ExitCode:2",
    ),
    (
        "init killed by signal",
        make_pod(
            phase="Pending", init=INIT1, init_statuses=[terminated("setup", signal=9, exitCode=137)]
        ),
        "Init:Signal:9",
    ),
    (
        "init exit code 0 counts as finished, whatever the signal",
        make_pod(
            phase="Pending", init=INIT1, init_statuses=[terminated("setup", signal=9, exitCode=0)]
        ),
        "Pending",
    ),
    (
        "pod initializing after init",
        make_pod(
            [waiting("PodInitializing")],
            phase="Pending",
            init=INIT1,
            init_statuses=[terminated("setup", reason="Completed", exitCode=0)],
        ),
        "PodInitializing",
    ),
    (
        "completed container beside a running one, pod ready",
        make_pod(
            [terminated("a", reason="Completed", exitCode=0), running(name="b")],
            containers=("a", "b"),
            conditions=READY_TRUE,
        ),
        "Running",
    ),
    (
        "completed container beside a running one, pod not ready",
        make_pod(
            [terminated("a", reason="Completed", exitCode=0), running(name="b")],
            containers=("a", "b"),
            conditions=READY_FALSE,
        ),
        "NotReady",
    ),
    (
        "first container's state wins",
        make_pod(
            [waiting("CrashLoopBackOff", "a"), waiting("ErrImagePull", "b")],
            containers=("a", "b"),
        ),
        "CrashLoopBackOff",
    ),
]


@pytest.mark.parametrize(
    ("pod", "expected"), [(p, e) for _, p, e in STATUS_CASES], ids=[c[0] for c in STATUS_CASES]
)
def test_pod_status(pod: dict, expected: str) -> None:
    assert status_of(pod) == expected


def test_running_pod_cells_match_kubectl_get_pods_wide() -> None:
    pod = make_pod(
        [running()],
        conditions=READY_TRUE,
        podIP="198.18.1.169",
        podIPs=[{"ip": "198.18.1.169"}],
    )
    pod["spec"]["nodeName"] = "w1-k8s"
    assert cells(pod) == [
        "web",
        "1/1",
        "Running",
        "0",
        "5m",
        "198.18.1.169",
        "w1-k8s",
        "<none>",
        "<none>",
    ]


def test_wide_cells_are_none_placeholders_when_unset() -> None:
    assert cells(make_pod(phase="Pending"))[5:] == ["<none>"] * 4


def test_pod_ip_falls_back_to_pod_ip_field() -> None:
    assert cells(make_pod([running()], podIP="198.18.0.7"))[5] == "198.18.0.7"


def test_nominated_node_and_readiness_gates() -> None:
    pod = make_pod(
        [running()],
        conditions=[
            {"type": "Ready", "status": "True"},
            {"type": "example.com/lb", "status": "True"},
            {"type": "example.com/dns", "status": "False"},
        ],
        nominatedNodeName="w2-k8s",
    )
    pod["spec"]["readinessGates"] = [
        {"conditionType": "example.com/lb"},
        {"conditionType": "example.com/dns"},
    ]
    assert cells(pod)[7:] == ["w2-k8s", "1/2"]


def test_ready_counts_ready_running_containers_only() -> None:
    pod = make_pod(
        [running(name="a"), running(ready=False, name="b"), waiting("CrashLoopBackOff", "c")],
        containers=("a", "b", "c"),
    )
    assert cells(pod)[1] == "1/3"


def test_sidecar_init_containers_count_towards_ready_and_total() -> None:
    sidecar = running(name="proxy")
    sidecar["started"] = True
    pod = make_pod([running()], init=SIDECAR, init_statuses=[sidecar])
    assert cells(pod)[1:3] == ["2/2", "Running"]


def test_restarts_show_how_long_ago_the_last_one_was() -> None:
    c = running(restarts=1)
    c["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ago(300)}}
    assert cells(make_pod([c]))[3] == "1 (5m ago)"


def test_restarts_use_the_latest_finish_across_containers() -> None:
    a = running(name="a", restarts=2)
    a["lastState"] = {"terminated": {"finishedAt": ago(7200)}}
    b = running(name="b", restarts=1)
    b["lastState"] = {"terminated": {"finishedAt": ago(45)}}
    assert cells(make_pod([a, b], containers=("a", "b")))[3] == "3 (45s ago)"


def test_restarts_without_last_state_are_a_plain_number() -> None:
    assert cells(make_pod([running(restarts=2)]))[3] == "2"


def test_init_restarts_count_only_while_initializing() -> None:
    crashing = waiting("CrashLoopBackOff", "setup", restarts=3)
    crashing["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ago(30)}}
    initializing = make_pod(phase="Pending", init=INIT1, init_statuses=[crashing])
    assert cells(initializing)[2:4] == ["Init:CrashLoopBackOff", "3 (30s ago)"]

    done = terminated("setup", reason="Completed", exitCode=0)
    done["restartCount"] = 3
    running_pod = make_pod([running()], init=INIT1, init_statuses=[done])
    assert cells(running_pod)[2:4] == ["Running", "0"]


def test_columns_and_wide_priorities() -> None:
    cols = column_definitions("", "Pod")
    assert [c["name"] for c in cols] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
        "IP",
        "Node",
        "Nominated Node",
        "Readiness Gates",
    ]
    assert [c["priority"] for c in cols] == [0] * 5 + [1] * 4
    assert cols[0]["format"] == "name"
    assert cols[3]["type"] == "string"


def test_finished_pods_carry_a_completed_row_condition() -> None:
    done = make_pod([terminated(reason="Completed", exitCode=0)], phase="Succeeded")
    failed = make_pod([terminated(reason="Error", exitCode=1)], phase="Failed")
    table = to_table("", "Pod", [done, failed, make_pod([running()])], NOW)
    conds = [row.get("conditions") for row in table["rows"]]
    assert conds[0] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]
    assert conds[1][0]["reason"] == "Failed"
    assert conds[2] is None
