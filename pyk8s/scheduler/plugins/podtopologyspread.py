"""PodTopologySpread: DoNotSchedule constraints filter (skew over a topology key
must stay within maxSkew), ScheduleAnyway constraints score; pods without
constraints of their own that belong to a Service / ReplicaSet / StatefulSet /
ReplicationController get upstream's system defaults (hostname maxSkew 3, zone
maxSkew 5, both ScheduleAnyway) for scoring.

Counting is vectorized: matching pods are found through the cache's pod label
index, binned per node slot, then per topology domain with numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyk8s.machinery.labels import Selector, selector_from_set
from pyk8s.machinery.labelselector import selector_from_label_selector
from pyk8s.scheduler.cache import NodeCache, NodeInfo
from pyk8s.scheduler.framework import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    CycleState,
    Plugin,
    Status,
    unresolvable,
    unschedulable,
)
from pyk8s.scheduler.plugins.nodeaffinity import required_mask
from pyk8s.scheduler.plugins.tainttoleration import first_untolerated, tolerations
from pyk8s.scheduler.podinfo import PodInfo

NAME = "PodTopologySpread"
REASON = "node(s) didn't match pod topology spread constraints"
REASON_LABEL = REASON + " (missing required label)"
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
SYSTEM_DEFAULTS = ((HOSTNAME, 3), (ZONE, 5))

Obj = dict[str, Any]


@dataclass
class Constraint:
    key: str
    max_skew: int
    selector: Selector
    min_domains: int = 1
    honor_affinity: bool = True
    honor_taints: bool = False


def _constraints(pod: PodInfo, action: str) -> list[Constraint]:
    out = []
    for c in pod.spec.get("topologySpreadConstraints") or []:
        if c.get("whenUnsatisfiable", "DoNotSchedule") != action:
            continue
        try:
            sel = selector_from_label_selector(c.get("labelSelector"))
        except Exception:  # noqa: BLE001 - validation rejects bad selectors earlier
            continue
        keys = [k for k in c.get("matchLabelKeys") or [] if k in pod.labels]
        if keys:
            sel = sel.add(*selector_from_set({k: pod.labels[k] for k in keys}).requirements())
        out.append(
            Constraint(
                key=c.get("topologyKey", ""),
                max_skew=int(c.get("maxSkew") or 1),
                selector=sel,
                min_domains=int(c.get("minDomains") or 1),
                honor_affinity=c.get("nodeAffinityPolicy", "Honor") == "Honor",
                honor_taints=c.get("nodeTaintsPolicy", "Ignore") == "Honor",
            )
        )
    return out


def _version(obj: Obj) -> tuple[str, str]:
    md = obj.get("metadata") or {}
    return (md.get("uid") or "", md.get("resourceVersion") or "")


def domain_ids(cache: NodeCache, key: str) -> np.ndarray:
    """Per slot, an id of its value for `key` (-1: no such label), cached until some
    node's labels change (taint or status changes keep it: 5,000 nodes flapping
    Ready made this a rebuild per pod)."""
    cached = cache.plugin_cache.setdefault("pts_domains", {})
    hit = cached.get(key)
    if hit is not None and hit[0] == cache.label_generation and len(hit[1]) == cache.size:
        return hit[1]
    ids = np.full(cache.size, -1, dtype=np.int64)
    values = cache.label_index.get(key, {}).values()
    # One fancy-index assignment for all values (hostname has one value per node).
    slots = [slot for group in values for slot in group]
    value_ids = [i for i, group in enumerate(values) for _ in group]
    if slots:
        ids[np.array(slots, dtype=np.int64)] = np.array(value_ids, dtype=np.int64)
    cached[key] = (cache.label_generation, ids)
    return ids


def matching_per_slot(cache: NodeCache, pod: PodInfo, selector: Selector) -> np.ndarray:
    """How many live pods of the pod's namespace matching `selector` each slot holds."""
    return cache.spread_counts(pod.namespace, selector)


def _eligible(cache: NodeCache, pod: PodInfo, c: Constraint) -> np.ndarray:
    """Nodes counted for a constraint: valid, and per the inclusion policies."""
    mask = cache.valid[: cache.size].copy()
    if c.honor_affinity:
        req = required_mask(cache, pod)
        if req is not None:
            mask &= req
    if c.honor_taints:
        tols = tolerations(pod)
        ok = np.array([first_untolerated(s, tols) is None for s in cache.taint_sets])
        mask &= ok[cache.taint_set[: cache.size]]
    return mask


