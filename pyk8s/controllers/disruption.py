"""The disruption controller: keeps every PodDisruptionBudget's status current, which
is what the eviction subresource decides by (upstream's disruption controller).

For each budget: the pods its selector picks, how many of them are healthy (ready,
not deleting, not just evicted), how many must stay healthy (minAvailable, or the
pods' controllers' scale minus maxUnavailable), and so how many disruptions are
allowed. Evicted pods recorded in status.disruptedPods stop counting as healthy
until they are gone, or until two minutes pass without them going.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pyk8s.client import is_conflict, is_not_found
from pyk8s.controllers.base import Controller
from pyk8s.controllers.ownerrefs import scaled_value
from pyk8s.controllers.podutil import is_pod_ready
from pyk8s.machinery import labelselector, meta

Obj = dict[str, Any]
log = logging.getLogger(__name__)

# How long an evicted pod may take to go before the budget stops waiting for it.
DELETION_TIMEOUT = 120.0
CONDITION = "DisruptionAllowed"

# Controllers whose scale a budget may count against: kind -> (apiVersion, plural).
SCALABLE = {
    "ReplicaSet": ("apps/v1", "replicasets"),
    "Deployment": ("apps/v1", "deployments"),
    "StatefulSet": ("apps/v1", "statefulsets"),
    "ReplicationController": ("v1", "replicationcontrollers"),
}


class ScaleError(Exception):
    """The expected pod count cannot be worked out (the budget then allows nothing)."""


def budget_selects(pdb: Obj, pod: Obj) -> bool:
    """policy/v1: a nil selector selects nothing, an empty one every pod of the namespace."""
    sel = (pdb.get("spec") or {}).get("selector")
    if sel is None or meta.namespace_of(pdb) != meta.namespace_of(pod):
        return False
    return labelselector.selector_from_label_selector(sel).matches(meta.labels_of(pod))


def current_disrupted(
    pdb: Obj, pods: list[Obj], now: datetime
) -> tuple[dict[str, str], float | None]:
    """The disruptedPods entries still pending, and when the earliest one expires.

    An entry goes once its pod is gone or deleting, or DELETION_TIMEOUT after the eviction."""
    recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
    by_name = {meta.name_of(p): p for p in pods}
    kept: dict[str, str] = {}
    recheck: float | None = None
    for name, stamp in recorded.items():
        pod = by_name.get(name)
        if pod is None or meta.is_being_deleted(pod):
            continue
        expires = meta.parse_time(stamp) + timedelta(seconds=DELETION_TIMEOUT)
        if expires <= now:
            log.info("pod %s was expected to be deleted at %s but it wasn't", name, stamp)
            continue
        kept[name] = stamp
        left = (expires - now).total_seconds()
        recheck = left if recheck is None else min(recheck, left)
    return kept, recheck


def count_healthy(pods: list[Obj], disrupted: dict[str, str]) -> int:
    return sum(
        1
        for p in pods
        if not meta.is_being_deleted(p) and meta.name_of(p) not in disrupted and is_pod_ready(p)
    )


def desired_healthy(spec: Obj, pods: list[Obj], scale_of: Any) -> tuple[int, int]:
    """(expectedPods, desiredHealthy) as upstream's getExpectedPodCount.

    `scale_of(pod)` returns (controller uid, its scale) or raises ScaleError."""
    min_available = spec.get("minAvailable")
    max_unavailable = spec.get("maxUnavailable")
    if max_unavailable is None and isinstance(min_available, int):
        return len(pods), min_available
    if max_unavailable is None and min_available is None:
        return len(pods), 0
    expected = expected_scale(pods, scale_of)
    if max_unavailable is not None:
        unavailable = scaled_value(max_unavailable, expected, round_up=True)
        return expected, max(0, expected - unavailable)
    return expected, scaled_value(min_available, expected, round_up=True)


def expected_scale(pods: list[Obj], scale_of: Any) -> int:
    """The sum of the scales of the pods' distinct controllers."""
    scales: dict[str, int] = {}
    for pod in pods:
        uid, scale = scale_of(pod)
        scales[uid] = scale
    return sum(scales.values())


def disruptions_allowed(expected: int, healthy: int, desired: int) -> int:
    allowed = healthy - desired
    return 0 if expected <= 0 or allowed <= 0 else allowed


def allowed_condition(
    allowed: int, old: list[Obj], generation: int, now: str, failed: str = ""
) -> Obj:
    if failed:
        status, reason, message = "False", "SyncFailed", failed
    elif allowed > 0:
        status, reason, message = "True", "SufficientPods", ""
    else:
        status, reason, message = "False", "InsufficientPods", ""
    prev = next((c for c in old if c.get("type") == CONDITION), {})
    since = prev.get("lastTransitionTime") if prev.get("status") == status else None
    return {
        "type": CONDITION,
        "status": status,
        "observedGeneration": generation,
        "lastTransitionTime": since or now,
        "reason": reason,
        "message": message,
    }


