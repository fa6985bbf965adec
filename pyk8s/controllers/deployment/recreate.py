"""The Recreate strategy (upstream's recreate.go): scale every old replica set to
zero, wait until none of their pods is left running, then bring up the new set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.controllers.deployment import progress
from pyk8s.controllers.deployment.util import Obj, actual_replica_count, filter_active, replicas_of
from pyk8s.machinery import meta

if TYPE_CHECKING:
    from pyk8s.controllers.deployment.controller import DeploymentController

_TERMINAL = ("Failed", "Succeeded")


def old_pods_running(new_rs: Obj | None, old_rss: list[Obj], pod_map: dict[str, list[Obj]]) -> bool:
    """Whether any old set still has pods that are not finished (Unknown counts)."""
    if actual_replica_count(old_rss) > 0:
        return True
    new_uid = meta.uid_of(new_rs) if new_rs is not None else None
    for uid, pods in pod_map.items():
        if uid == new_uid:
            continue
        if any(((p.get("status") or {}).get("phase")) not in _TERMINAL for p in pods):
            return True
    return False


class RecreateMixin:
    async def rollout_recreate(
        self: DeploymentController, d: Obj, rss: list[Obj], pod_map: dict[str, list[Obj]]
    ) -> None:
        # No new set yet: creating it now would scale up before the old pods are gone.
        new_rs, old_rss = await self.get_all_rss_and_sync_revision(d, rss, False)
        all_rss = [*old_rss, new_rs]
        scaled_down = False
        for rs in filter_active(old_rss):
            scaled, _ = await self.scale_rs_and_record(rs, 0, d)
            scaled_down = scaled_down or scaled
        if scaled_down or old_pods_running(new_rs, old_rss, pod_map):
            return await self.sync_rollout_status(all_rss, new_rs, d)
        if new_rs is None:
            new_rs, old_rss = await self.get_all_rss_and_sync_revision(d, rss, True)
            all_rss = [*old_rss, new_rs]
        assert new_rs is not None
        if replicas_of(new_rs) != replicas_of(d):
            await self.scale_rs_and_record(new_rs, replicas_of(d), d)
        if progress.deployment_complete(d, d.get("status") or {}):
            await self.cleanup_deployment(old_rss, d)
        await self.sync_rollout_status(all_rss, new_rs, d)
