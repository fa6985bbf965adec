"""Deployment status and conditions: Available, Progressing (and its deadline),
ReplicaFailure, and the requeue that notices a stuck rollout on time.
(upstream's progress.go plus the condition helpers of deployment_util.go)"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pyk8s.controllers.deployment.util import (
    MAX_INT32,
    Obj,
    actual_replica_count,
    available_replica_count,
    max_unavailable,
    ready_replica_count,
    replica_count,
    replicas_of,
)
from pyk8s.machinery import meta

if TYPE_CHECKING:
    from pyk8s.controllers.deployment.controller import DeploymentController

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"

# Reasons, as upstream names them.
NEW_RS_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
RS_UPDATED_REASON = "ReplicaSetUpdated"
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
FAILED_RS_CREATE_REASON = "ReplicaSetCreateError"
PAUSED_REASON = "DeploymentPaused"
RESUMED_REASON = "DeploymentResumed"
MIN_AVAILABLE_REASON = "MinimumReplicasAvailable"
MIN_UNAVAILABLE_REASON = "MinimumReplicasUnavailable"


# ------------------------------------------------------------------------ conditions


def new_condition(type_: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = meta.format_time(now)
    return {
        "type": type_,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def get_condition(status: Obj | None, type_: str) -> Obj | None:
    for cond in (status or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def set_condition(status: Obj, cond: Obj) -> None:
    """Set a condition; same status and reason is a no-op, and a condition whose
    status did not change keeps its lastTransitionTime. The set one goes last."""
    current = get_condition(status, cond["type"])
    if current is not None:
        if current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
            return
        if current.get("status") == cond["status"]:
            cond["lastTransitionTime"] = current.get("lastTransitionTime")
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: Obj, type_: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != type_]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


# ---------------------------------------------------------------------------- status


def has_progress_deadline(d: Obj) -> bool:
    deadline = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return deadline is not None and deadline != MAX_INT32


def calculate_status(all_rss: list[Obj | None], new_rs: Obj | None, d: Obj, now: datetime) -> Obj:
    """The deployment status the replica sets imply (conditions carried over, then
    Available set by upstream's rule: available >= replicas - maxUnavailable)."""
    available = available_replica_count(all_rss)
    unavailable = max(replica_count(all_rss) - available, 0)
    old = d.get("status") or {}
    status: Obj = {
        "observedGeneration": (d.get("metadata") or {}).get("generation", 0),
        "replicas": actual_replica_count(all_rss),
        "updatedReplicas": actual_replica_count([new_rs]),
        "readyReplicas": ready_replica_count(all_rss),
        "availableReplicas": available,
        "unavailableReplicas": unavailable,
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        status["conditions"] = copy.deepcopy(old["conditions"])
    if available >= replicas_of(d) - max_unavailable(d):
        cond = new_condition(
            AVAILABLE, "True", MIN_AVAILABLE_REASON, "Deployment has minimum availability.", now
        )
    else:
        cond = new_condition(
            AVAILABLE,
            "False",
            MIN_UNAVAILABLE_REASON,
            "Deployment does not have minimum availability.",
            now,
        )
    set_condition(status, cond)
    return status


def deployment_complete(d: Obj, status: Obj) -> bool:
    want = replicas_of(d)
    return (
        status.get("updatedReplicas", 0) == want
        and status.get("replicas", 0) == want
        and status.get("availableReplicas", 0) == want
        and status.get("observedGeneration", 0) >= (d.get("metadata") or {}).get("generation", 0)
    )


def deployment_progressing(d: Obj, new: Obj) -> bool:
    """Any progress between the stored status and `new`: more updated, ready or
    available replicas, or fewer old ones."""
    old = d.get("status") or {}

    def g(s: Obj, k: str) -> int:
        return int(s.get(k) or 0)

    old_old = g(old, "replicas") - g(old, "updatedReplicas")
    new_old = g(new, "replicas") - g(new, "updatedReplicas")
    return (
        g(new, "updatedReplicas") > g(old, "updatedReplicas")
        or new_old < old_old
        or g(new, "readyReplicas") > g(old, "readyReplicas")
        or g(new, "availableReplicas") > g(old, "availableReplicas")
    )


def _deadline(d: Obj) -> timedelta:
    return timedelta(seconds=int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0))


def deployment_timed_out(d: Obj, status: Obj, now: datetime) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE_REASON:
        return False
    if cond.get("reason") == TIMED_OUT_REASON:
        return True
    return meta.parse_time(cond["lastUpdateTime"]) + _deadline(d) < now


def rs_name_or(d: Obj, new_rs: Obj | None) -> tuple[str, str]:
    """('ReplicaSet', name) of the new set, else ('Deployment', the deployment's name)."""
    if new_rs is not None:
        return "ReplicaSet", meta.name_of(new_rs)
    return "Deployment", meta.name_of(d)


def progress_condition(d: Obj, new_rs: Obj | None, status: Obj, now: datetime) -> Obj | None:
    """The Progressing condition this sync should set (None: leave it as is)."""
    kind, name = rs_name_or(d, new_rs)
    if deployment_complete(d, status):
        msg = f'{kind} "{name}" has successfully progressed.'
        return new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE_REASON, msg, now)
    if deployment_progressing(d, status):
        msg = f'{kind} "{name}" is progressing.'
        return new_condition(PROGRESSING, "True", RS_UPDATED_REASON, msg, now)
    if deployment_timed_out(d, status, now):
        msg = f'{kind} "{name}" has timed out progressing.'
        return new_condition(PROGRESSING, "False", TIMED_OUT_REASON, msg, now)
    return None


