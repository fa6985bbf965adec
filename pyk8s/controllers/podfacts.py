"""What a ReplicaSet sync asks of each of its pods, worked out once per version of the pod.

A sync looks at every pod of its replica set (active? whose controller? selected?
ready?) and a replica set of 1,000 pods is synced hundreds of times while they
start, so the same questions were asked of the same, unchanged pod objects over and
over, each time from memory long out of the CPU's caches. `PodFactsCache` keeps
the answers per pod key together with the pod object they came from: the informer
replaces the object on every change, so an answer is reused only for the very
object it was computed from. Selector matches are then asked once per distinct
label set in a sync (a replica set's pods share theirs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from pyk8s.client import Informer
from pyk8s.controllers.podcontrol import _ORPHAN, CONTROLLER_UID_INDEX, PodControl, claim_pods
from pyk8s.controllers.podutil import is_active, is_pod_available, is_pod_ready
from pyk8s.machinery import meta
from pyk8s.machinery.labels import Selector, selector_from_set

Obj = dict[str, Any]
Labels = frozenset[tuple[str, str]]


class PodFacts(NamedTuple):
    pod: Obj
    active: bool
    owner_uid: str  # the controller reference's uid, "" for an orphan
    labels: Labels
    ready: bool


def facts_of(pod: Obj) -> PodFacts:
    ref = meta.owner_controller(pod)
    return PodFacts(
        pod,
        is_active(pod),
        (ref.get("uid") or "") if ref is not None else "",
        frozenset(meta.labels_of(pod).items()),
        is_pod_ready(pod),
    )


class PodFactsCache:
    """PodFacts per pod key, recomputed when the informer holds a new object."""

    def __init__(self) -> None:
        self._facts: dict[str, PodFacts] = {}

    def of(self, key: str, pod: Obj) -> PodFacts:
        known = self._facts.get(key)
        if known is not None and known.pod is pod:
            return known
        known = self._facts[key] = facts_of(pod)
        return known

    def forget(self, key: str) -> None:
        self._facts.pop(key, None)

    def __len__(self) -> int:
        return len(self._facts)

    def owned(self, informer: Informer, owner: Obj) -> list[PodFacts]:
        """The owner's pods and its namespace's orphans (podcontrol.owned_pods), in the
        same order, as facts."""
        index = informer.indexer
        keys = index.index_keys(CONTROLLER_UID_INDEX, meta.uid_of(owner))
        keys += index.index_keys(CONTROLLER_UID_INDEX, f"{meta.namespace_of(owner)}/{_ORPHAN}")
        out = []
        for key in keys:
            pod = index.get(key)
            if pod is not None:
                out.append(self.of(key, pod))
        return out


def _matcher(selector: Selector) -> Callable[[Labels], bool]:
    """selector.matches, asked once per distinct label set."""
    seen: dict[Labels, bool] = {}

    def matches(labels: Labels) -> bool:
        hit = seen.get(labels)
        if hit is None:
            hit = seen[labels] = selector.matches(dict(labels))
        return hit

    return matches


async def claim(
    control: PodControl,
    owner: Obj,
    ref: Obj,
    selector: Selector,
    facts: Sequence[PodFacts],
    can_adopt: Callable[[], Awaitable[None]],
) -> list[PodFacts]:
    """podcontrol.claim_pods over facts: pods owned and still selected, or foreign,
    are decided here; orphans to adopt and pods to release go through claim_pods.
    The claimed pods come back in the given order."""
    owner_uid = meta.uid_of(owner)
    matches = _matcher(selector)
    mine: list[PodFacts] = []
    undecided: list[PodFacts] = []  # orphans, and ours that stopped matching
    for f in facts:
        uid = f.owner_uid
        if uid == owner_uid and matches(f.labels):
            mine.append(f)
        elif not uid or uid == owner_uid:
            undecided.append(f)
    if not undecided:
        return mine
    claimed = await claim_pods(control, owner, ref, selector, [f.pod for f in undecided], can_adopt)
    kept = {id(p) for p in claimed} | {id(f.pod) for f in mine}
    return [f for f in facts if id(f.pod) in kept]  # in the given order


def replica_counts(
    template_labels: dict[str, str] | None,
    min_ready: int,
    facts: Iterable[PodFacts],
    now: datetime,
) -> tuple[int, int, int]:
    """(fully labeled, ready, available) among the pods, as calculate_status counts."""
    labeled = _matcher(selector_from_set(template_labels or {}))
    fully_labeled = ready = available = 0
    for f in facts:
        if labeled(f.labels):
            fully_labeled += 1
        if f.ready:
            ready += 1
            if not min_ready or is_pod_available(f.pod, min_ready, now):
                available += 1
    return fully_labeled, ready, available
