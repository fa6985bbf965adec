"""NodeAffinity: spec.nodeSelector and required node affinity filter nodes;
preferred node affinity terms add their weights to the score.

The vector path evaluates each requirement against the cache's label index
(key -> value -> node slots) instead of testing every node's labels, and caches
a selector's mask until a node changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pyk8s.scheduler.cache import NodeCache, NodeInfo
from pyk8s.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    Plugin,
    Status,
    default_normalize,
    unresolvable,
)
from pyk8s.scheduler.podinfo import PodInfo

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"
REASON_CONFLICT = "pod affinity terms conflict"
NAME_FIELD = "metadata.name"

Obj = dict[str, Any]


def _node_affinity(pod: PodInfo) -> Obj:
    return (pod.spec.get("affinity") or {}).get("nodeAffinity") or {}


def required_terms(pod: PodInfo) -> list[Obj] | None:
    req = _node_affinity(pod).get("requiredDuringSchedulingIgnoredDuringExecution")
    return None if req is None else req.get("nodeSelectorTerms") or []


def preferred_terms(pod: PodInfo) -> list[tuple[int, Obj]]:
    prefs = _node_affinity(pod).get("preferredDuringSchedulingIgnoredDuringExecution") or []
    out = []
    for p in prefs:
        term = p.get("preference") or {}
        if term.get("matchExpressions") or term.get("matchFields"):  # empty terms are ignored
            out.append((int(p.get("weight") or 0), term))
    return out


# -- scalar matching ---------------------------------------------------------------------


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def requirement_matches(req: Obj, values: dict[str, str]) -> bool:
    key, op, want = req.get("key", ""), req.get("operator", ""), req.get("values") or []
    have = values.get(key)
    if op == "In":
        return have is not None and have in want
    if op == "NotIn":
        return have is None or have not in want
    if op == "Exists":
        return have is not None
    if op == "DoesNotExist":
        return have is None
    if op in ("Gt", "Lt"):
        a, b = _int(have), _int(want[0]) if len(want) == 1 else None
        if a is None or b is None:
            return False
        return a > b if op == "Gt" else a < b
    return False


def term_matches(term: Obj, node: NodeInfo) -> bool:
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = node.labels
    if not all(requirement_matches(r, labels) for r in exprs):
        return False
    return all(requirement_matches(r, {NAME_FIELD: node.name}) for r in fields)


def required_match(pod: PodInfo, node: NodeInfo) -> bool:
    """nodeSelector and required affinity (upstream's RequiredNodeAffinity.Match)."""
    labels = node.labels
    for k, v in (pod.spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    terms = required_terms(pod)
    if terms is None:
        return True
    return any(term_matches(t, node) for t in terms)


# -- vector matching ---------------------------------------------------------------------


def _slots_mask(cache: NodeCache, slots: Any) -> np.ndarray:
    mask = np.zeros(cache.size, dtype=bool)
    if slots:
        mask[np.fromiter(slots, dtype=np.int64)] = True
    return mask


def _label_mask(cache: NodeCache, req: Obj) -> np.ndarray:
    key, op, want = req.get("key", ""), req.get("operator", ""), req.get("values") or []
    by_value = cache.label_index.get(key, {})
    if op in ("In", "NotIn"):
        slots: set[int] = set()
        for v in want:
            slots |= by_value.get(v, set())
        mask = _slots_mask(cache, slots)
        return mask if op == "In" else ~mask
    if op in ("Exists", "DoesNotExist"):
        mask = _slots_mask(cache, set().union(*by_value.values()) if by_value else ())
        return mask if op == "Exists" else ~mask
    if op in ("Gt", "Lt"):
        slots = set()
        for v, s in by_value.items():
            if requirement_matches(req, {key: v}):
                slots |= s
        return _slots_mask(cache, slots)
    return np.zeros(cache.size, dtype=bool)


def _field_mask(cache: NodeCache, req: Obj) -> np.ndarray:
    op, want = req.get("operator", ""), req.get("values") or []
    if req.get("key") != NAME_FIELD or op not in ("In", "NotIn"):
        return np.zeros(cache.size, dtype=bool)
    mask = _slots_mask(cache, [cache.index[n] for n in want if n in cache.index])
    return mask if op == "In" else ~mask


def term_mask(cache: NodeCache, term: Obj) -> np.ndarray:
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    mask = np.full(cache.size, bool(exprs or fields))
    for r in exprs:
        mask &= _label_mask(cache, r)
    for r in fields:
        mask &= _field_mask(cache, r)
    return mask


def required_mask(cache: NodeCache, pod: PodInfo) -> np.ndarray | None:
    """Slots matching nodeSelector and required affinity; None when the pod has neither.
    Cached on the pod until a node changes."""
    selector = pod.spec.get("nodeSelector") or {}
    terms = required_terms(pod)
    if not selector and terms is None:
        return None
    cached = pod.extra.get("na_required")
    if cached is not None and cached[0] == cache.generation and len(cached[1]) == cache.size:
        return cached[1]
    mask = np.ones(cache.size, dtype=bool)
    for k, v in selector.items():
        mask &= _label_mask(cache, {"key": k, "operator": "In", "values": [v]})
    if terms is not None:
        any_term = np.zeros(cache.size, dtype=bool)
        for t in terms:
            any_term |= term_mask(cache, t)
        mask &= any_term
    pod.extra["na_required"] = (cache.generation, mask)
    return mask


def name_restriction(pod: PodInfo) -> set[str] | None:
    """Node names the required terms pin the pod to via matchFields metadata.name In,
    or None when some term leaves every node possible (upstream's PreFilterResult)."""
    terms = required_terms(pod)
    if not terms:
        return None
    names: set[str] = set()
    for t in terms:
        term_names: set[str] | None = None
        for r in t.get("matchFields") or []:
            if r.get("key") == NAME_FIELD and r.get("operator") == "In":
                vals = set(r.get("values") or [])
                term_names = vals if term_names is None else term_names & vals
        if term_names is None:
            return None
        names |= term_names
    return names


class NodeAffinity(Plugin):
    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        if not pod.spec.get("nodeSelector") and required_terms(pod) is None:
            return SKIP
        names = name_restriction(pod)
        if names is not None:
            if not names:
                return unresolvable(NAME, REASON_CONFLICT)
            state.node_names = names if state.node_names is None else state.node_names & names
            state.data["restricted_by"] = sorted({*state.data.get("restricted_by", []), NAME})
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        return SUCCESS if required_match(pod, node) else unresolvable(NAME, REASON)

    def filter_mask(self, state: CycleState, pod: PodInfo) -> np.ndarray | None:
        return required_mask(self.cache, pod)

    def pre_score(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> Status:
        return SUCCESS if preferred_terms(pod) else SKIP

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return sum(w for w, t in preferred_terms(pod) if term_matches(t, node))

    def score_nodes(self, state: CycleState, pod: PodInfo, idx: np.ndarray) -> np.ndarray:
        total = np.zeros(len(idx), dtype=np.int64)
        for weight, term in preferred_terms(pod):
            total += np.where(term_mask(self.cache, term)[idx], weight, 0)
        return total

    def normalize(self, state: CycleState, pod: PodInfo, scores: np.ndarray) -> np.ndarray:
        return default_normalize(scores, reverse=False)