def apply_progress(d: Obj, new_rs: Obj | None, status: Obj, now: datetime) -> None:
    """Update status's Progressing condition as upstream's syncRolloutStatus does."""
    if not has_progress_deadline(d):
        remove_condition(status, PROGRESSING)
        return
    current = get_condition(d.get("status"), PROGRESSING)
    complete = (
        status.get("replicas") == status.get("updatedReplicas")
        and current is not None
        and current.get("reason") == NEW_RS_AVAILABLE_REASON
    )
    if complete:
        return
    cond = progress_condition(d, new_rs, status, now)
    if cond is None:
        return
    if cond["reason"] == RS_UPDATED_REASON and current is not None:
        # Progress refreshes lastUpdateTime even with the same reason: replace it,
        # keeping the transition time while the status stays True.
        if current.get("status") == "True":
            cond["lastTransitionTime"] = current.get("lastTransitionTime")
        remove_condition(status, PROGRESSING)
    set_condition(status, cond)


def replica_failures(all_rss: list[Obj | None], new_rs: Obj | None) -> list[Obj]:
    """ReplicaFailure conditions of the new set (preferred), else of any set."""

    def failures(rs: Obj | None) -> list[Obj]:
        out = []
        for c in ((rs or {}).get("status") or {}).get("conditions") or []:
            if c.get("type") == REPLICA_FAILURE:
                out.append(
                    {
                        "type": REPLICA_FAILURE,
                        "status": c.get("status"),
                        "lastUpdateTime": c.get("lastTransitionTime"),
                        "lastTransitionTime": c.get("lastTransitionTime"),
                        "reason": c.get("reason", ""),
                        "message": c.get("message", ""),
                    }
                )
        return out

    found = failures(new_rs)
    if found:
        return found
    return [c for rs in all_rss for c in failures(rs)]


def rollout_status(all_rss: list[Obj | None], new_rs: Obj | None, d: Obj, now: datetime) -> Obj:
    """The full status a rollout sync writes: counts, Available, Progressing, ReplicaFailure."""
    status = calculate_status(all_rss, new_rs, d, now)
    apply_progress(d, new_rs, status, now)
    failed = replica_failures(all_rss, new_rs)
    if failed:
        set_condition(status, failed[0])
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def stuck_requeue_after(d: Obj, new_status: Obj, now: datetime) -> float | None:
    """Seconds until this rollout's progress deadline passes (None: nothing to watch).

    Without this the deadline would only be noticed at the next unrelated event."""
    current = get_condition(d.get("status"), PROGRESSING)
    if not has_progress_deadline(d) or current is None:
        return None
    if deployment_complete(d, new_status) or current.get("reason") == TIMED_OUT_REASON:
        return None
    due = meta.parse_time(current["lastUpdateTime"]) + _deadline(d)
    return max((due - now).total_seconds(), 0.0)


def statuses_equal(a: Any, b: Any) -> bool:
    """Status equality as upstream's DeepEqual sees it (missing == zero for counts)."""
    return _normal(a) == _normal(b)


def _normal(status: Any) -> Obj:
    s = dict(status or {})
    for k in (
        "observedGeneration",
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
        "unavailableReplicas",
    ):
        s[k] = s.get(k) or 0
    if not s.get("conditions"):
        s.pop("conditions", None)
    return s


# ------------------------------------------------------------------- controller part


class ProgressMixin:
    async def sync_rollout_status(
        self: DeploymentController, all_rss: list[Obj | None], new_rs: Obj | None, d: Obj
    ) -> None:
        """Write the rollout's status if it changed; otherwise make sure the deployment
        is looked at again when its progress deadline passes."""
        now = self.now()
        status = rollout_status(all_rss, new_rs, d, now)
        if statuses_equal(d.get("status"), status):
            self.requeue_stuck(d, status, now)
            return
        d["status"] = status
        await self.update_deployment_status(d)

    def requeue_stuck(self: DeploymentController, d: Obj, status: Obj, now: datetime) -> None:
        after = stuck_requeue_after(d, status, now)
        if after is None:
            return
        key = meta.key_of(d)
        if after < 1.0:
            self.queue.add_rate_limited(key)
        else:
            self.enqueue_after(key, after)

    async def check_paused_conditions(self: DeploymentController, d: Obj) -> None:
        """Progressing Unknown DeploymentPaused / DeploymentResumed, so time spent
        paused never counts against the progress deadline."""
        if not has_progress_deadline(d):
            return
        status = d.setdefault("status", {})
        cond = get_condition(status, PROGRESSING)
        if cond is not None and cond.get("reason") == TIMED_OUT_REASON:
            return
        paused_cond = cond is not None and cond.get("reason") == PAUSED_REASON
        paused = bool(d["spec"].get("paused"))
        if paused and not paused_cond:
            new = new_condition(
                PROGRESSING, "Unknown", PAUSED_REASON, "Deployment is paused", self.now()
            )
        elif not paused and paused_cond:
            new = new_condition(
                PROGRESSING, "Unknown", RESUMED_REASON, "Deployment is resumed", self.now()
            )
        else:
            return
        set_condition(status, new)
        await self.update_deployment_status(d)
