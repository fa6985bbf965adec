"""The Deployment controller: informers on deployments, replica sets and pods,
handlers that enqueue the owning deployment's key, and `sync(key)`, which claims
the deployment's replica sets and runs the paused/scaling sync or the rollout of
its strategy (upstream's deployment_controller.go)."""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pyk8s.client import NAMESPACE_INDEX, is_not_found
from pyk8s.controllers.base import Controller
from pyk8s.controllers.deployment.progress import ProgressMixin
from pyk8s.controllers.deployment.recreate import RecreateMixin
from pyk8s.controllers.deployment.rolling import RollingMixin
from pyk8s.controllers.deployment.sync import SyncMixin, controller_ref
from pyk8s.controllers.deployment.util import REVISION, Obj, annotations, strategy_type
from pyk8s.machinery import meta
from pyk8s.machinery.labels import Selector
from pyk8s.machinery.labelselector import selector_from_label_selector

log = logging.getLogger(__name__)

CONTROLLER_INDEX = "deployment-controller-uid"
COMPONENT = "deployment-controller"


def controller_uid_index(obj: Obj) -> list[str]:
    ref = meta.owner_controller(obj)
    return [ref["uid"]] if ref and ref.get("uid") else []


def _selector(d: Obj) -> Selector:
    return selector_from_label_selector((d.get("spec") or {}).get("selector"))


def _selects_everything(d: Obj) -> bool:
    sel = (d.get("spec") or {}).get("selector") or {}
    return not sel.get("matchLabels") and not sel.get("matchExpressions")


