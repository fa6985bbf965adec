"""NodeResourcesFit (filter on requests, LeastAllocated score) and
NodeResourcesBalancedAllocation, over the cache's resource columns.

Fit compares the pod's requests with allocatable minus what the node's pods
(assumed ones included) request. LeastAllocated favours nodes with the most free
cpu and memory, counting "non-zero" requests (100m / 200Mi for a container without
one); BalancedAllocation favours nodes whose cpu and memory fractions stay close.
"""

from __future__ import annotations

import numpy as np

from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    CycleState,
    Plugin,
    Status,
    unschedulable,
)
from pyk8s.scheduler.podinfo import PodInfo

FIT = "NodeResourcesFit"
BALANCED = "NodeResourcesBalancedAllocation"

# (reason, pod request index, allocatable column, requested column)
_RESOURCES = (
    ("Insufficient cpu", 0, "alloc_cpu", "req_cpu"),
    ("Insufficient memory", 1, "alloc_mem", "req_mem"),
    ("Insufficient ephemeral-storage", 2, "alloc_eph", "req_eph"),
)


def insufficient(pod: PodInfo, node: NodeInfo) -> list[str]:
    """Upstream's fitsRequest, reasons in its order."""
    reasons = []
    if node.col("num_pods") + 1 > node.col("alloc_pods"):
        reasons.append("Too many pods")
    for reason, i, alloc, req in _RESOURCES:
        want = pod.requests[i]
        if want > 0 and want > node.col(alloc) - node.col(req):
            reasons.append(reason)
    return reasons


def least_requested(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


class Fit(Plugin):
    name = FIT

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        reasons = insufficient(pod, node)
        return unschedulable(FIT, *reasons) if reasons else SUCCESS

    def filter_mask(self, state: CycleState, pod: PodInfo) -> np.ndarray | None:
        c, n = self.cache, self.cache.size
        mask = c.num_pods[:n] + 1 <= c.alloc_pods[:n]
        for _, i, alloc, req in _RESOURCES:
            want = pod.requests[i]
            if want > 0:
                mask &= want <= getattr(c, alloc)[:n] - getattr(c, req)[:n]
        return mask

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        total = weights = 0
        for i, alloc, req in ((0, "alloc_cpu", "nz_cpu"), (1, "alloc_mem", "nz_mem")):
            capacity = node.col(alloc)
            if capacity == 0:
                continue
            total += least_requested(node.col(req) + pod.non_zero[i], capacity)
            weights += 1
        return total // weights if weights else 0

    def score_nodes(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> np.ndarray:
        c = self.cache
        total = np.zeros(len(idx), dtype=np.int64)
        weights = np.zeros(len(idx), dtype=np.int64)
        for i, alloc, req in ((0, c.alloc_cpu, c.nz_cpu), (1, c.alloc_mem, c.nz_mem)):
            capacity = alloc[idx]
            requested = req[idx] + pod.non_zero[i]
            has = capacity > 0
            safe = np.where(has, capacity, 1)
            part = np.where(
                requested > capacity, 0, (capacity - requested) * MAX_NODE_SCORE // safe
            )
            total += np.where(has, part, 0)
            weights += has
        return np.where(weights > 0, total // np.maximum(weights, 1), 0)


class BalancedAllocation(Plugin):
    name = BALANCED

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status:
        # Best-effort pods are not scored, so they do not pile onto one node.
        if pod.requests[0] == 0 and pod.requests[1] == 0:
            return SKIP
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        fractions = []
        for i, alloc, req in ((0, "alloc_cpu", "req_cpu"), (1, "alloc_mem", "req_mem")):
            capacity = node.col(alloc)
            if capacity == 0:
                continue
            fractions.append(min((node.col(req) + pod.requests[i]) / capacity, 1.0))
        std = abs(fractions[0] - fractions[1]) / 2 if len(fractions) == 2 else 0.0
        return int((1 - std) * MAX_NODE_SCORE)

    def score_nodes(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> np.ndarray:
        c = self.cache
        fr = []
        has = []
        for i, alloc, req in ((0, c.alloc_cpu, c.req_cpu), (1, c.alloc_mem, c.req_mem)):
            capacity = alloc[idx]
            h = capacity > 0
            f = (req[idx] + pod.requests[i]) / np.where(h, capacity, 1)
            fr.append(np.minimum(f, 1.0))
            has.append(h)
        both = has[0] & has[1]
        std = np.where(both, np.abs(fr[0] - fr[1]) / 2, 0.0)
        return ((1 - std) * MAX_NODE_SCORE).astype(np.int64)
