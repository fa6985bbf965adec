"""OwnedViews keep a replica set's claimed pods and counts current from pod events:
after any sequence of pod adds, updates and deletes, a view gives what a full scan
of the owner's pods gives."""

from __future__ import annotations

import random
from typing import Any

import pytest

from pyk8s.client.cache import Indexer
from pyk8s.client.informer import Handler
from pyk8s.controllers.ownedview import ClaimedPods, OwnedViews
from pyk8s.controllers.podcontrol import CONTROLLER_UID_INDEX, controller_uid_index
from pyk8s.controllers.podfacts import PodFactsCache, facts_of, replica_counts
from pyk8s.machinery import meta
from pyk8s.machinery.labels import selector_from_set

Obj = dict[str, Any]
SELECTOR = {"app": "web"}
TEMPLATE = {"app": "web", "tier": "fe"}
NOW = meta.now()


class FakeInformer:
    """Stores, then tells handlers, as Informer._apply does."""

    def __init__(self) -> None:
        self.indexer = Indexer()
        self.indexer.add_index(CONTROLLER_UID_INDEX, controller_uid_index)
        self.handlers: list[Handler] = []

    def add_handler(self, on_add: Any = None, on_update: Any = None, on_delete: Any = None) -> None:
        self.handlers.append(Handler(on_add, on_update, on_delete))

    def get(self, key: str) -> Obj | None:
        return self.indexer.get(key)

    def put(self, pod: Obj) -> None:
        old = self.indexer.set(meta.key_of(pod), pod)
        for h in self.handlers:
            if old is None:
                h.on_add(pod)
            else:
                h.on_update(old, pod)

    def delete(self, key: str) -> None:
        old = self.indexer.pop(key)
        if old is not None:
            for h in self.handlers:
                h.on_delete(old)


def owner(uid: str = "rs-1", name: str = "web") -> Obj:
    return {"metadata": {"name": name, "namespace": "default", "uid": uid}}


def random_pod(rng: random.Random, name: str) -> Obj:
    labels = rng.choice([TEMPLATE, SELECTOR, {"app": "db"}, {"app": "web", "tier": "be"}])
    md: Obj = {"name": name, "namespace": "default", "uid": f"u-{name}", "labels": dict(labels)}
    uid = rng.choice(["rs-1", "rs-1", "rs-1", "rs-2", None])
    if uid is not None:
        md["ownerReferences"] = [
            {"kind": "ReplicaSet", "name": "x", "uid": uid, "controller": True}
        ]
    if rng.random() < 0.1:
        md["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    status: Obj = {"phase": rng.choice(["Pending", "Running", "Running", "Succeeded"])}
    if rng.random() < 0.5:
        status["conditions"] = [{"type": "Ready", "status": rng.choice(["True", "False"])}]
    return {"metadata": md, "spec": {}, "status": status}


def full_scan(informer: FakeInformer, uid: str) -> tuple[list[str], list[str], tuple]:
    """What a sync computes from scratch: claimed keys, to release, to adopt, counts."""
    index = informer.indexer
    keys = index.index_keys(CONTROLLER_UID_INDEX, uid)
    facts = [facts_of(index.get(k)) for k in keys]
    selector = selector_from_set(SELECTOR)
    claimed = [f for f in facts if f.active and selector.matches(dict(f.labels))]
    release = [meta.key_of(f.pod) for f in facts if f.active and f not in claimed]
    return (
        [meta.key_of(f.pod) for f in claimed],
        release,
        replica_counts(TEMPLATE, 0, claimed, NOW),
    )


@pytest.mark.parametrize("seed", range(25))
def test_view_matches_a_full_scan_after_random_events(seed: int) -> None:
    rng = random.Random(seed)
    informer = FakeInformer()
    views = OwnedViews(informer, PodFactsCache())  # type: ignore[arg-type]
    selector = selector_from_set(SELECTOR)
    for step in range(60):
        for _ in range(rng.randint(1, 8)):
            name = f"p{rng.randrange(30)}"
            if rng.random() < 0.2:
                informer.delete(f"default/{name}")
            else:
                informer.put(random_pod(rng, name))
        if step % 3 == 0 or rng.random() < 0.5:
            view = views.view("default/web", owner(), selector, TEMPLATE)
            want_claimed, want_release, want_counts = full_scan(informer, "rs-1")
            assert [meta.key_of(f.pod) for f in view.claimed()] == want_claimed
            assert [meta.key_of(f.pod) for f in view.mismatched()] == want_release
            assert (view.fully_labeled, view.ready, view.ready) == want_counts
            pods = ClaimedPods(view, [])
            assert len(pods) == len(want_claimed)
            assert [meta.key_of(p) for p in pods] == want_claimed


def test_a_new_selector_or_owner_rebuilds_the_view() -> None:
    informer = FakeInformer()
    views = OwnedViews(informer, PodFactsCache())  # type: ignore[arg-type]
    rng = random.Random(1)
    for i in range(10):
        informer.put(random_pod(rng, f"p{i}"))
    first = views.view("default/web", owner(), selector_from_set(SELECTOR), TEMPLATE)
    same = views.view("default/web", owner(), selector_from_set(SELECTOR), TEMPLATE)
    assert same is first
    narrower = views.view("default/web", owner(), selector_from_set(TEMPLATE), TEMPLATE)
    assert narrower is not first
    recreated = views.view("default/web", owner(uid="rs-2"), selector_from_set(TEMPLATE), TEMPLATE)
    assert recreated is not narrower and recreated.uid == "rs-2"
    views.forget("default/web")
    informer.put(random_pod(rng, "p0"))  # no view left to mark


def test_orphans_are_listed_active_only() -> None:
    informer = FakeInformer()
    views = OwnedViews(informer, PodFactsCache())  # type: ignore[arg-type]
    a = {"metadata": {"name": "a", "namespace": "default"}, "status": {"phase": "Running"}}
    b = {"metadata": {"name": "b", "namespace": "default"}, "status": {"phase": "Failed"}}
    informer.put(a)
    informer.put(b)
    assert [f.pod for f in views.orphans("default")] == [a]
    assert views.orphans("other") == []
