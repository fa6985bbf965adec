"""The scheduling framework: plugin interfaces, status codes, the registry and the
runner that calls plugins in profile order.

Plugins answer with a `Status` (never an exception) at each extension point:

- PreFilter `pre_filter(state, pod)`: per-pod preparation; may restrict the nodes
  considered (`state.node_names`) or reject the pod outright.
- Filter, twice over: `filter(state, pod, node)` is the scalar reference for one
  node; `filter_mask(state, pod)` answers for every node slot at once as a numpy
  boolean column (None: nothing filtered). Both must agree (tests check it).
- PreScore / Score / NormalizeScore: `pre_score(state, pod, idx)` may return Skip;
  `score(state, pod, node)` (scalar) and `score_nodes(state, pod, idx)` (vector)
  give raw scores; `normalize(state, pod, scores)` maps them to 0..100.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from pyk8s.scheduler.cache import NodeCache, NodeInfo
from pyk8s.scheduler.podinfo import PodInfo

MAX_NODE_SCORE = 100


class Code(IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    WAIT = 4
    SKIP = 5


@dataclass(frozen=True, slots=True)
class Status:
    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    def is_success(self) -> bool:
        return self.code == Code.SUCCESS

    def is_skip(self) -> bool:
        return self.code == Code.SKIP

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def message(self) -> str:
        return ", ".join(self.reasons)


SUCCESS = Status()
SKIP = Status(Code.SKIP)


def unschedulable(plugin: str, *reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons, plugin)


def unresolvable(plugin: str, *reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons, plugin)


@dataclass
class CycleState:
    """Scratch space for one pod's scheduling cycle, shared by its plugins."""

    data: dict[str, Any] = field(default_factory=dict)
    node_names: set[str] | None = None  # a PreFilter's restriction of the nodes to try
    skip_filter: set[str] = field(default_factory=set)
    skip_score: set[str] = field(default_factory=set)


class Listers:
    """Read access to workload objects for default spreading (informer caches)."""

    def services(self, namespace: str) -> list[dict[str, Any]]:
        return []

    def controller(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return None


@dataclass
class Handle:
    """What plugin factories get: the node cache and object listers."""

    cache: NodeCache
    listers: Listers = field(default_factory=Listers)


class Plugin:
    name = ""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self.cache = handle.cache

    # PreFilter
    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        return SUCCESS

    # Filter
    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        return SUCCESS

    def filter_mask(self, state: CycleState, pod: PodInfo) -> np.ndarray | None:
        return None

    # Score
    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status:
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return 0

    def score_nodes(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> np.ndarray:
        return np.array([self.score(state, pod, self.cache.view(int(i))) for i in idx], np.int64)

    def normalize(self, state: CycleState, pod: PodInfo, scores: np.ndarray) -> np.ndarray:
        return scores


PluginFactory = Callable[[Handle], Plugin]


def default_normalize(scores: np.ndarray, reverse: bool) -> np.ndarray:
    """Upstream's DefaultNormalizeScore: scale to 0..100 by the maximum, optionally reversed."""
    top = int(scores.max()) if scores.size else 0
    if top == 0:
        return np.full_like(scores, MAX_NODE_SCORE) if reverse else scores
    out = MAX_NODE_SCORE * scores // top
    return MAX_NODE_SCORE - out if reverse else out


@dataclass
class Profile:
    """Which plugins run, in order, and score weights (upstream's default profile)."""

    filters: list[str]
    scores: dict[str, int]


def default_profile() -> Profile:
    return Profile(
        filters=[
            "NodeUnschedulable",
            "NodeName",
            "TaintToleration",
            "NodeAffinity",
            "NodePorts",
            "NodeResourcesFit",
            "PodTopologySpread",
        ],
        scores={
            "TaintToleration": 3,
            "NodeAffinity": 2,
            "NodeResourcesFit": 1,
            "PodTopologySpread": 2,
            "NodeResourcesBalancedAllocation": 1,
        },
    )


class Framework:
    """Instantiates a profile's plugins from the registry and runs extension points."""

    def __init__(
        self,
        handle: Handle,
        profile: Profile | None = None,
        registry: dict[str, PluginFactory] | None = None,
    ) -> None:
        from pyk8s.scheduler.plugins import REGISTRY

        registry = registry if registry is not None else REGISTRY
        profile = profile or default_profile()
        self.handle = handle
        self.cache = handle.cache
        self.plugins: dict[str, Plugin] = {}
        for name in [*profile.filters, *profile.scores]:
            if name not in self.plugins:
                self.plugins[name] = registry[name](handle)
        self.filters = [self.plugins[n] for n in profile.filters]
        self.scorers = [(self.plugins[n], w) for n, w in profile.scores.items()]

    # -- PreFilter -------------------------------------------------------------------

    def run_pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        for plugin in self.plugins.values():
            status = plugin.pre_filter(state, pod)
            if status.is_skip():
                state.skip_filter.add(plugin.name)
            elif not status.is_success():
                return Status(status.code, status.reasons, plugin.name)
        return SUCCESS

    # -- Filter ----------------------------------------------------------------------

    def filter_mask(self, state: CycleState, pod: PodInfo) -> np.ndarray:
        """Feasible slots, every filter applied as a column operation."""
        mask = self.cache.valid[: self.cache.size].copy()
        for plugin in self.filters:
            if plugin.name in state.skip_filter:
                continue
            m = plugin.filter_mask(state, pod)
            if m is not None:
                mask &= m
        return mask

    def run_filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """The scalar path: the first failing plugin's status for one node."""
        for plugin in self.filters:
            if plugin.name in state.skip_filter:
                continue
            status = plugin.filter(state, pod, node)
            if not status.is_success():
                return Status(status.code, status.reasons, plugin.name)
        return SUCCESS

    def filter_scalar(self, state: CycleState, pod: PodInfo) -> np.ndarray:
        """Feasible slots computed node by node (the reference for filter_mask)."""
        mask = np.zeros(self.cache.size, dtype=bool)
        for idx in self.cache.valid_slots():
            mask[idx] = self.run_filter(state, pod, self.cache.view(int(idx))).is_success()
        return mask

    # -- Score -----------------------------------------------------------------------

    def run_pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> None:
        for plugin, _ in self.scorers:
            if plugin.pre_score(state, pod, idx).is_skip():
                state.skip_score.add(plugin.name)

    def score(
        self, state: CycleState, pod: PodInfo, idx: np.ndarray, vectorized: bool = True
    ) -> np.ndarray:
        """Weighted, normalized total score for each slot in `idx`."""
        total = np.zeros(len(idx), dtype=np.int64)
        for plugin, weight in self.scorers:
            if plugin.name in state.skip_score:
                continue
            if vectorized:
                raw = plugin.score_nodes(state, pod, idx)
            else:
                views = (self.cache.view(int(i)) for i in idx)
                raw = np.array([plugin.score(state, pod, v) for v in views], dtype=np.int64)
            total += plugin.normalize(state, pod, raw) * weight
        return total
