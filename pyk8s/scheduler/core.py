"""One scheduling decision: filter, pick a sample of feasible nodes, score, select;
or, when nothing fits, upstream's FitError message.

As upstream, in a large cluster only part of the nodes is scored: filtering starts
where the previous pod's stopped and takes the first `num_feasible_nodes_to_find`
feasible nodes (50% - nodes/125, at least 5% and at least 100 nodes). Ties between
the best scores are broken uniformly at random.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import numpy as np

from pyk8s.scheduler.framework import Code, CycleState, Framework, Status
from pyk8s.scheduler.podinfo import PodInfo

NO_NODES = "no nodes available to schedule pods"
MIN_FEASIBLE_NODES = 100
MIN_FEASIBLE_PERCENTAGE = 5
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


@dataclass
class Result:
    node: str = ""
    message: str = ""  # the failure message when node == ""
    evaluated: int = 0
    feasible: int = 0
    unresolvable: bool = False  # no cluster change short of a new node can help

    @property
    def ok(self) -> bool:
        return bool(self.node)


def num_feasible_nodes_to_find(num_all: int, percentage: int = 0) -> int:
    """Upstream's numFeasibleNodesToFind (percentageOfNodesToScore 0 means adaptive)."""
    if num_all < MIN_FEASIBLE_NODES:
        return num_all
    if percentage <= 0:
        percentage = max(50 - num_all // 125, MIN_FEASIBLE_PERCENTAGE)
    if percentage >= 100:
        return num_all
    return max(num_all * percentage // 100, MIN_FEASIBLE_NODES)


class Algorithm:
    def __init__(
        self,
        framework: Framework,
        *,
        rng: random.Random | None = None,
        percentage_of_nodes_to_score: int = 0,
        vectorized: bool = True,
    ) -> None:
        self.framework = framework
        self.cache = framework.cache
        self.rng = rng or random.Random()
        self.percentage = percentage_of_nodes_to_score
        self.vectorized = vectorized
        self.next_start = 0

    def schedule(self, pod: PodInfo) -> Result:
        num_all = self.cache.node_count()
        if num_all == 0:
            return Result(message=NO_NODES, unresolvable=True)
        state = CycleState()
        status = self.framework.run_pre_filter(state, pod)
        if not status.is_success():
            return self._prefilter_failure(pod, status, num_all)
        considered = self._considered(state)
        if self.vectorized:
            mask = self.framework.filter_mask(state, pod)
        else:
            mask = self.framework.filter_scalar(state, pod)
        mask &= considered
        feasible = np.flatnonzero(mask)
        if feasible.size == 0:
            return self._fit_failure(state, pod, considered, num_all)
        chosen = self._sample(feasible, num_all, restricted=state.node_names is not None)
        if chosen.size == 1:
            idx = int(chosen[0])
        else:
            self.framework.run_pre_score(state, pod, chosen)
            totals = self.framework.score(state, pod, chosen, vectorized=self.vectorized)
            best = np.flatnonzero(totals == totals.max())
            idx = int(chosen[best[self.rng.randrange(best.size)]])
        return Result(node=self.cache.names[idx] or "", evaluated=num_all, feasible=chosen.size)

    def _considered(self, state: CycleState) -> np.ndarray:
        cache = self.cache
        if state.node_names is None:
            return cache.valid[: cache.size].copy()
        mask = np.zeros(cache.size, dtype=bool)
        for name in state.node_names:
            idx = cache.slot(name)
            if idx is not None:
                mask[idx] = True
        return mask

    def _sample(self, feasible: np.ndarray, num_all: int, restricted: bool) -> np.ndarray:
        """The first K feasible slots from the rotating start, as upstream's search order."""
        want = num_feasible_nodes_to_find(num_all, self.percentage)
        if restricted or feasible.size <= want:
            return feasible  # every node was examined: the start stays where it is
        pos = int(np.searchsorted(feasible, self.next_start))
        rotated = np.concatenate((feasible[pos:], feasible[:pos]))
        chosen = rotated[:want]
        last = int(chosen[-1])
        size = self.cache.size
        processed = (last - self.next_start) % size + 1
        self.next_start = (self.next_start + processed) % size
        return chosen

    # -- failure messages -----------------------------------------------------------

    def _diagnose(
        self, state: CycleState, pod: PodInfo, considered: np.ndarray
    ) -> list[tuple[int, Status]]:
        """The first failing plugin's status for every considered node."""
        out: list[tuple[int, Status]] = []
        if not self.vectorized:
            for idx in np.flatnonzero(considered):
                s = self.framework.run_filter(state, pod, self.cache.view(int(idx)))
                out.append((int(idx), s))
            return out
        remaining = considered.copy()
        for plugin in self.framework.filters:
            if plugin.name in state.skip_filter:
                continue
            m = plugin.filter_mask(state, pod)
            if m is None:
                continue
            for idx in np.flatnonzero(remaining & ~m):
                s = plugin.filter(state, pod, self.cache.view(int(idx)))
                out.append((int(idx), Status(s.code, s.reasons, plugin.name)))
            remaining &= m
        return out

    def _fit_failure(
        self, state: CycleState, pod: PodInfo, considered: np.ndarray, num_all: int
    ) -> Result:
        statuses = self._diagnose(state, pod, considered)
        reasons: Counter[str] = Counter()
        for _, s in statuses:
            reasons.update(s.reasons)
        codes = [s.code for _, s in statuses]
        absent = num_all - len(statuses)
        if absent > 0 and state.node_names is not None:
            plugins = state.data.get("restricted_by") or []
            reasons[f"node(s) didn't satisfy plugin(s) [{' '.join(plugins)}]"] += absent
        message = f"0/{num_all} nodes are available: {_histogram(reasons)}."
        message += f" {self._preemption(pod, codes, num_all)}."
        unresolvable = all(c == Code.UNSCHEDULABLE_AND_UNRESOLVABLE for c in codes)
        return Result(message=message, evaluated=num_all, unresolvable=unresolvable)

    def _prefilter_failure(self, pod: PodInfo, status: Status, num_all: int) -> Result:
        message = f"0/{num_all} nodes are available: {status.message()}."
        message += f" {self._preemption(pod, [status.code] * num_all, num_all)}."
        unresolvable = status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        return Result(message=message, evaluated=num_all, unresolvable=unresolvable)

    def _preemption(self, pod: PodInfo, codes: list[Code], num_all: int) -> str:
        """DefaultPreemption's PostFilter message. Preemption itself is not implemented:
        nodes where it might help report that no victims were found."""
        if pod.spec.get("preemptionPolicy") == "Never":
            return "preemption: not eligible due to preemptionPolicy=Never."
        potential = sum(1 for c in codes if c == Code.UNSCHEDULABLE)
        reasons: Counter[str] = Counter()
        if potential:
            reasons[NO_VICTIMS] = potential
        if num_all - potential:
            reasons[NOT_HELPFUL] = num_all - potential
        return f"preemption: 0/{num_all} nodes are available: {_histogram(reasons)}."


def _histogram(reasons: Counter[str]) -> str:
    return ", ".join(sorted(f"{n} {reason}" for reason, n in reasons.items()))
