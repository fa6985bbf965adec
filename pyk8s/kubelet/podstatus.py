"""Pod status as the kubelet reports it, computed from what the pod worker knows
about each container: pure functions, so every transition is unit-tested.

Phase follows upstream's getPhase; conditions are PodReadyToStartContainers,
Initialized, Ready, ContainersReady (the kubelet's own), followed by the ones
other components own (PodScheduled, DisruptionTarget, ...), which are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyk8s.kubelet.runtime.base import ContainerExit

Obj = dict[str, Any]

KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")


@dataclass
class ContainerRecord:
    """The kubelet's view of one container of a pod (across its restarts)."""

    name: str
    image: str  # the fully qualified reference reported in status
    init: bool = False
    container_id: str = ""
    image_id: str = ""
    restart_count: int = 0
    state: str = "waiting"  # waiting | running | terminated
    reason: str = "ContainerCreating"
    message: str = ""
    started_at: str = ""
    exit: ContainerExit | None = None
    last_exit: ContainerExit | None = None
    last_container_id: str = ""
    ready: bool = False
    # Running and past its startup probe (if any); the prober clears it until then.
    started: bool = False
    # "liveness" / "startup" once that probe failed: the pod worker kills and restarts it.
    probe_kill: str = ""
    extra: Obj = field(default_factory=dict)

    def set_waiting(self, reason: str, message: str = "") -> None:
        """Waiting (again): a container that ran keeps its exit as lastState."""
        if self.state == "terminated" and self.exit is not None:
            self.last_exit, self.last_container_id = self.exit, self.container_id
            self.exit = None
        self.state, self.reason, self.message, self.ready = "waiting", reason, message, False
        self.started, self.probe_kill = False, ""

    def set_running(self, container_id: str, started_at: str) -> None:
        """Running; ready and started unless the prober says otherwise."""
        if self.exit is not None:
            self.last_exit, self.last_container_id = self.exit, self.container_id
            self.exit = None
        self.container_id, self.started_at = container_id, started_at
        self.state, self.reason, self.message, self.ready = "running", "", "", True
        self.started, self.probe_kill = True, ""

    def set_terminated(self, exit_: ContainerExit) -> None:
        self.state, self.exit, self.ready = "terminated", exit_, False
        self.reason, self.message = exit_.reason, exit_.message
        self.started, self.probe_kill = False, ""

    @property
    def has_run(self) -> bool:
        return self.exit is not None or self.last_exit is not None or self.state == "running"


def _terminated(exit_: ContainerExit, container_id: str) -> Obj:
    out: Obj = {
        "containerID": container_id,
        "exitCode": exit_.exit_code,
        "finishedAt": exit_.finished_at,
        "reason": exit_.reason,
        "startedAt": exit_.started_at,
    }
    if exit_.message:
        out["message"] = exit_.message
    if not container_id:
        del out["containerID"]
    return out


def container_status(rec: ContainerRecord) -> Obj:
    """One entry of status.containerStatuses / initContainerStatuses."""
    if rec.state == "running":
        state: Obj = {"running": {"startedAt": rec.started_at}}
    elif rec.state == "terminated" and rec.exit is not None:
        state = {"terminated": _terminated(rec.exit, rec.container_id)}
    else:
        waiting = {"reason": rec.reason}
        if rec.message:
            waiting["message"] = rec.message
        state = {"waiting": waiting}
    last: Obj = {}
    if rec.last_exit is not None:
        last = {"terminated": _terminated(rec.last_exit, rec.last_container_id)}
    out: Obj = {}
    # A container waiting to restart still reports the ID of the one that exited.
    cid = rec.last_container_id if rec.state == "waiting" else rec.container_id
    if cid:
        out["containerID"] = cid
    out.update(
        {
            "image": rec.image,
            "imageID": rec.image_id,
            "lastState": last,
            "name": rec.name,
            "ready": rec.ready,
            "restartCount": rec.restart_count,
            "started": rec.state == "running" and rec.started,
            "state": state,
        }
    )
    return out


