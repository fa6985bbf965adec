"""The Pod printer: READY, STATUS and RESTARTS exactly as upstream's printPod computes them.

The STATUS cell is a small state machine over the pod's phase, reason, conditions and
init/app container states; its order of precedence is what users read in
`kubectl get pods`, so each step below mirrors upstream's.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api.printers.common import (
    NONE,
    Cells,
    Obj,
    Printer,
    age,
    age_col,
    col,
    dig,
    is_deleting,
    name_col,
    name_of,
    parse_time,
)
from pyk8s.machinery.meta import human_duration

COLUMNS = (
    name_col(),
    col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "string", "The aggregate status of the containers in this pod."),
    col(
        "Restarts",
        "string",
        "How many times the pod's containers have restarted, and how long ago the last restart was.",
    ),
    age_col(),
    col("IP", "string", "The pod's primary IP address; empty until one is allocated.", priority=1),
    col("Node", "string", "The node the pod is bound to; empty while unscheduled.", priority=1),
    col(
        "Nominated Node",
        "string",
        "The node on which the pod is expected to run after preemption frees room.",
        priority=1,
    ),
    col(
        "Readiness Gates",
        "string",
        "How many of the pod's extra readiness conditions are true.",
        priority=1,
    ),
)

NODE_UNREACHABLE_REASON = "NodeLost"
SCHEDULING_GATED = "SchedulingGated"


def _condition_true(pod: Obj, ctype: str) -> bool:
    for c in dig(pod, "status", "conditions", default=[]):
        if c.get("type") == ctype:
            return c.get("status") == "True"
    return False


def _has_ready_condition(pod: Obj) -> bool:
    """hasPodReadyCondition: any Ready condition with status True."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in dig(pod, "status", "conditions", default=[])
    )


def _restartable_init_names(pod: Obj) -> set[str]:
    """Sidecars: init containers with restartPolicy Always."""
    return {
        c.get("name", "")
        for c in dig(pod, "spec", "initContainers", default=[])
        if c.get("restartPolicy") == "Always"
    }


def _last_finished(status: Obj) -> float | None:
    return parse_time(dig(status, "lastState", "terminated", "finishedAt"))


def _later(a: float | None, b: float | None) -> float | None:
    if b is None:
        return a
    if a is None or a < b:
        return b
    return a


def _terminated_text(term: Obj, prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


class _Tally:
    """Mutable counters printPod accumulates while walking container statuses."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.ready = 0
        self.restarts = 0
        self.last_restart: float | None = None
        self.sidecar_restarts = 0
        self.sidecar_last_restart: float | None = None


def _walk_init_containers(pod: Obj, tally: _Tally) -> bool:
    """Init container states; returns True while the pod is still initializing."""
    sidecars = _restartable_init_names(pod)
    n_init = len(dig(pod, "spec", "initContainers", default=[]))
    for i, cs in enumerate(dig(pod, "status", "initContainerStatuses", default=[])):
        finished = _last_finished(cs)
        tally.restarts += cs.get("restartCount", 0)
        tally.last_restart = _later(tally.last_restart, finished)
        is_sidecar = cs.get("name") in sidecars
        if is_sidecar:
            tally.sidecar_restarts += cs.get("restartCount", 0)
            tally.sidecar_last_restart = _later(tally.sidecar_last_restart, finished)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and term.get("exitCode", 0) == 0:
            continue
        if is_sidecar and cs.get("started"):
            if cs.get("ready"):
                tally.ready += 1
            continue
        if term is not None:
            tally.reason = _terminated_text(term, "Init:")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            tally.reason = "Init:" + waiting["reason"]
        else:
            tally.reason = f"Init:{i}/{n_init}"
        return True
    return False


def _walk_containers(pod: Obj, tally: _Tally) -> None:
    """App container states, last to first, so the first container's state wins."""
    # Restarts of finished (non-sidecar) init containers no longer count once running.
    tally.restarts = tally.sidecar_restarts
    tally.last_restart = tally.sidecar_last_restart
    has_running = False
    for cs in reversed(dig(pod, "status", "containerStatuses", default=[])):
        tally.restarts += cs.get("restartCount", 0)
        tally.last_restart = _later(tally.last_restart, _last_finished(cs))
        state = cs.get("state") or {}
        waiting, term = state.get("waiting"), state.get("terminated")
        if waiting is not None and waiting.get("reason"):
            tally.reason = waiting["reason"]
        elif term is not None:
            tally.reason = _terminated_text(term)
        elif cs.get("ready") and state.get("running") is not None:
            has_running = True
            tally.ready += 1
    # A completed container next to a running one still reads as a running pod.
    if tally.reason == "Completed" and has_running:
        tally.reason = "Running" if _has_ready_condition(pod) else "NotReady"


def _summarize(pod: Obj, now: float) -> tuple[str, str, str]:
    """READY, STATUS and RESTARTS cells."""
    phase = dig(pod, "status", "phase", default="")
    status_reason = dig(pod, "status", "reason", default="")
    tally = _Tally(status_reason or phase)
    for c in dig(pod, "status", "conditions", default=[]):
        if c.get("type") == "PodScheduled" and c.get("reason") == SCHEDULING_GATED:
            tally.reason = SCHEDULING_GATED

    initializing = _walk_init_containers(pod, tally)
    if not initializing or _condition_true(pod, "Initialized"):
        _walk_containers(pod, tally)

    if is_deleting(pod) and status_reason == NODE_UNREACHABLE_REASON:
        tally.reason = "Unknown"
    elif is_deleting(pod) and phase not in ("Succeeded", "Failed"):
        tally.reason = "Terminating"

    total = len(dig(pod, "spec", "containers", default=[])) + len(_restartable_init_names(pod))
    restarts = str(tally.restarts)
    if tally.restarts and tally.last_restart is not None:
        restarts = f"{tally.restarts} ({human_duration(now - tally.last_restart)} ago)"
    return f"{tally.ready}/{total}", tally.reason, restarts


def _pod_ip(pod: Obj) -> str:
    ips = dig(pod, "status", "podIPs", default=[])
    ip = ips[0].get("ip", "") if ips else dig(pod, "status", "podIP", default="")
    return ip or NONE


def _readiness_gates(pod: Obj) -> str:
    gates = dig(pod, "spec", "readinessGates", default=[])
    if not gates:
        return NONE
    conditions = dig(pod, "status", "conditions", default=[])
    true = 0
    for gate in gates:
        for c in conditions:
            if c.get("type") == gate.get("conditionType"):
                true += c.get("status") == "True"
                break
    return f"{true}/{len(gates)}"


def pod_cells(pod: Obj, now: float) -> Cells:
    ready, status, restarts = _summarize(pod, now)
    return [
        name_of(pod),
        ready,
        status,
        restarts,
        age(pod, now),
        _pod_ip(pod),
        dig(pod, "spec", "nodeName", default="") or NONE,
        dig(pod, "status", "nominatedNodeName", default="") or NONE,
        _readiness_gates(pod),
    ]


def pod_conditions(pod: Obj) -> list[dict[str, Any]]:
    """Row conditions upstream attaches to finished pods (type Completed)."""
    phase = dig(pod, "status", "phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


PRINTERS = {("", "Pod"): Printer(COLUMNS, pod_cells, pod_conditions)}