class DisruptionController(Controller):
    name = "disruption"
    workers = 2

    def setup(self) -> None:
        self.recorder.component = "controllermanager"
        self.pdbs = self.informer("policy/v1", "poddisruptionbudgets")
        self.pods = self.informer("v1", "pods")
        self.owners = {kind: self.informer(*where) for kind, where in SCALABLE.items()}
        self.pdbs.add_handler(on_add=self.enqueue, on_update=lambda _old, new: self.enqueue(new))
        self.pods.add_handler(
            on_add=self._pod_changed,
            on_update=self._pod_updated,
            on_delete=self._pod_changed,
        )
        # Scaling a controller changes the expected count of percentage budgets.
        for inf in self.owners.values():
            inf.add_handler(on_update=self._scale_changed)

    def _pod_changed(self, pod: Obj) -> None:
        for pdb in self.pdbs.by_index("namespace", meta.namespace_of(pod)):
            if budget_selects(pdb, pod):
                self.enqueue(pdb)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        self._pod_changed(new)
        if meta.labels_of(old) != meta.labels_of(new):
            self._pod_changed(old)

    def _scale_changed(self, old: Obj, new: Obj) -> None:
        if (old.get("spec") or {}).get("replicas") != (new.get("spec") or {}).get("replicas"):
            for pdb in self.pdbs.by_index("namespace", meta.namespace_of(new)):
                self.enqueue(pdb)

    # -- sync -------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        pdb = self.pdbs.get(key)
        if pdb is None:
            return
        pods = [
            p
            for p in self.pods.by_index("namespace", meta.namespace_of(pdb))
            if budget_selects(pdb, p)
        ]
        if not pods:
            await self.recorder.event(pdb, "Normal", "NoPods", "No matching pods found")
        now = meta.now()
        disrupted, recheck = current_disrupted(pdb, pods, now)
        try:
            expected, desired = desired_healthy(pdb.get("spec") or {}, pods, self._scale_of)
        except ScaleError as e:
            await self._fail_safe(pdb, str(e))
            return
        healthy = count_healthy(pods, disrupted)
        status = {
            "disruptedPods": disrupted,
            "disruptionsAllowed": disruptions_allowed(expected, healthy, desired),
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "expectedPods": expected,
        }
        await self._write_status(pdb, status)
        if recheck is not None:
            self.enqueue_after(key, recheck + 0.01)

    def _scale_of(self, pod: Obj) -> tuple[str, int]:
        ref = meta.owner_controller(pod)
        if ref is None:
            raise ScaleError(f'found no controller ref for pod "{meta.name_of(pod)}"')
        owner = self._owner(meta.namespace_of(pod), ref)
        if owner is None:
            raise ScaleError(f'found no controllers for pod "{meta.name_of(pod)}"')
        # A ReplicaSet run by a Deployment is scaled through the Deployment.
        if owner.get("kind") == "ReplicaSet":
            parent_ref = meta.owner_controller(owner)
            if parent_ref is not None and parent_ref.get("kind") == "Deployment":
                parent = self._owner(meta.namespace_of(pod), parent_ref)
                if parent is not None:
                    owner = parent
        return meta.uid_of(owner), int((owner.get("spec") or {}).get("replicas", 1))

    def _owner(self, namespace: str, ref: Obj) -> Obj | None:
        inf = self.owners.get(ref.get("kind", ""))
        if inf is None:
            return None
        owner = inf.get(f"{namespace}/{ref.get('name', '')}")
        if owner is None or meta.uid_of(owner) != ref.get("uid"):
            return None
        return owner

    async def _fail_safe(self, pdb: Obj, message: str) -> None:
        """Upstream's failSafe: when the budget cannot be computed, allow no disruption."""
        await self.recorder.event(pdb, "Warning", "CalculateExpectedPodCountFailed", message)
        status = dict(pdb.get("status") or {})
        status["disruptionsAllowed"] = 0
        await self._write_status(pdb, status, failed=message)

    async def _write_status(self, pdb: Obj, counts: Obj, failed: str = "") -> None:
        old = pdb.get("status") or {}
        generation = int(pdb["metadata"].get("generation", 1))
        status = {k: v for k, v in counts.items() if k != "disruptedPods" or v}
        status["observedGeneration"] = generation
        cond = allowed_condition(
            status.get("disruptionsAllowed", 0),
            old.get("conditions") or [],
            generation,
            meta.now_rfc3339(),
            failed,
        )
        status["conditions"] = [
            c for c in old.get("conditions") or [] if c.get("type") != CONDITION
        ]
        status["conditions"].append(cond)
        if status == old:
            return
        try:
            await self.client.update_status(self.pdbs.res, {**pdb, "status": status})
        except Exception as e:
            if is_not_found(e):
                return
            if is_conflict(e):
                raise RuntimeError("budget changed meanwhile; retrying") from e
            raise
