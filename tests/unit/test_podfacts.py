"""A ReplicaSet sync's view of its pods through PodFacts: the same claims and counts
as claim_pods and calculate_status, and facts that follow the informer's objects."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_replicaset_logic import (  # noqa: E402
    FULL,
    NOW,
    PARTIAL,
    FakeControl,
    _allowed,
    owned,
    pod,
    rs,
)

from pyk8s.client.cache import Indexer  # noqa: E402
from pyk8s.controllers.podcontrol import (  # noqa: E402
    CONTROLLER_UID_INDEX,
    claim_pods,
    controller_ref,
    controller_uid_index,
)
from pyk8s.controllers.podfacts import (  # noqa: E402
    PodFactsCache,
    claim,
    facts_of,
    replica_counts,
)
from pyk8s.controllers.replicaset import calculate_status  # noqa: E402
from pyk8s.machinery import meta  # noqa: E402
from pyk8s.machinery.labels import selector_from_set  # noqa: E402


class FakeInformer:
    def __init__(self, pods: list[dict]) -> None:
        self.indexer = Indexer()
        self.indexer.add_index(CONTROLLER_UID_INDEX, controller_uid_index)
        for p in pods:
            self.indexer.set(meta.key_of(p), p)


def mixed() -> list[dict]:
    ready = owned("ready", FULL)
    ready["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    return [
        owned("mine", FULL),
        ready,
        owned("partial", {"app": "web"}),
        owned("drifted", {"app": "db"}),
        owned("theirs", FULL, uid="other"),
        pod("orphan", PARTIAL),
        pod("stranger", {"app": "db"}),
    ]


async def test_claim_matches_claim_pods() -> None:
    owner = rs()
    selector = selector_from_set({"app": "web"})
    pods = mixed()
    by_pods, by_facts = FakeControl(), FakeControl()
    want = await claim_pods(by_pods, owner, controller_ref(owner), selector, pods, _allowed)  # type: ignore[arg-type]
    got = await claim(
        by_facts,  # type: ignore[arg-type]
        owner,
        controller_ref(owner),
        selector,
        [facts_of(p) for p in pods],
        _allowed,
    )
    assert [f.pod for f in got] == want
    assert (by_facts.adopted, by_facts.released) == (by_pods.adopted, by_pods.released)
    assert by_facts.released == ["drifted"] and by_facts.adopted == ["orphan"]


def test_counts_match_calculate_status_loop() -> None:
    owner = rs(min_ready=10)
    pods = [pod("a", FULL, ready_for=20), pod("b", FULL, ready_for=5), pod("c", PARTIAL)]
    counted = replica_counts(FULL, 10, [facts_of(p) for p in pods], NOW)
    assert counted == (2, 2, 1)
    assert calculate_status(owner, pods, None, NOW) == calculate_status(
        owner, pods, None, NOW, counted
    )


def test_owned_lists_the_owners_pods_and_orphans_in_index_order() -> None:
    owner = rs()
    informer = FakeInformer(mixed())
    cache = PodFactsCache()
    names = [meta.name_of(f.pod) for f in cache.owned(informer, owner)]  # type: ignore[arg-type]
    assert names == ["drifted", "mine", "partial", "ready", "orphan", "stranger"]


def test_facts_follow_the_informers_object() -> None:
    cache = PodFactsCache()
    first = owned("mine", FULL)
    f1 = cache.of("default/mine", first)
    assert cache.of("default/mine", first) is f1  # same object: reused
    assert not f1.ready and f1.active and f1.owner_uid == "rs-uid"
    changed = owned("mine", FULL)
    changed["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    changed["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    f2 = cache.of("default/mine", changed)
    assert f2.ready and not f2.active and f2.pod is changed
    cache.forget("default/mine")
    assert len(cache) == 0
