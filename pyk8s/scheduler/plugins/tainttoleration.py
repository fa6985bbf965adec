"""TaintToleration: NoSchedule / NoExecute taints a pod does not tolerate filter the
node out; untolerated PreferNoSchedule taints lower its score.

Nodes share a few distinct taint sets, so a pod's verdict is computed once per set
and spread over the nodes with one numpy lookup.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pyk8s.scheduler.cache import NodeInfo, Taint
from pyk8s.scheduler.framework import (
    SUCCESS,
    CycleState,
    Plugin,
    Status,
    default_normalize,
    unresolvable,
)
from pyk8s.scheduler.podinfo import PodInfo

NAME = "TaintToleration"
FILTER_EFFECTS = ("NoSchedule", "NoExecute")


def tolerates(tol: dict[str, Any], taint: Taint) -> bool:
    """Upstream's Toleration.ToleratesTaint."""
    key, value, effect = taint
    if tol.get("effect") and tol["effect"] != effect:
        return False
    if tol.get("key") and tol["key"] != key:
        return False
    op = tol.get("operator") or "Equal"
    if op == "Exists":
        return True
    return op == "Equal" and (tol.get("value") or "") == value


def tolerations(pod: PodInfo) -> list[dict[str, Any]]:
    return pod.spec.get("tolerations") or []


def first_untolerated(taints: tuple[Taint, ...], tols: list[dict[str, Any]]) -> Taint | None:
    for taint in taints:
        if taint[2] in FILTER_EFFECTS and not any(tolerates(t, taint) for t in tols):
            return taint
    return None


def _prefer_tolerations(pod: PodInfo) -> list[dict[str, Any]]:
    return [t for t in tolerations(pod) if t.get("effect") in (None, "", "PreferNoSchedule")]


def count_intolerable_prefer(taints: tuple[Taint, ...], tols: list[dict[str, Any]]) -> int:
    return sum(
        1
        for taint in taints
        if taint[2] == "PreferNoSchedule" and not any(tolerates(t, taint) for t in tols)
    )


def _reason(taint: Taint) -> str:
    return f"node(s) had untolerated taint {{{taint[0]}: {taint[1]}}}"


class TaintToleration(Plugin):
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        taint = first_untolerated(node.taints, tolerations(pod))
        return SUCCESS if taint is None else unresolvable(NAME, _reason(taint))

    def _per_set(self, pod: PodInfo, slot: str, fn: Any) -> np.ndarray:
        """fn(taint set) for every distinct taint set, cached on the pod."""
        sets = self.cache.taint_sets
        cached = pod.extra.get(slot)
        if cached is None or len(cached) != len(sets):
            cached = np.array([fn(s) for s in sets])
            pod.extra[slot] = cached
        return cached

    def filter_mask(self, state: CycleState, pod: PodInfo) -> np.ndarray | None:
        if len(self.cache.taint_sets) == 1:
            return None  # no node has taints
        tols = tolerations(pod)
        ok = self._per_set(pod, "tt_ok", lambda s: first_untolerated(s, tols) is None)
        return ok[self.cache.taint_set[: self.cache.size]]

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return count_intolerable_prefer(node.taints, _prefer_tolerations(pod))

    def score_nodes(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> np.ndarray:
        tols = _prefer_tolerations(pod)
        counts = self._per_set(pod, "tt_prefer", lambda s: count_intolerable_prefer(s, tols))
        return counts.astype(np.int64)[self.cache.taint_set[idx]]

    def normalize(self, state: CycleState, pod: PodInfo, scores: np.ndarray) -> np.ndarray:
        return default_normalize(scores, reverse=True)
