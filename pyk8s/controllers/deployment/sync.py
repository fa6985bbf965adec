"""Getting or creating the new replica set, scaling, cleanup of old replica sets,
and the plain status sync (upstream's sync.go), plus the replica arithmetic
(NewRSNewReplicas, proportional scaling) it relies on."""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING

from pyk8s.client import is_already_exists, is_not_found
from pyk8s.controllers.deployment import progress
from pyk8s.controllers.deployment.rollback import set_new_rs_annotations
from pyk8s.controllers.deployment.util import (
    HASH_LABEL,
    REVISION,
    Obj,
    annotations,
    by_revision,
    compute_hash,
    desired_replicas_annotation,
    equal_ignore_hash,
    filter_active,
    find_new_rs,
    find_old_rss,
    is_rolling_update,
    max_replicas_annotation,
    max_revision,
    max_surge,
    pods_upper_bound,
    replica_count,
    replicas_annotations_need_update,
    replicas_of,
    scaled_value,
    set_deployment_revision,
    set_replicas_annotations,
    sort_by_size_newer,
    sort_by_size_older,
    template_of,
)
from pyk8s.machinery import meta

if TYPE_CHECKING:
    from pyk8s.controllers.deployment.controller import DeploymentController

log = logging.getLogger(__name__)

SCALING_REASON = "ScalingReplicaSet"


def scaling_message(op: str, name: str, old: int, new: int) -> str:
    """The ScalingReplicaSet event text: a new set's first size reads "Scaled up replica
    set X to N"; later changes "Scaled up replica set X to N from M", as upstream."""
    return f"Scaled {op} replica set {name} to {new} from {old}"


def created_message(name: str, count: int) -> str:
    return f"Scaled up replica set {name} to {count}"


# ---------------------------------------------------------------- replica arithmetic


def new_rs_new_replicas(d: Obj, all_rss: list[Obj], new_rs: Obj) -> int:
    """How many replicas the new set may have now: up to replicas + maxSurge in total."""
    want = replicas_of(d)
    if not is_rolling_update(d):
        return want
    rolling = (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge", "25%"), want, True)
    current = pods_upper_bound(all_rss)
    max_total = want + surge
    if current >= max_total:
        return replicas_of(new_rs)
    return replicas_of(new_rs) + min(max_total - current, want - replicas_of(new_rs))


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    """The set has all the deployment's replicas, all available."""
    if rs is None:
        return False
    want = replicas_of(d)
    return (
        replicas_of(rs) == want
        and desired_replicas_annotation(rs) == want
        and int((rs.get("status") or {}).get("availableReplicas") or 0) == want
    )


def find_active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    """The only active set; the newest set when none is active; None when several are."""
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(
        old_rss, key=lambda rs: meta.metadata_of(rs).get("creationTimestamp") or "", reverse=True
    )
    active = filter_active([*newest_first, new_rs])
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


def _round(x: float) -> int:
    """Go's integer.RoundToInt32: halves away from zero."""
    return int(x - 0.5) if x < 0 else int(x + 0.5)


def rs_fraction(rs: Obj, d: Obj) -> int:
    """How much this set should grow (or shrink) for the deployment's new size."""
    want = replicas_of(d)
    if want == 0:
        return -replicas_of(rs)
    target = want + max_surge(d)
    annotated = max_replicas_annotation(rs)
    if annotated is None:
        annotated = int((d.get("status") or {}).get("replicas") or 0)
    if annotated == 0:
        return 0
    return _round(replicas_of(rs) * target / annotated) - replicas_of(rs)


def proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = rs_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def proportional_sizes(d: Obj, active: list[Obj]) -> tuple[list[Obj], dict[str, int]]:
    """(sets in scaling order, new size per set name) for a resize mid-rollout."""
    allowed = replicas_of(d) + max_surge(d) if replicas_of(d) > 0 else 0
    to_add = allowed - replica_count(active)
    if to_add > 0:
        active = sort_by_size_newer(active)
    elif to_add < 0:
        active = sort_by_size_older(active)
    sizes: dict[str, int] = {}
    added = 0
    for rs in active:
        share = proportion(rs, d, to_add, added) if to_add else 0
        sizes[meta.name_of(rs)] = replicas_of(rs) + share
        added += share
    if active and to_add:
        first = meta.name_of(active[0])  # leftovers go to the largest set
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return active, sizes


def controller_ref(d: Obj) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": meta.name_of(d),
        "uid": meta.uid_of(d),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def new_replica_set(d: Obj) -> Obj:
    """The replica set for the deployment's current template (0 replicas for now):
    named <deployment>-<hash>, template a verbatim copy plus the hash label."""
    spec = d.get("spec") or {}
    template = copy.deepcopy(template_of(d))
    collisions = (d.get("status") or {}).get("collisionCount")
    pod_hash = compute_hash(template, collisions)
    tmd = template.setdefault("metadata", {})
    tmd["labels"] = {**(tmd.get("labels") or {}), HASH_LABEL: pod_hash}
    selector = copy.deepcopy(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta.name_of(d)}-{pod_hash}",
            "namespace": meta.namespace_of(d),
            "labels": dict(tmd["labels"]),
            "ownerReferences": [controller_ref(d)],
        },
        "spec": {
            "replicas": 0,
            "minReadySeconds": spec.get("minReadySeconds") or 0,
            "selector": selector,
            "template": template,
        },
    }


