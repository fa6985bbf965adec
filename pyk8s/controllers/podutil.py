"""Pure helpers on pod dicts, shared by the workload controllers.

Readiness and availability as upstream's pkg/api/v1/pod, the active-pod filter of
pkg/controller, and upstream's ranking of a controller's pods for deletion
(ActivePodsWithRanks): the pods a scale-down should remove come first.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pyk8s.machinery import meta

Obj = dict[str, Any]

POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"

# Upstream's podPhaseToOrdinal: phases not listed (Succeeded, Failed, "") rank as Pending.
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


# ------------------------------------------------------------------ conditions


def pod_phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def get_pod_condition(pod: Obj, cond_type: str) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == cond_type:
            return cond
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = get_pod_condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def _time(value: str | None) -> datetime | None:
    """A metav1.Time as a datetime; None stands for Go's zero time."""
    if not value:
        return None
    try:
        return meta.parse_time(value)
    except ValueError:
        return None


def pod_ready_time(pod: Obj) -> datetime | None:
    """When the pod last became ready (None if it is not ready or the time is unset)."""
    if not is_pod_ready(pod):
        return None
    cond = get_pod_condition(pod, "Ready") or {}
    return _time(cond.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: datetime | None = None) -> bool:
    """Ready, and ready for more than min_ready_seconds (upstream's IsPodAvailable)."""
    now = now or meta.now()
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = pod_ready_time(pod)
    # Upstream's test is strict: lastTransitionTime + minReadySeconds before now.
    return since is not None and since.timestamp() + min_ready_seconds < now.timestamp()


def seconds_until_available(pod: Obj, min_ready_seconds: int, now: datetime | None = None) -> float:
    """For a ready pod not yet available: how long until it is (0 if it already is)."""
    since = pod_ready_time(pod)
    if since is None or min_ready_seconds <= 0:
        return 0.0
    elapsed = ((now or meta.now()) - since).total_seconds()
    return max(0.0, min_ready_seconds - elapsed)


def is_active(pod: Obj) -> bool:
    """Not terminal (Succeeded/Failed) and not being deleted (upstream's IsPodActive)."""
    return pod_phase(pod) not in ("Succeeded", "Failed") and not meta.is_being_deleted(pod)


def filter_active(pods: Iterable[Obj]) -> list[Obj]:
    return [p for p in pods if is_active(p)]


def max_container_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def deletion_cost(pod: Obj) -> int:
    """The pod-deletion-cost annotation (an int32); absent or malformed counts as 0."""
    raw = (meta.metadata_of(pod).get("annotations") or {}).get(POD_DELETION_COST)
    if raw is None:
        return 0
    try:
        value = int(str(raw).strip(), 10)
    except ValueError:
        return 0
    return value if -(2**31) <= value < 2**31 else 0


def node_name(pod: Obj) -> str:
    return (pod.get("spec") or {}).get("nodeName") or ""


# ------------------------------------------------------------- deletion ranking


def colocation_ranks(pods: Sequence[Obj], related: Iterable[Obj]) -> list[int]:
    """For each pod, how many active related pods share its node (upstream's rank).

    `related` is usually a superset of `pods` (a deployment's pods across its replica
    sets): a pod on a crowded node is a better candidate for deletion.
    """
    per_node: dict[str, int] = {}
    for pod in related:
        if is_active(pod):
            per_node[node_name(pod)] = per_node.get(node_name(pod), 0) + 1
    return [per_node.get(node_name(p), 0) for p in pods]


def _log_rank(moment: datetime, now: datetime) -> int:
    """floor(log2(age in nanoseconds)), -1 for a moment not in the past."""
    age_ns = (now - moment).total_seconds() * 1e9
    return int(math.log2(age_ns)) if age_ns > 0 else -1


def _newer_first(t1: datetime | None, t2: datetime | None, now: datetime | None) -> bool | None:
    """Upstream's time rule: zero first, then more recent first, compared on a
    logarithmic scale of age when `now` is known (None: same bucket, caller breaks the tie)."""
    if now is None or t1 is None or t2 is None:
        if t1 is None or t2 is None:
            return t1 is None
        return t1 > t2
    diff = _log_rank(t1, now) - _log_rank(t2, now)
    return None if diff == 0 else diff < 0


def _deletion_less(a: tuple[Obj, int], b: tuple[Obj, int], now: datetime | None) -> bool:
    """True if pod `a` should be deleted before pod `b` (ActivePodsWithRanks.Less)."""
    (pa, rank_a), (pb, rank_b) = a, b
    na, nb = node_name(pa), node_name(pb)
    if na != nb and (not na or not nb):  # 1. unassigned before assigned
        return not na
    oa, ob = _PHASE_ORDINAL.get(pod_phase(pa), 0), _PHASE_ORDINAL.get(pod_phase(pb), 0)
    if oa != ob:  # 2. Pending < Unknown < Running
        return oa < ob
    ready_a, ready_b = is_pod_ready(pa), is_pod_ready(pb)
    if ready_a != ready_b:  # 3. not ready before ready
        return not ready_a
    ca, cb = deletion_cost(pa), deletion_cost(pb)
    if ca != cb:  # 4. lower deletion cost first
        return ca < cb
    if rank_a != rank_b:  # 5. doubled up on a node first
        return rank_a > rank_b
    if ready_a and ready_b:  # 6. ready for less time first
        ta, tb = pod_ready_time(pa), pod_ready_time(pb)
        if ta != tb:
            first = _newer_first(ta, tb, now)
            return meta.uid_of(pa) < meta.uid_of(pb) if first is None else first
    ra, rb = max_container_restarts(pa), max_container_restarts(pb)
    if ra != rb:  # 7. more restarts first
        return ra > rb
    ta = _time(meta.metadata_of(pa).get("creationTimestamp"))
    tb = _time(meta.metadata_of(pb).get("creationTimestamp"))
    if ta != tb:  # 8. newer first
        first = _newer_first(ta, tb, now)
        return meta.uid_of(pa) < meta.uid_of(pb) if first is None else first
    return False


def sort_for_deletion(
    pods: Sequence[Obj], ranks: Sequence[int] | None = None, now: datetime | None = None
) -> list[Obj]:
    """The pods ordered as upstream's ActivePodsWithRanks: delete from the front.

    `ranks` defaults to all zeros; `now` enables the logarithmic age comparison
    (upstream's LogarithmicScaleDown), without it times compare exactly.
    """
    ranked = list(zip(pods, ranks if ranks is not None else [0] * len(pods), strict=True))

    def compare(a: tuple[Obj, int], b: tuple[Obj, int]) -> int:
        if _deletion_less(a, b, now):
            return -1
        return 1 if _deletion_less(b, a, now) else 0

    ranked.sort(key=functools.cmp_to_key(compare))
    return [pod for pod, _ in ranked]