@dataclass
class _FilterState:
    constraints: list[Constraint]
    ids: list[np.ndarray]  # per constraint: domain id per slot
    counts: list[np.ndarray]  # per constraint: matching pods per domain id
    minimum: list[int]  # per constraint: global minimum over eligible domains
    self_match: list[int]


class PodTopologySpread(Plugin):
    name = NAME

    # -- filtering -----------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        constraints = _constraints(pod, "DoNotSchedule")
        if not constraints:
            return SKIP
        cache = self.cache
        all_keys = cache.valid[: cache.size].copy()
        ids = [domain_ids(cache, c.key) for c in constraints]
        for d in ids:
            all_keys &= d >= 0
        fs = _FilterState(constraints, ids, [], [], [])
        for c, d in zip(constraints, ids, strict=True):
            eligible = _eligible(cache, pod, c) & all_keys
            per_slot = matching_per_slot(cache, pod, c.selector)
            ndom = len(cache.label_index.get(c.key, {}))
            counts = np.bincount(d[eligible], weights=per_slot[eligible], minlength=ndom)
            counts = counts.astype(np.int64)
            present = np.unique(d[eligible])
            if len(present) < c.min_domains or len(present) == 0:
                minimum = 0
            else:
                minimum = int(counts[present].min())
            fs.counts.append(counts)
            fs.minimum.append(minimum)
            fs.self_match.append(1 if c.selector.matches(pod.labels) else 0)
        state.data[NAME] = fs
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        fs: _FilterState = state.data[NAME]
        for i, c in enumerate(fs.constraints):
            if c.key not in node.labels:
                return unresolvable(NAME, REASON_LABEL)
            dom = int(fs.ids[i][node.idx])
            count = int(fs.counts[i][dom]) if dom < len(fs.counts[i]) else 0
            if count + fs.self_match[i] - fs.minimum[i] > c.max_skew:
                return unschedulable(NAME, REASON)
        return SUCCESS

    def filter_mask(self, state: CycleState, pod: PodInfo) -> np.ndarray | None:
        fs: _FilterState = state.data[NAME]
        mask = np.ones(self.cache.size, dtype=bool)
        for i, c in enumerate(fs.constraints):
            d = fs.ids[i]
            has = d >= 0
            counts = np.append(fs.counts[i], 0)  # index -1 (no label) reads the padding
            skew = counts[np.where(has, d, -1)] + fs.self_match[i] - fs.minimum[i]
            mask &= has & (skew <= c.max_skew)
        return mask

    # -- scoring -------------------------------------------------------------------

    def _score_constraints(self, pod: PodInfo) -> tuple[list[Constraint], bool]:
        if pod.spec.get("topologySpreadConstraints"):
            return _constraints(pod, "ScheduleAnyway"), True
        selector = self._default_selector(pod)
        if selector is None or selector.empty():
            return [], False
        return [Constraint(k, s, selector) for k, s in SYSTEM_DEFAULTS], False

    def _default_selector(self, pod: PodInfo) -> Selector | None:
        """Upstream's DefaultSelector: selectors of the Services, and of the controller,
        that select this pod. Remembered per (labels, services, controller version):
        a controller's pods come one after another and would build the same one."""
        listers = self.handle.listers
        services = listers.services(pod.namespace)
        owner = next(
            (
                o
                for o in pod.pod.get("metadata", {}).get("ownerReferences") or []
                if o.get("controller")
            ),
            None,
        )
        obj = None
        if owner is not None:
            obj = listers.controller(owner.get("kind", ""), pod.namespace, owner.get("name", ""))
        key = (
            pod.namespace,
            frozenset(pod.labels.items()),
            tuple(_version(svc) for svc in services),
            None if owner is None else (owner.get("kind"), owner.get("name")),
            None if obj is None else _version(obj),
        )
        cache = self.handle.cache.plugin_cache.setdefault("pts_default_selectors", {})
        if key in cache:
            return cache[key]
        if len(cache) >= 1024:
            cache.clear()
        selector = cache[key] = self._build_default_selector(pod, services, owner, obj)
        return selector

    def _build_default_selector(
        self, pod: PodInfo, services: list[Obj], owner: Obj | None, obj: Obj | None
    ) -> Selector | None:
        merged: dict[str, str] = {}
        for svc in services:
            sel = (svc.get("spec") or {}).get("selector") or {}
            if sel and selector_from_set(sel).matches(pod.labels):
                merged.update(sel)
        selector = selector_from_set(merged)
        if owner is None or obj is None:
            return selector
        spec_sel = (obj.get("spec") or {}).get("selector")
        if owner.get("kind") == "ReplicationController":
            merged.update(spec_sel or {})
            return selector_from_set(merged)
        try:
            return selector.add(*selector_from_label_selector(spec_sel).requirements())
        except Exception:  # noqa: BLE001
            return selector

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status:
        constraints, require_all = self._score_constraints(pod)
        if not constraints or len(idx) == 0:
            return SKIP
        cache = self.cache
        ids = [domain_ids(cache, c.key) for c in constraints]
        ignored = np.zeros(len(idx), dtype=bool)
        all_keys = cache.valid[: cache.size].copy()
        if require_all:
            for d in ids:
                all_keys &= d >= 0
            ignored = ~all_keys[idx]
        kept = idx[~ignored]
        pair_counts, weights, per_slots = [], [], []
        for c, d in zip(constraints, ids, strict=True):
            per_slot = matching_per_slot(cache, pod, c.selector)
            per_slots.append(per_slot)
            if c.key == HOSTNAME:
                pair_counts.append(None)
                weights.append(math.log(len(kept) + 2))
                continue
            # Domains of the candidate nodes; nodes without the key share the "" domain.
            ndom = len(cache.label_index.get(c.key, {}))
            if ndom == 0:
                # No node has the key (no zones): one "" domain holding every eligible
                # node's matching pods, present whenever there is a candidate.
                eligible = _eligible(cache, pod, c) & (all_keys if require_all else True)
                present = len(kept) > 0
                total = int(per_slot[eligible].sum()) if present else 0
                pair_counts.append(np.array([total], dtype=np.int64))
                weights.append(math.log(int(present) + 2))
                continue
            dd = np.where(d >= 0, d, ndom)
            wanted = np.zeros(ndom + 1, dtype=bool)
            wanted[dd[kept]] = True
            eligible = _eligible(cache, pod, c) & (all_keys if require_all else True)
            counts = np.bincount(dd[eligible], weights=per_slot[eligible], minlength=ndom + 1)
            pair_counts.append(np.where(wanted, counts, 0).astype(np.int64))
            weights.append(math.log(int(wanted.sum()) + 2))
        state.data[NAME + "/score"] = (constraints, ids, pair_counts, weights, per_slots, ignored)
        return SUCCESS

    def _raw(self, state: CycleState, slots: np.ndarray) -> np.ndarray:
        constraints, ids, pair_counts, weights, per_slots, _ = state.data[NAME + "/score"]
        score = np.zeros(len(slots), dtype=np.float64)
        for i, c in enumerate(constraints):
            d = ids[i][slots]
            has = d >= 0
            if c.key == HOSTNAME:
                cnt = per_slots[i][slots]
            else:
                cnt = pair_counts[i][np.where(has, d, 0)]
            score += np.where(has, cnt * weights[i] + (c.max_skew - 1), 0.0)
        # Go's math.Round rounds half away from zero; scores are non-negative.
        return np.floor(score + 0.5).astype(np.int64)

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        constraints, _, pair_counts, weights, per_slots, _ = state.data[NAME + "/score"]
        total = 0.0
        for i, c in enumerate(constraints):
            value = node.labels.get(c.key)
            if value is None:
                continue
            if c.key == HOSTNAME:
                cnt = int(per_slots[i][node.idx])
            else:
                dom = list(self.cache.label_index[c.key]).index(value)
                cnt = int(pair_counts[i][dom])
            total += cnt * weights[i] + (c.max_skew - 1)
        return math.floor(total + 0.5)

    def score_nodes(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> np.ndarray:
        return self._raw(state, idx)

    def normalize(self, state: CycleState, pod: PodInfo, scores: np.ndarray) -> np.ndarray:
        ignored = state.data[NAME + "/score"][5]
        live = scores[~ignored]
        if live.size == 0:
            return np.zeros_like(scores)
        lo, hi = int(live.min()), int(live.max())
        if hi == 0:
            out = np.full_like(scores, MAX_NODE_SCORE)
        else:
            out = MAX_NODE_SCORE * (hi + lo - scores) // hi
        return np.where(ignored, 0, out)