# ------------------------------------------------------------------- controller part


class SyncMixin:
    """The parts of DeploymentController that get, create and scale replica sets."""

    async def get_all_rss_and_sync_revision(
        self: DeploymentController, d: Obj, rss: list[Obj], create: bool
    ) -> tuple[Obj | None, list[Obj]]:
        """(new set, every old set), creating the new set when asked, with revisions synced."""
        _, all_old = find_old_rss(d, rss)
        new_rs = await self.get_new_rs(d, rss, all_old, create)
        return new_rs, all_old

    async def get_new_rs(
        self: DeploymentController, d: Obj, rss: list[Obj], old_rss: list[Obj], create: bool
    ) -> Obj | None:
        existing = find_new_rs(d, rss)
        new_revision = str(max_revision(old_rss) + 1)
        if existing is not None:
            synced = await self._sync_existing_new_rs(d, existing, new_revision)
            # Later steps of this sync must write over the fresh version, not the cached one.
            rss[:] = [synced if r is existing else r for r in rss]
            return synced
        if not create:
            return None
        return await self._create_new_rs(d, old_rss, new_revision)

    async def _sync_existing_new_rs(
        self: DeploymentController, d: Obj, existing: Obj, new_revision: str
    ) -> Obj:
        rs = copy.deepcopy(existing)
        changed = set_new_rs_annotations(d, rs, new_revision, True)
        min_ready = d["spec"].get("minReadySeconds") or 0
        if changed or (rs["spec"].get("minReadySeconds") or 0) != min_ready:
            rs["spec"]["minReadySeconds"] = min_ready
            # The deployment's revision follows at the next sync, from this set's.
            return await self.client.update(self.rs_res, rs)
        needs_update = set_deployment_revision(d, annotations(rs).get(REVISION, ""))
        status = d.setdefault("status", {})
        if (
            progress.has_progress_deadline(d)
            and progress.get_condition(status, progress.PROGRESSING) is None
        ):
            msg = f'Found new replica set "{meta.name_of(rs)}"'
            progress.set_condition(
                status,
                progress.new_condition(
                    progress.PROGRESSING, "True", progress.FOUND_NEW_RS_REASON, msg, self.now()
                ),
            )
            needs_update = True
        if needs_update:
            await self.update_deployment_status(d)
        return rs

    async def _create_new_rs(
        self: DeploymentController, d: Obj, old_rss: list[Obj], new_revision: str
    ) -> Obj:
        rs = new_replica_set(d)
        count = new_rs_new_replicas(d, [*old_rss, rs], rs)
        rs["spec"]["replicas"] = count
        set_new_rs_annotations(d, rs, new_revision, False)
        name = meta.name_of(rs)
        try:
            created = await self.client.create(self.rs_res, rs, meta.namespace_of(d))
            already = False
        except Exception as err:
            if not is_already_exists(err):
                await self._report_create_failure(d, name, err)
                raise
            created = await self._existing_or_collision(d, name)
            already = True
        if not already and count > 0:
            await self.recorder.event(d, "Normal", SCALING_REASON, created_message(name, count))
        needs_update = set_deployment_revision(d, new_revision)
        if not already and progress.has_progress_deadline(d):
            msg = f'Created new replica set "{name}"'
            cond = progress.new_condition(
                progress.PROGRESSING, "True", progress.NEW_RS_REASON, msg, self.now()
            )
            progress.set_condition(d.setdefault("status", {}), cond)
            needs_update = True
        if needs_update:
            await self.update_deployment_status(d)
        return created

    async def _existing_or_collision(self: DeploymentController, d: Obj, name: str) -> Obj:
        """A create that found the name taken: ours (a stale cache) or a hash collision."""
        rs = await self.client.get(self.rs_res, name, meta.namespace_of(d))
        if meta.is_controlled_by(rs, d) and equal_ignore_hash(template_of(rs), template_of(d)):
            return rs
        status = d.setdefault("status", {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        await self.update_deployment_status(d)
        raise RuntimeError(f"hash collision creating replica set {name}; collisionCount raised")

    async def _report_create_failure(
        self: DeploymentController, d: Obj, name: str, err: Exception
    ) -> None:
        if getattr(err, "code", None) == 403:  # namespace terminating: nothing to report
            return
        msg = f'Failed to create new replica set "{name}": {err}'
        if progress.has_progress_deadline(d):
            cond = progress.new_condition(
                progress.PROGRESSING, "False", progress.FAILED_RS_CREATE_REASON, msg, self.now()
            )
            progress.set_condition(d.setdefault("status", {}), cond)
            try:
                await self.update_deployment_status(d)
            except Exception:  # noqa: BLE001 - the create error is what gets retried
                pass
        await self.recorder.event(d, "Warning", progress.FAILED_RS_CREATE_REASON, msg)

    # -- scaling -------------------------------------------------------------------------

    async def scale_rs_and_record(
        self: DeploymentController, rs: Obj, new_scale: int, d: Obj
    ) -> tuple[bool, Obj]:
        """Scale one set (no-op if already that size); an event when it changed."""
        if replicas_of(rs) == new_scale:
            return False, rs
        return await self.scale_rs(rs, new_scale, d)

    async def scale_rs(
        self: DeploymentController, rs: Obj, new_scale: int, d: Obj
    ) -> tuple[bool, Obj]:
        want = replicas_of(d)
        top = want + max_surge(d)
        size_changes = replicas_of(rs) != new_scale
        if not size_changes and not replicas_annotations_need_update(rs, want, top):
            return False, rs
        old_scale = replicas_of(rs)
        updated = copy.deepcopy(rs)
        updated["spec"]["replicas"] = new_scale
        set_replicas_annotations(updated, want, top)
        updated = await self.client.update(self.rs_res, updated)
        if size_changes:
            op = "up" if old_scale < new_scale else "down"
            await self.record_scaling(d, op, meta.name_of(updated), old_scale, new_scale)
        return size_changes, updated

    async def record_scaling(
        self: DeploymentController, d: Obj, op: str, name: str, old: int, new: int
    ) -> None:
        await self.recorder.event(d, "Normal", SCALING_REASON, scaling_message(op, name, old, new))

    async def scale(
        self: DeploymentController, d: Obj, new_rs: Obj | None, old_rss: list[Obj]
    ) -> None:
        """Resize for a replicas change: one active set takes it all; a saturated new
        set means old ones go to 0; otherwise, mid-rollout, share it proportionally."""
        only = find_active_or_latest(new_rs, old_rss)
        if only is not None:
            if replicas_of(only) != replicas_of(d):
                await self.scale_rs_and_record(only, replicas_of(d), d)
            return
        if is_saturated(d, new_rs):
            for old in filter_active(old_rss):
                await self.scale_rs_and_record(old, 0, d)
            return
        if not is_rolling_update(d):
            return
        ordered, sizes = proportional_sizes(d, filter_active([*old_rss, new_rs]))
        for rs in ordered:
            await self.scale_rs(rs, sizes[meta.name_of(rs)], d)

    async def is_scaling_event(self: DeploymentController, d: Obj, rss: list[Obj]) -> bool:
        """Whether replicas changed since the active sets were last annotated."""
        new_rs, old_rss = await self.get_all_rss_and_sync_revision(d, rss, False)
        for rs in filter_active([*old_rss, new_rs]):
            desired = desired_replicas_annotation(rs)
            if desired is not None and desired != replicas_of(d):
                return True
        return False

    # -- sync entry points ---------------------------------------------------------------

    async def sync_scaling(self: DeploymentController, d: Obj, rss: list[Obj]) -> None:
        """Reconcile a scaling event or a paused deployment: resize, no rollout."""
        new_rs, old_rss = await self.get_all_rss_and_sync_revision(d, rss, False)
        await self.scale(d, new_rs, old_rss)
        if d["spec"].get("paused"):
            await self.cleanup_deployment(old_rss, d)
        await self.sync_deployment_status([*old_rss, new_rs], new_rs, d)

    async def sync_status_only(self: DeploymentController, d: Obj, rss: list[Obj]) -> None:
        new_rs, old_rss = await self.get_all_rss_and_sync_revision(d, rss, False)
        await self.sync_deployment_status([*old_rss, new_rs], new_rs, d)

    async def sync_deployment_status(
        self: DeploymentController, all_rss: list[Obj | None], new_rs: Obj | None, d: Obj
    ) -> None:
        status = progress.calculate_status(all_rss, new_rs, d, self.now())
        if progress.statuses_equal(d.get("status"), status):
            return
        d["status"] = status
        await self.update_deployment_status(d)

    async def cleanup_deployment(self: DeploymentController, old_rss: list[Obj], d: Obj) -> None:
        """Delete the oldest scaled-down sets beyond revisionHistoryLimit."""
        limit = d["spec"].get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in old_rss if rs is not None and not meta.is_being_deleted(rs)]
        extra = len(alive) - int(limit)
        if extra <= 0:
            return
        for rs in sorted(alive, key=by_revision)[:extra]:
            st = rs.get("status") or {}
            if (
                st.get("replicas")
                or replicas_of(rs) != 0
                or meta.metadata_of(rs).get("generation", 0) > st.get("observedGeneration", 0)
            ):
                continue
            try:
                await self.client.delete(self.rs_res, meta.name_of(rs), meta.namespace_of(rs))
            except Exception as err:
                if not is_not_found(err):
                    raise
