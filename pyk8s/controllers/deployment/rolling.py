"""The RollingUpdate strategy (upstream's rolling.go): grow the new replica set up
to replicas + maxSurge pods in total, shrink old ones while at least
replicas - maxUnavailable pods stay available, unhealthy old pods first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.controllers.deployment import progress
from pyk8s.controllers.deployment.sync import new_rs_new_replicas
from pyk8s.controllers.deployment.util import (
    Obj,
    available_lower_bound,
    available_of,
    by_creation,
    filter_active,
    max_unavailable,
    replica_count,
    replicas_of,
)

if TYPE_CHECKING:
    from pyk8s.controllers.deployment.controller import DeploymentController


def max_scaled_down(all_rss: list[Obj], new_rs: Obj, d: Obj) -> int:
    """How many old pods may go now without dropping below minimum availability,
    counting the new set's not-yet-available pods as already missing."""
    min_available = replicas_of(d) - max_unavailable(d)
    new_unavailable = replicas_of(new_rs) - available_of(new_rs)
    return replica_count(all_rss) - min_available - new_unavailable


def unhealthy_cleanup_plan(old_rss: list[Obj], budget: int) -> list[tuple[Obj, int]]:
    """(set, new size) removing old sets' unavailable pods first, oldest set first."""
    plan: list[tuple[Obj, int]] = []
    done = 0
    for rs in sorted(old_rss, key=by_creation):
        if done >= budget:
            break
        size = replicas_of(rs)
        # A set just scaled down may still report more available pods than its
        # spec: it has no unhealthy pods to remove (and must never grow here).
        if size == 0 or size <= available_of(rs):
            continue
        cut = min(budget - done, size - available_of(rs))
        plan.append((rs, size - cut))
        done += cut
    return plan


def scale_down_plan(all_rss: list[Obj], old_rss: list[Obj], d: Obj) -> list[tuple[Obj, int]]:
    """(set, new size) shrinking old sets, oldest first, down to minimum availability."""
    min_available = replicas_of(d) - max_unavailable(d)
    available = available_lower_bound(all_rss)
    if available <= min_available:
        return []
    total = available - min_available
    plan: list[tuple[Obj, int]] = []
    done = 0
    for rs in sorted(old_rss, key=by_creation):
        if done >= total:
            break
        size = replicas_of(rs)
        if size == 0:
            continue
        cut = min(size, total - done)
        plan.append((rs, size - cut))
        done += cut
    return plan


class RollingMixin:
    async def rollout_rolling(self: DeploymentController, d: Obj, rss: list[Obj]) -> None:
        new_rs, old_rss = await self.get_all_rss_and_sync_revision(d, rss, True)
        assert new_rs is not None
        all_rss = [*old_rss, new_rs]
        if await self.reconcile_new_rs(all_rss, new_rs, d):
            return await self.sync_rollout_status(all_rss, new_rs, d)
        if await self.reconcile_old_rss(all_rss, filter_active(old_rss), new_rs, d):
            return await self.sync_rollout_status(all_rss, new_rs, d)
        if progress.deployment_complete(d, d.get("status") or {}):
            await self.cleanup_deployment(old_rss, d)
        await self.sync_rollout_status(all_rss, new_rs, d)

    async def reconcile_new_rs(
        self: DeploymentController, all_rss: list[Obj], new_rs: Obj, d: Obj
    ) -> bool:
        want = replicas_of(d)
        if replicas_of(new_rs) == want:
            return False
        if replicas_of(new_rs) > want:
            scaled, _ = await self.scale_rs_and_record(new_rs, want, d)
            return scaled
        scaled, _ = await self.scale_rs_and_record(
            new_rs, new_rs_new_replicas(d, all_rss, new_rs), d
        )
        return scaled

    async def reconcile_old_rss(
        self: DeploymentController, all_rss: list[Obj], old_rss: list[Obj], new_rs: Obj, d: Obj
    ) -> bool:
        if replica_count(old_rss) == 0:
            return False
        budget = max_scaled_down(all_rss, new_rs, d)
        if budget <= 0:
            return False
        old_rss = list(old_rss)
        cleaned = 0
        for rs, size in unhealthy_cleanup_plan(old_rss, budget):
            cleaned += replicas_of(rs) - size
            _, updated = await self.scale_rs_and_record(rs, size, d)
            old_rss = [updated if r is rs else r for r in old_rss]
        scaled = 0
        for rs, size in scale_down_plan([*old_rss, new_rs], old_rss, d):
            scaled += replicas_of(rs) - size
            await self.scale_rs_and_record(rs, size, d)
        return cleaned + scaled > 0
