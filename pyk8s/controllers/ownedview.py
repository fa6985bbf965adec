"""A ReplicaSet's pods and the counts its status needs, kept current between syncs.

A replica set of 1,000 pods is synced again for nearly every change to one of its
pods (a create, a binding, a status update), and a sync used to look at all 1,000
pods: at 10 x 1,000 replicas that was the largest single cost of the control
plane. An `OwnedView` per replica set keeps its active owned pods (as PodFacts)
and the counts over those its selector matches (claimed, fully labeled, ready);
the pod informer's handler marks the pods that changed under each owner, and a
sync refreshes only those. A view is rebuilt from the owner's index whenever the
replica set's uid, selector or template labels differ from the ones it was built
for. Orphans (to adopt) and owned pods the selector no longer matches (to
release) are few and are handed to claim_pods at every sync, as before.

The sync's decisions are unchanged: the same pods are claimed, counted and, on a
scale-down, ranked in the same (key) order as a full scan gives.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from pyk8s.client import Informer, object_key
from pyk8s.controllers.podcontrol import _ORPHAN, CONTROLLER_UID_INDEX
from pyk8s.controllers.podfacts import Labels, PodFacts, PodFactsCache
from pyk8s.machinery import meta
from pyk8s.machinery.labels import Selector, selector_from_set

Obj = dict[str, Any]


class OwnedView:
    """One owner's active pods (controller uid = the owner's) and their counts."""

    def __init__(self, uid: str, signature: tuple[Any, ...], selector: Selector, labels: Obj):
        self.uid = uid
        self.signature = signature
        self._selector = selector
        self._template = selector_from_set(labels)
        self._selected: dict[Labels, bool] = {}
        self._labeled: dict[Labels, bool] = {}
        self.members: dict[str, PodFacts] = {}
        self.matched: set[str] = set()  # members the selector matches: claimed
        self.fully_labeled = 0  # among matched
        self.ready = 0  # among matched
        self.dirty: set[str] = set()  # pod keys changed since the last refresh

    def _selects(self, labels: Labels) -> bool:
        hit = self._selected.get(labels)
        if hit is None:
            hit = self._selected[labels] = self._selector.matches(dict(labels))
        return hit

    def _has_template_labels(self, labels: Labels) -> bool:
        hit = self._labeled.get(labels)
        if hit is None:
            hit = self._labeled[labels] = self._template.matches(dict(labels))
        return hit

    def put(self, key: str, facts: PodFacts | None) -> None:
        """Set (or, with None or facts of a pod that is not ours and active, drop) a pod."""
        old = self.members.pop(key, None)
        if old is not None and key in self.matched:
            self.matched.discard(key)
            self.fully_labeled -= self._has_template_labels(old.labels)
            self.ready -= old.ready
        if facts is None or not facts.active or facts.owner_uid != self.uid:
            return
        self.members[key] = facts
        if self._selects(facts.labels):
            self.matched.add(key)
            self.fully_labeled += self._has_template_labels(facts.labels)
            self.ready += facts.ready

    def mismatched(self) -> list[PodFacts]:
        """Owned active pods the selector does not match (to release), in key order."""
        if len(self.matched) == len(self.members):
            return []  # the usual case, without sorting a thousand keys
        return [self.members[k] for k in sorted(self.members) if k not in self.matched]

    def claimed(self) -> list[PodFacts]:
        return [self.members[k] for k in sorted(self.matched)]


class ClaimedPods(Sequence[Obj]):
    """The claimed pods in the order a full scan lists them, built only if looked at
    (a sync needs the list itself only to pick pods for a scale-down)."""

    def __init__(self, view: OwnedView, extra: list[PodFacts]) -> None:
        self._view = view
        self._extra = extra
        self._count = len(view.matched) + len(extra)
        self._list: list[Obj] | None = None

    def _pods(self) -> list[Obj]:
        if self._list is None:
            self._list = [f.pod for f in self._view.claimed()] + [f.pod for f in self._extra]
        return self._list

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> Obj: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Obj]: ...
    def __getitem__(self, i: int | slice) -> Obj | Sequence[Obj]:
        return self._pods()[i]

    def __iter__(self) -> Iterator[Obj]:
        return iter(self._pods())


class OwnedViews:
    """OwnedView per owner key, fed by the pod informer's events."""

    def __init__(self, informer: Informer, facts: PodFactsCache) -> None:
        self.informer = informer
        self.facts = facts
        self._views: dict[str, OwnedView] = {}  # owner key -> view
        self._by_uid: dict[str, OwnedView] = {}
        informer.add_handler(
            lambda pod: self.pod_changed(None, pod),
            self.pod_changed,
            lambda pod: self.pod_changed(pod, None),
        )

    def pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        """Mark the pod dirty in the views of its old and new controllers."""
        if not self._by_uid:
            return
        key = object_key(new if new is not None else old or {})
        for obj in (old, new):
            ref = meta.owner_controller(obj) if obj is not None else None
            if ref is not None:
                view = self._by_uid.get(ref.get("uid") or "")
                if view is not None:
                    view.dirty.add(key)

    def view(self, key: str, owner: Obj, selector: Selector, labels: Obj) -> OwnedView:
        """The owner's view, caught up with every pod change (rebuilt if need be)."""
        uid = meta.uid_of(owner)
        signature = (uid, str(selector), selector.matches_nothing(), tuple(sorted(labels.items())))
        view = self._views.get(key)
        if view is None or view.signature != signature:
            self.forget(key)
            view = self._build(key, uid, signature, selector, labels)
        for pod_key in view.dirty:
            pod = self.informer.get(pod_key)
            view.put(pod_key, self.facts.of(pod_key, pod) if pod is not None else None)
        view.dirty.clear()
        return view

    def _build(
        self, key: str, uid: str, signature: tuple[Any, ...], selector: Selector, labels: Obj
    ) -> OwnedView:
        view = OwnedView(uid, signature, selector, labels)
        index = self.informer.indexer
        for pod_key in index.index_keys(CONTROLLER_UID_INDEX, uid):
            pod = index.get(pod_key)
            if pod is not None:
                view.put(pod_key, self.facts.of(pod_key, pod))
        self._views[key] = view
        self._by_uid[uid] = view
        return view

    def orphans(self, namespace: str) -> list[PodFacts]:
        """The namespace's active pods without a controller, in key order."""
        index = self.informer.indexer
        out = []
        for pod_key in index.index_keys(CONTROLLER_UID_INDEX, f"{namespace}/{_ORPHAN}"):
            pod = index.get(pod_key)
            if pod is not None:
                facts = self.facts.of(pod_key, pod)
                if facts.active:
                    out.append(facts)
        return out

    def forget(self, key: str) -> None:
        view = self._views.pop(key, None)
        if view is not None and self._by_uid.get(view.uid) is view:
            del self._by_uid[view.uid]
