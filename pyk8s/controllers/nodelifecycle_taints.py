"""Pure helpers of the node lifecycle controller: which taints a node's
conditions call for (upstream's taint-node-by-condition and taint-based
eviction), toleration matching, and the Unknown conditions of a silent node."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
# condition type -> taint key, when the condition is True (NoSchedule only).
PRESSURE_TAINTS = {
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
    "NetworkUnavailable": "node.kubernetes.io/network-unavailable",
}
MANAGED = {
    (NOT_READY, "NoSchedule"),
    (NOT_READY, "NoExecute"),
    (UNREACHABLE, "NoSchedule"),
    (UNREACHABLE, "NoExecute"),
    (UNSCHEDULABLE, "NoSchedule"),
} | {(key, "NoSchedule") for key in PRESSURE_TAINTS.values()}

HEALTH_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def condition(node: Obj, type_: str) -> Obj | None:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def ready_status(node: Obj) -> str:
    cond = condition(node, "Ready")
    return (cond or {}).get("status") or ""


def wanted_taints(node: Obj) -> list[tuple[str, str]]:
    """The (key, effect) pairs this controller wants on the node, NoExecute first."""
    ready = ready_status(node)
    wanted: list[tuple[str, str]] = []
    if ready == "False":
        wanted += [(NOT_READY, "NoExecute"), (NOT_READY, "NoSchedule")]
    elif ready == "Unknown":
        wanted += [(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]
    for type_, key in PRESSURE_TAINTS.items():
        if (condition(node, type_) or {}).get("status") == "True":
            wanted.append((key, "NoSchedule"))
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.append((UNSCHEDULABLE, "NoSchedule"))
    return wanted


def reconcile_taints(node: Obj, now: str) -> list[Obj] | None:
    """The node's new taint list, or None when it is already right. Taints other
    components own are kept as they are; ours keep their timeAdded."""
    current = list((node.get("spec") or {}).get("taints") or [])
    wanted = wanted_taints(node)
    kept = [t for t in current if (t.get("key"), t.get("effect")) not in MANAGED]
    have = {(t.get("key"), t.get("effect")): t for t in current}
    ours = [have.get(w) or {"key": w[0], "effect": w[1], "timeAdded": now} for w in wanted]
    new = kept + ours
    if _taint_set(new) == _taint_set(current):
        return None
    return new


def _taint_set(taints: list[Obj]) -> set[tuple[str, str, str]]:
    return {(t.get("key", ""), t.get("value", ""), t.get("effect", "")) for t in taints}


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """Upstream's Toleration.ToleratesTaint."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return bool(key) and (toleration.get("value") or "") == (taint.get("value") or "")


def eviction_delay(pod: Obj, taints: list[Obj]) -> float | None:
    """Seconds until the pod must go for these NoExecute taints: 0 if one is not
    tolerated, None if all are tolerated forever, else the least tolerationSeconds."""
    tolerations = list((pod.get("spec") or {}).get("tolerations") or [])
    matching: list[Obj] = []
    for taint in taints:
        found = [t for t in tolerations if tolerates(t, taint)]
        if not found:
            return 0.0
        matching += found
    seconds = [t["tolerationSeconds"] for t in matching if t.get("tolerationSeconds") is not None]
    if not seconds:
        return None
    return float(max(min(seconds), 0))


def mark_unknown(node: Obj, now: str) -> list[Obj] | None:
    """The node's conditions with every health condition Unknown (None if they
    all already are), as the controller reports a kubelet that went silent."""
    conditions = [dict(c) for c in (node.get("status") or {}).get("conditions") or []]
    by_type = {c.get("type"): c for c in conditions}
    changed = False
    for type_ in HEALTH_CONDITIONS:
        cond = by_type.get(type_)
        if cond is None:
            conditions.append(
                {
                    "type": type_,
                    "status": "Unknown",
                    "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status.",
                    "lastHeartbeatTime": node["metadata"].get("creationTimestamp", now),
                    "lastTransitionTime": now,
                }
            )
            changed = True
        elif cond.get("status") != "Unknown":
            cond.update(
                status="Unknown",
                reason="NodeStatusUnknown",
                message="Kubelet stopped posting node status.",
                lastTransitionTime=now,
            )
            changed = True
    return conditions if changed else None