class DeploymentController(SyncMixin, RollingMixin, RecreateMixin, ProgressMixin, Controller):
    name = "deployment"
    workers = 5  # upstream's --concurrent-deployment-syncs default

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorder.component = COMPONENT
        self.d_res = self.client.resource("apps/v1", "deployments")
        self.rs_res = self.client.resource("apps/v1", "replicasets")
        # Wall time for condition timestamps and the progress deadline (tests may replace it).
        self.now: Callable[[], datetime] = meta.now

    # -- informers and handlers ----------------------------------------------------------

    def setup(self) -> None:
        self.deployments = self.informer("apps/v1", "deployments")
        self.replicasets = self.informer("apps/v1", "replicasets")
        self.pods = self.informer("v1", "pods")
        for inf in (self.replicasets, self.pods):
            with contextlib.suppress(ValueError):  # already added by a sibling instance
                inf.add_index(CONTROLLER_INDEX, controller_uid_index)
        self.deployments.add_handler(self.enqueue, lambda _o, n: self.enqueue(n), self.enqueue)
        self.replicasets.add_handler(self._rs_added, self._rs_updated, self._rs_deleted)
        self.pods.add_handler(on_delete=self._pod_deleted)

    def _resolve(self, namespace: str, ref: Obj | None) -> Obj | None:
        """The deployment a controllerRef points at, if it is one of ours and still there."""
        if not ref or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.get(f"{namespace}/{ref.get('name')}")
        if d is None or meta.uid_of(d) != ref.get("uid"):
            return None
        return d

    def _deployments_selecting(self, rs: Obj) -> list[Obj]:
        out = []
        for d in self.deployments.by_index(NAMESPACE_INDEX, meta.namespace_of(rs)):
            if _selects_everything(d):
                continue  # an empty selector matches nothing here, not everything
            if _selector(d).matches(meta.labels_of(rs)):
                out.append(d)
        return out

    def _rs_added(self, rs: Obj) -> None:
        if meta.is_being_deleted(rs):
            return self._rs_deleted(rs)
        ref = meta.owner_controller(rs)
        if ref is not None:
            d = self._resolve(meta.namespace_of(rs), ref)
            if d is not None:
                self.enqueue(d)
            return
        for d in self._deployments_selecting(rs):  # an orphan: who wants to adopt it?
            self.enqueue(d)

    def _rs_updated(self, old: Obj, cur: Obj) -> None:
        if meta.metadata_of(old).get("resourceVersion") == meta.metadata_of(cur).get(
            "resourceVersion"
        ):
            return
        ns = meta.namespace_of(cur)
        old_ref, cur_ref = meta.owner_controller(old), meta.owner_controller(cur)
        ref_changed = old_ref != cur_ref
        if ref_changed and old_ref is not None:
            d = self._resolve(ns, old_ref)
            if d is not None:
                self.enqueue(d)
        if cur_ref is not None:
            d = self._resolve(ns, cur_ref)
            if d is not None:
                self.enqueue(d)
            return
        if ref_changed or meta.labels_of(old) != meta.labels_of(cur):
            for d in self._deployments_selecting(cur):
                self.enqueue(d)

    def _rs_deleted(self, rs: Obj) -> None:
        d = self._resolve(meta.namespace_of(rs), meta.owner_controller(rs))
        if d is not None:
            self.enqueue(d)

    def _pod_deleted(self, pod: Obj) -> None:
        """A Recreate rollout waits for the old pods to be gone: look again when the last goes."""
        ns = meta.namespace_of(pod)
        ref = meta.owner_controller(pod)
        if not ref or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.get(f"{ns}/{ref.get('name')}")
        if rs is None or meta.uid_of(rs) != ref.get("uid"):
            return
        d = self._resolve(ns, meta.owner_controller(rs))
        if d is None or strategy_type(d) != "Recreate":
            return
        owned = [r for r in self.replicasets.by_index(CONTROLLER_INDEX, meta.uid_of(d))]
        if not any(self.pods.by_index(CONTROLLER_INDEX, meta.uid_of(r)) for r in owned):
            self.enqueue(d)

    # -- API writes shared by the parts --------------------------------------------------

    async def update_deployment_status(self, d: Obj) -> Obj:
        """PUT status; `d` becomes the stored object (fresh resourceVersion).

        Upstream's status strategy for deployments keeps annotation changes, and the
        controller records the revision annotation with its status write. Where the
        server drops metadata on /status, the revision is patched on separately."""
        updated = await self.client.update_status(self.d_res, d)
        want = ((d.get("metadata") or {}).get("annotations") or {}).get(REVISION)
        if want is not None and annotations(updated).get(REVISION) != want:
            patch = {"metadata": {"annotations": {REVISION: want}}}
            updated = await self.client.patch(
                self.d_res, meta.name_of(d), patch, meta.namespace_of(d), patch_type="merge"
            )
        d.clear()
        d.update(updated)
        return d

    # -- owned replica sets and pods -----------------------------------------------------

    async def replica_sets_for(self, d: Obj) -> list[Obj]:
        """The replica sets this deployment controls: adopts matching orphans and
        releases owned sets that no longer match (ClaimReplicaSets)."""
        selector = _selector(d)
        uid = meta.uid_of(d)
        owned: list[Obj] = []
        for rs in self.replicasets.by_index(NAMESPACE_INDEX, meta.namespace_of(d)):
            ref = meta.owner_controller(rs)
            matches = selector.matches(meta.labels_of(rs))
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    owned.append(rs)
                elif not meta.is_being_deleted(d):
                    await self._release(d, rs)
                continue
            if matches and not meta.is_being_deleted(d) and not meta.is_being_deleted(rs):
                adopted = await self._adopt(d, rs)
                if adopted is not None:
                    owned.append(adopted)
        return owned

    async def _adopt(self, d: Obj, rs: Obj) -> Obj | None:
        fresh = await self.client.get(self.d_res, meta.name_of(d), meta.namespace_of(d))
        if meta.uid_of(fresh) != meta.uid_of(d) or meta.is_being_deleted(fresh):
            return None
        patch = {"metadata": {"ownerReferences": [controller_ref(d)], "uid": meta.uid_of(rs)}}
        return await self.client.patch(self.rs_res, meta.name_of(rs), patch, meta.namespace_of(rs))

    async def _release(self, d: Obj, rs: Obj) -> None:
        patch = {
            "metadata": {
                "ownerReferences": [{"$patch": "delete", "uid": meta.uid_of(d)}],
                "uid": meta.uid_of(rs),
            }
        }
        try:
            await self.client.patch(self.rs_res, meta.name_of(rs), patch, meta.namespace_of(rs))
        except Exception as err:
            if not is_not_found(err):
                raise

    def pod_map(self, rss: list[Obj]) -> dict[str, list[Obj]]:
        """Pods by the uid of the replica set controlling them (terminated ones too)."""
        return {
            meta.uid_of(rs): self.pods.by_index(CONTROLLER_INDEX, meta.uid_of(rs)) for rs in rss
        }

    # -- sync ----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self.deployments.get(key)
        if cached is None:
            return  # deleted: the garbage collector removes its replica sets
        d = copy.deepcopy(cached)
        d.setdefault("spec", {})
        if _selects_everything(d):
            return await self._reject_select_all(d)
        rss = await self.replica_sets_for(d)
        if meta.is_being_deleted(d):
            return await self.sync_status_only(d, rss)
        await self.check_paused_conditions(d)
        if d["spec"].get("paused"):
            return await self.sync_scaling(d, rss)
        if await self.is_scaling_event(d, rss):
            return await self.sync_scaling(d, rss)
        if strategy_type(d) == "Recreate":
            return await self.rollout_recreate(d, rss, self.pod_map(rss))
        await self.rollout_rolling(d, rss)

    async def _reject_select_all(self, d: Obj) -> None:
        await self.recorder.event(
            d,
            "Warning",
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        )
        status = d.setdefault("status", {})
        generation = meta.metadata_of(d).get("generation", 0)
        if (status.get("observedGeneration") or 0) < generation:
            status["observedGeneration"] = generation
            await self.update_deployment_status(d)
