"""The ReplicaSet controller (upstream's pkg/controller/replicaset).

Keeps the number of active pods a replica set controls equal to spec.replicas:
adopts matching orphans, releases pods whose labels stopped matching, creates the
missing pods in slow-start batches (1, 2, 4, ...) and deletes the surplus in
upstream's order (unscheduled, pending, not ready, ... newest first). Expectations
keep a sync that runs before the pod informer catches up from issuing the same
creates or deletes twice. Status: replicas, fullyLabeledReplicas, readyReplicas,
availableReplicas (minReadySeconds), observedGeneration, and a ReplicaFailure
condition while creates or deletes fail.

The ReplicationController controller is this one with another resource
(replicationcontroller.py), as upstream's is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from pyk8s.client import NAMESPACE_INDEX, Client, SharedInformerFactory, is_not_found, object_key
from pyk8s.client.clock import Clock
from pyk8s.controllers.base import Controller
from pyk8s.controllers.events import EventRecorder
from pyk8s.controllers.expectations import PodExpectations
from pyk8s.controllers.ownedview import ClaimedPods, OwnedViews
from pyk8s.controllers.podcontrol import (
    PodControl,
    add_controller_uid_index,
    error_message,
    is_namespace_terminating,
    recheck_owner,
)
from pyk8s.controllers.podfacts import PodFactsCache, claim, facts_of, replica_counts
from pyk8s.controllers.podutil import (
    colocation_ranks,
    is_active,
    is_pod_ready,
    sort_for_deletion,
)
from pyk8s.machinery import meta
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.labels import Selector
from pyk8s.machinery.labelselector import selector_from_label_selector

Obj = dict[str, Any]
log = logging.getLogger(__name__)

# Upstream's BurstReplicas: at most this many creates or deletes per sync.
BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH = 1
REPLICA_FAILURE = "ReplicaFailure"


# ------------------------------------------------------------- pure decisions


async def slow_start_batch(
    count: int, initial_batch: int, fn: Callable[[], Awaitable[Any]]
) -> tuple[int, BaseException | None]:
    """Call `fn` `count` times in concurrent batches of 1, 2, 4, ...; stop after the
    first batch with a failure, so a systematic error (quota) costs few calls.
    Returns (successes, first error or None)."""
    remaining, successes = count, 0
    batch = min(remaining, initial_batch)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for err in errors:
            if isinstance(err, asyncio.CancelledError):
                raise err
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


def pods_to_delete(
    pods: Sequence[Obj], related: Sequence[Obj], diff: int, now: datetime | None = None
) -> list[Obj]:
    """The `diff` pods a scale-down removes (upstream's getPodsToDelete): ranked by
    ActivePodsWithRanks, with pods doubled up on a node (counting the related pods
    of sibling replica sets) going first among equals."""
    if diff < len(pods):
        pods = sort_for_deletion(pods, colocation_ranks(pods, related), now)
    return list(pods[:diff])


def _set_count(status: Obj, field: str, value: int) -> None:
    # These int32 fields are omitempty upstream: a zero is not written.
    if value:
        status[field] = value
    else:
        status.pop(field, None)


def calculate_status(
    rs: Obj,
    pods: Sequence[Obj],
    manage_error: BaseException | None,
    now: datetime,
    counts: tuple[int, int, int] | None = None,
) -> Obj:
    """The status a sync writes, from the pods the replica set controls; `counts`
    (fully labeled, ready, available) when the caller has counted them already."""
    spec = rs.get("spec") or {}
    status = dict(rs.get("status") or {})
    if counts is None:
        counts = replica_counts(
            template_labels(rs),
            int(spec.get("minReadySeconds") or 0),
            (facts_of(pod) for pod in pods),
            now,
        )
    fully_labeled, ready, available = counts
    status["conditions"] = _failure_conditions(rs, len(pods), manage_error, now)
    if not status["conditions"]:
        del status["conditions"]
    status["replicas"] = len(pods)
    _set_count(status, "fullyLabeledReplicas", fully_labeled)
    _set_count(status, "readyReplicas", ready)
    _set_count(status, "availableReplicas", available)
    return status


def template_labels(rs: Obj) -> dict[str, str]:
    template = (rs.get("spec") or {}).get("template") or {}
    return (template.get("metadata") or {}).get("labels") or {}


def _failure_conditions(
    rs: Obj, active: int, manage_error: BaseException | None, now: datetime
) -> list[Obj]:
    """Add ReplicaFailure when managing replicas failed, drop it once it succeeds."""
    conditions = list((rs.get("status") or {}).get("conditions") or [])
    failing = any(c.get("type") == REPLICA_FAILURE for c in conditions)
    if manage_error is not None and not failing:
        diff = active - int((rs.get("spec") or {}).get("replicas") or 0)
        reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
        cond = {
            "type": REPLICA_FAILURE,
            "status": "True",
            "lastTransitionTime": meta.format_time(now),
        }
        if reason:
            cond["reason"] = reason
        cond["message"] = error_message(manage_error)
        conditions.append(cond)
    elif manage_error is None and failing:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    return conditions


# ------------------------------------------------------------------ controller


class ReplicaSetController(Controller):
    name = "replicaset"
    component = "replicaset-controller"
    api_version = "apps/v1"
    plural = "replicasets"
    kind = "ReplicaSet"
    workers = 5

    def __init__(
        self,
        client: Client,
        factory: SharedInformerFactory,
        *,
        clock: Clock | None = None,
        burst_replicas: int = BURST_REPLICAS,
        **options: Any,
    ) -> None:
        super().__init__(client, factory, clock=clock, **options)
        self.recorder = EventRecorder(client, self.component)
        self.pod_control = PodControl(client, self.recorder)
        self.expectations = PodExpectations()
        self.pod_facts = PodFactsCache()
        self.burst_replicas = burst_replicas
        self.resource = client.resource(self.api_version, self.plural)

    def selector_of(self, rs: Obj) -> Selector:
        """The replica set's pod selector (raises StatusError if it cannot be parsed)."""
        return selector_from_label_selector((rs.get("spec") or {}).get("selector"))

    # -- informers and handlers -----------------------------------------------------

    def setup(self) -> None:
        self.rs_informer = self.informer(self.api_version, self.plural)
        self.pod_informer = self.informer("v1", "pods")
        add_controller_uid_index(self.pod_informer)
        self.rs_informer.add_handler(self._add_rs, self._update_rs, self._delete_rs)
        self.pod_informer.add_handler(self._add_pod, self._update_pod, self._delete_pod)
        self.pod_informer.add_handler(on_delete=lambda pod: self.pod_facts.forget(object_key(pod)))
        self.views = OwnedViews(self.pod_informer, self.pod_facts)

    def _add_rs(self, rs: Obj) -> None:
        self.enqueue(rs)

    def _update_rs(self, old: Obj, cur: Obj) -> None:
        if meta.uid_of(old) != meta.uid_of(cur):
            # Deleted and recreated under the same name between two events.
            self._delete_rs(old)
        self.enqueue(cur)

    def _delete_rs(self, rs: Obj) -> None:
        key = object_key(rs)
        # A replica set recreated under this name must start without old expectations.
        self.expectations.delete(key)
        self.enqueue_key(key)

    def _add_pod(self, pod: Obj) -> None:
        if meta.is_being_deleted(pod):
            # Seen for the first time already terminating (e.g. after a restart):
            # that is a deletion to observe, not a creation.
            self._delete_pod(pod)
            return
        ref = meta.owner_controller(pod)
        if ref is not None:
            rs = self._resolve(meta.namespace_of(pod), ref)
            if rs is not None:
                key = object_key(rs)
                self.expectations.creation_observed(key)
                self.enqueue_key(key)
            return
        # An orphan: every replica set that selects it may want to adopt it.
        for rs in self._replica_sets_selecting(pod):
            self.enqueue(rs)

    def _update_pod(self, old: Obj, cur: Obj) -> None:
        md_old, md_cur = meta.metadata_of(old), meta.metadata_of(cur)
        if md_old.get("resourceVersion") == md_cur.get("resourceVersion"):
            return  # a resync: nothing changed
        labels_changed = meta.labels_of(old) != meta.labels_of(cur)
        if meta.is_being_deleted(cur):
            # Graceful deletion: treat the pod as gone now, for whichever set owned it.
            self._delete_pod(cur)
            if labels_changed:
                self._delete_pod(old)
            return
        cur_ref, old_ref = meta.owner_controller(cur), meta.owner_controller(old)
        ref_changed = cur_ref != old_ref
        if ref_changed and old_ref is not None:
            previous = self._resolve(meta.namespace_of(old), old_ref)
            if previous is not None:
                self.enqueue(previous)
        if cur_ref is not None:
            rs = self._resolve(meta.namespace_of(cur), cur_ref)
            if rs is None:
                return
            self.enqueue(rs)
            min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(cur):
                # Check availability again once the pod has been ready long enough.
                self.enqueue_after(object_key(rs), float(min_ready))
            return
        if labels_changed or ref_changed:
            for rs in self._replica_sets_selecting(cur):
                self.enqueue(rs)

    def _delete_pod(self, pod: Obj) -> None:
        ref = meta.owner_controller(pod)
        if ref is None:
            return
        rs = self._resolve(meta.namespace_of(pod), ref)
        if rs is None:
            return
        key = object_key(rs)
        self.expectations.deletion_observed(key, object_key(pod))
        self.enqueue_key(key)

    def _resolve(self, namespace: str, ref: Obj) -> Obj | None:
        """The replica set a controller reference points at, if it is one of ours."""
        if ref.get("kind") != self.kind:
            return None
        rs = self.rs_informer.get(f"{namespace}/{ref.get('name', '')}")
        if rs is None or meta.uid_of(rs) != ref.get("uid"):
            return None
        return rs

    def _replica_sets_selecting(self, pod: Obj) -> list[Obj]:
        found = []
        for rs in self.rs_informer.by_index(NAMESPACE_INDEX, meta.namespace_of(pod)):
            try:
                selector = self.selector_of(rs)
            except StatusError:
                continue
            # A nil or empty selector selects nothing here, never everything.
            if not selector.empty() and selector.matches(meta.labels_of(pod)):
                found.append(rs)
        if len(found) > 1:
            log.info(
                "pod %s is selected by more than one %s: %s",
                object_key(pod),
                self.kind,
                ", ".join(meta.name_of(rs) for rs in found),
            )
        return found

    # -- sync ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        rs = self.rs_informer.get(key)
        if rs is None:
            self.expectations.delete(key)
            self.views.forget(key)
            return
        needs_sync = self.expectations.satisfied(key)
        try:
            selector = self.selector_of(rs)
        except StatusError as err:
            log.warning("%s %s: bad selector: %s", self.kind, key, err.message)
            return  # retrying cannot help until the object changes
        pods, count = await self._claim(key, rs, selector)

        manage_error: BaseException | None = None
        if needs_sync and not meta.is_being_deleted(rs):
            try:
                await self.manage_replicas(pods, rs, key)
            except Exception as err:  # noqa: BLE001 - reported in status, then retried
                manage_error = err
        now = meta.now()
        status = calculate_status(rs, pods, manage_error, now, count(now))
        updated = await self.update_status(rs, status)
        self._requeue_for_availability(key, updated, manage_error)
        if manage_error is not None:
            raise manage_error

    async def _claim(
        self, key: str, rs: Obj, selector: Selector
    ) -> tuple[Sequence[Obj], Callable[[datetime], tuple[int, int, int]]]:
        """The pods the replica set controls after adopting and releasing, and how to
        count (fully labeled, ready, available) among them at a given time."""
        can_adopt = recheck_owner(self.client, self.resource, rs)
        ref = self.controller_ref(rs)
        labels = template_labels(rs)
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready:
            # Availability depends on the time: count over every claimed pod.
            owned = [f for f in self.pod_facts.owned(self.pod_informer, rs) if f.active]
            claimed = await claim(self.pod_control, rs, ref, selector, owned, can_adopt)
            pods = [f.pod for f in claimed]
            return pods, lambda now: replica_counts(labels, min_ready, claimed, now)
        view = self.views.view(key, rs, selector, labels)
        undecided = view.mismatched() + self.views.orphans(meta.namespace_of(rs))
        extra = await claim(self.pod_control, rs, ref, selector, undecided, can_adopt)
        labeled, ready, _ = replica_counts(labels, 0, extra, meta.now())
        counts = (view.fully_labeled + labeled, view.ready + ready, view.ready + ready)
        return ClaimedPods(view, extra), lambda _now: counts

    def _requeue_for_availability(
        self, key: str, rs: Obj, manage_error: BaseException | None
    ) -> None:
        """All ready but not all available: look again after minReadySeconds."""
        spec, status = rs.get("spec") or {}, rs.get("status") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        replicas = int(spec.get("replicas") or 0)
        if (
            manage_error is None
            and min_ready > 0
            and int(status.get("readyReplicas") or 0) == replicas
            and int(status.get("availableReplicas") or 0) != replicas
        ):
            self.enqueue_after(key, float(min_ready))

    async def manage_replicas(self, pods: list[Obj], rs: Obj, key: str) -> None:
        """Create or delete pods so that len(pods) reaches spec.replicas (at most a burst)."""
        diff = len(pods) - int((rs.get("spec") or {}).get("replicas") or 0)
        if diff < 0:
            await self._create_pods(rs, key, min(-diff, self.burst_replicas))
        elif diff > 0:
            await self._delete_pods(rs, key, pods, min(diff, self.burst_replicas))

    async def _create_pods(self, rs: Obj, key: str, count: int) -> None:
        # Expect them all before the first create: the informer may report a new pod
        # before the create call returns.
        self.expectations.expect_creations(key, count)
        successes, err = await slow_start_batch(
            count, SLOW_START_INITIAL_BATCH, lambda: self._create_one(rs)
        )
        # Creates never attempted or failed will never be observed.
        for _ in range(count - successes):
            self.expectations.creation_observed(key)
        if err is not None:
            raise err

    async def _create_one(self, rs: Obj) -> None:
        template = (rs.get("spec") or {}).get("template") or {}
        ref = self.controller_ref(rs)
        try:
            await self.pod_control.create_pod(meta.namespace_of(rs), template, rs, ref)
        except Exception as err:
            if is_namespace_terminating(err):
                return  # the namespace is going away: nothing to retry
            raise

    def controller_ref(self, rs: Obj) -> Obj:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": meta.name_of(rs),
            "uid": meta.uid_of(rs),
            "controller": True,
            "blockOwnerDeletion": True,
        }

    async def _delete_pods(self, rs: Obj, key: str, pods: list[Obj], count: int) -> None:
        victims = pods_to_delete(pods, self.related_pods(rs), count, meta.now())
        self.expectations.expect_deletions(key, [object_key(p) for p in victims])
        results = await asyncio.gather(
            *(self._delete_one(rs, key, pod) for pod in victims), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    async def _delete_one(self, rs: Obj, key: str, pod: Obj) -> None:
        try:
            await self.pod_control.delete_pod(meta.namespace_of(pod), meta.name_of(pod), rs)
        except Exception as err:
            # The informer will never report this deletion.
            self.expectations.deletion_observed(key, object_key(pod))
            if not is_not_found(err):
                raise

    def related_pods(self, rs: Obj) -> list[Obj]:
        """Active pods of every replica set sharing this one's controller (a
        deployment's old and new sets), for ranking pods doubled up on a node."""
        owner = meta.owner_controller(rs)
        if owner is None:
            return []
        namespace = meta.namespace_of(rs)
        in_namespace = self.pod_informer.by_index(NAMESPACE_INDEX, namespace)
        seen: set[str] = set()
        related: list[Obj] = []
        for sibling in self.rs_informer.by_index(NAMESPACE_INDEX, namespace):
            sibling_owner = meta.owner_controller(sibling)
            if sibling_owner is None or sibling_owner.get("uid") != owner.get("uid"):
                continue
            try:
                selector = self.selector_of(sibling)
            except StatusError:
                continue
            for pod in in_namespace:
                uid = meta.uid_of(pod)
                if uid not in seen and is_active(pod) and selector.matches(meta.labels_of(pod)):
                    seen.add(uid)
                    related.append(pod)
        return related

    # -- status ---------------------------------------------------------------------------

    async def update_status(self, rs: Obj, status: Obj) -> Obj:
        """Write the status unless it is unchanged; one retry on a fresh copy."""
        generation = meta.metadata_of(rs).get("generation")
        if status == (rs.get("status") or {}) and (status.get("observedGeneration") == generation):
            return rs
        for attempt in range(2):
            status = dict(status)
            if generation is not None:
                status["observedGeneration"] = generation
            try:
                return await self.client.update_status(self.resource, {**rs, "status": status})
            except Exception as err:
                if attempt == 1 or is_not_found(err):
                    raise
            rs = await self.client.get(self.resource, meta.name_of(rs), meta.namespace_of(rs))
            generation = meta.metadata_of(rs).get("generation")
        raise AssertionError("unreachable")