def pod_phase(spec: Obj, inits: list[ContainerRecord], apps: list[ContainerRecord]) -> str:
    """Upstream's getPhase for a pod that is not being torn down."""
    policy = spec.get("restartPolicy") or "Always"
    if any(r.state != "terminated" or (r.exit and r.exit.exit_code != 0) for r in inits):
        failed_init = any(
            r.state == "terminated" and r.exit and r.exit.exit_code != 0 for r in inits
        )
        return "Failed" if failed_init and policy == "Never" else "Pending"
    running = stopped = succeeded = waiting = 0
    for r in apps:
        if r.state == "running":
            running += 1
        elif r.state == "terminated":
            stopped += 1
            succeeded += int(r.exit is not None and r.exit.exit_code == 0)
        elif r.last_exit is not None:
            stopped += 1  # waiting to restart after it ran: counts as stopped
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if policy == "OnFailure":
            return "Succeeded" if stopped == succeeded else "Running"
        return "Succeeded" if stopped == succeeded else "Failed"
    return "Pending"


def _condition(type_: str, ok: bool, reason: str = "", message: str = "") -> Obj:
    cond: Obj = {"type": type_, "status": "True" if ok else "False"}
    if not ok and reason:
        cond["reason"] = reason
        if message:
            cond["message"] = message
    return cond


def _names(records: list[ContainerRecord]) -> str:
    return "[" + " ".join(r.name for r in records) + "]"


def kubelet_conditions(
    sandbox_ready: bool, inits: list[ContainerRecord], apps: list[ContainerRecord], phase: str
) -> list[Obj]:
    """The four conditions the kubelet owns, without timestamps."""
    pending_init = [
        r for r in inits if r.state != "terminated" or (r.exit and r.exit.exit_code != 0)
    ]
    initialized = _condition(
        "Initialized",
        not pending_init,
        "ContainersNotInitialized",
        f"containers with incomplete status: {_names(pending_init)}",
    )
    if phase == "Succeeded":
        # A completed pod is not ready; upstream says why with PodCompleted.
        done = {"status": "False", "reason": "PodCompleted"}
        return [
            _condition("PodReadyToStartContainers", False),
            initialized,
            {"type": "Ready", **done},
            {"type": "ContainersReady", **done},
        ]
    unready = [r for r in apps if not r.ready]
    msg = f"containers with unready status: {_names(unready)}"
    return [
        _condition("PodReadyToStartContainers", sandbox_ready),
        initialized,
        _condition("Ready", not unready, "ContainersNotReady", msg),
        _condition("ContainersReady", not unready, "ContainersNotReady", msg),
    ]


def merge_conditions(old: list[Obj], new: list[Obj], now: str) -> list[Obj]:
    """The kubelet's conditions (keeping a transition time while the status holds),
    then every condition another component owns, as it is."""
    previous = {c.get("type"): c for c in old}
    merged = []
    for cond in new:
        before = previous.get(cond["type"])
        same = before is not None and before.get("status") == cond["status"]
        merged.append(
            {
                "lastProbeTime": None,
                "lastTransitionTime": before.get("lastTransitionTime", now) if same else now,
                **cond,
            }
        )
    merged += [c for c in old if c.get("type") not in KUBELET_CONDITIONS]
    return merged


def build_status(
    pod: Obj,
    *,
    host_ip: str,
    pod_ip: str,
    sandbox_ready: bool,
    inits: list[ContainerRecord],
    apps: list[ContainerRecord],
    start_time: str,
    now: str,
) -> Obj:
    """The pod's new status: the kubelet's fields replaced, everyone else's kept."""
    old = dict(pod.get("status") or {})
    spec = pod.get("spec") or {}
    phase = pod_phase(spec, inits, apps)
    status = dict(old)
    status["phase"] = phase
    status["conditions"] = merge_conditions(
        list(old.get("conditions") or []),
        kubelet_conditions(sandbox_ready, inits, apps, phase),
        now,
    )
    status["hostIP"] = host_ip
    status["hostIPs"] = [{"ip": host_ip}]
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    status["startTime"] = old.get("startTime") or start_time
    if inits:
        status["initContainerStatuses"] = [container_status(r) for r in inits]
    status["containerStatuses"] = [container_status(r) for r in apps]
    return status


def same_status(a: Obj, b: Obj) -> bool:
    """Equal but for condition timestamps (a rewrite would change nothing visible)."""

    def strip(s: Obj) -> Obj:
        out = dict(s)
        out["conditions"] = [
            {k: v for k, v in c.items() if k not in ("lastTransitionTime", "lastProbeTime")}
            for c in s.get("conditions") or []
        ]
        return out

    return strip(a) == strip(b)
