"""The namespace controller: a namespace being deleted loses everything in it, then
its "kubernetes" finalizer, after which the API server removes it (upstream's
namespace controller and its NamespacedResourcesDeleter).

Each pass deletes every namespaced resource's collection in the namespace, then
lists what is left. Objects still terminating (pods in their grace period, objects
with finalizers) keep the namespace waiting: the status conditions say what remains
and the key is looked at again shortly.
"""

from __future__ import annotations

import logging
from typing import Any

from pyk8s.api.resources import ResourceType, builtin_resources
from pyk8s.client import is_conflict, is_not_found
from pyk8s.client.resource import as_ref, resource_path
from pyk8s.controllers.base import Controller
from pyk8s.machinery import meta

Obj = dict[str, Any]
log = logging.getLogger(__name__)

FINALIZER = "kubernetes"
# How long to wait before looking again while content remains (upstream estimates
# from the pods' grace periods; a short fixed poll converges as well).
DEFAULT_RECHECK = 1.0

# The five conditions upstream keeps on a terminating namespace, in its order, with
# the reason and message each carries when all is well.
OK_CONDITIONS = [
    ("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"),
    ("NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions", "All legacy kube types successfully parsed"),
    ("NamespaceDeletionContentFailure", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
    ("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"),
    ("NamespaceFinalizersRemaining", "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
]  # fmt: skip


def namespaced_resources() -> list[ResourceType]:
    """Every namespaced resource that can be listed and deleted."""
    return [r for r in builtin_resources() if r.namespaced and {"list", "delete"} <= set(r.verbs)]


class Remaining:
    """What a pass found still present: counts per resource and per finalizer."""

    def __init__(self) -> None:
        self.by_resource: dict[str, int] = {}
        self.by_finalizer: dict[str, int] = {}
        self.failures: list[str] = []

    def add(self, res: ResourceType, items: list[Obj]) -> None:
        if not items:
            return
        # upstream prints group resources as "<plural>.<group>": "pods." for the core group
        self.by_resource[f"{res.plural}.{res.group}"] = len(items)
        for item in items:
            for fin in (item.get("metadata") or {}).get("finalizers") or []:
                self.by_finalizer[fin] = self.by_finalizer.get(fin, 0) + 1

    @property
    def empty(self) -> bool:
        return not self.by_resource and not self.failures


def content_conditions(remaining: Remaining, now: str, old: list[Obj]) -> list[Obj]:
    """Upstream's five deletion conditions for what remains (lastTransitionTime kept
    while a condition's status does not change)."""
    previous = {c.get("type"): c for c in old}
    bad: dict[str, tuple[str, str]] = {}
    if remaining.failures:
        bad["NamespaceDeletionContentFailure"] = (
            "ContentDeletionFailed",
            "Failed to delete all resource types, "
            f"{len(remaining.failures)} remaining: {', '.join(remaining.failures)}",
        )
    if remaining.by_resource:
        parts = [
            f"{k} has {v} resource instances" for k, v in sorted(remaining.by_resource.items())
        ]
        bad["NamespaceContentRemaining"] = (
            "SomeResourcesRemain",
            "Some resources are remaining: " + ", ".join(parts),
        )
    if remaining.by_finalizer:
        parts = [
            f"{k} in {v} resource instances" for k, v in sorted(remaining.by_finalizer.items())
        ]
        bad["NamespaceFinalizersRemaining"] = (
            "SomeFinalizersRemain",
            "Some content in the namespace has finalizers remaining: " + ", ".join(parts),
        )
    out = []
    for type_, ok_reason, ok_message in OK_CONDITIONS:
        status, (reason, message) = (
            ("True", bad[type_]) if type_ in bad else ("False", (ok_reason, ok_message))
        )
        prev = previous.get(type_) or {}
        since = prev.get("lastTransitionTime") if prev.get("status") == status else None
        out.append(
            {
                "type": type_,
                "status": status,
                "lastTransitionTime": since or now,
                "reason": reason,
                "message": message,
            }
        )
    return out


class NamespaceController(Controller):
    name = "namespace"
    workers = 2

    def setup(self) -> None:
        self.recheck = float(self.options.get("recheck_interval", DEFAULT_RECHECK))
        self.namespaces = self.informer("v1", "namespaces")
        self.namespaces.add_handler(
            on_add=self._maybe_enqueue,
            on_update=lambda _old, new: self._maybe_enqueue(new),
        )

    def _maybe_enqueue(self, ns: Obj) -> None:
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            self.enqueue(ns)

    async def sync(self, key: str) -> None:
        ns = self.namespaces.get(key)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return  # already finalized: the API server removes it once its metadata finalizers go
        remaining = await self._delete_content(key)
        if not remaining.empty:
            await self._update_conditions(key, remaining)
            self.enqueue_after(key, self.recheck)
            return
        await self._update_conditions(key, remaining)
        await self._finalize(key)

    async def _delete_content(self, namespace: str) -> Remaining:
        remaining = Remaining()
        for res in namespaced_resources():
            try:
                remaining.add(res, await self._delete_collection(res, namespace))
            except Exception as e:  # noqa: BLE001 - report it and try the others
                log.debug("namespace %s: deleting %s failed: %s", namespace, res.plural, e)
                remaining.failures.append(f"{res.plural}.{res.group}")
        return remaining

    async def _delete_collection(self, res: ResourceType, namespace: str) -> list[Obj]:
        """Delete what there is; return what is still there afterwards."""
        listed = await self.client.list(res, namespace)
        items = listed.get("items") or []
        if not items:
            return []
        if "deletecollection" in res.verbs:
            await self.client.delete_collection(res, namespace, propagation_policy="Background")
        else:
            for item in items:
                await self._delete_one(res, namespace, item)
        listed = await self.client.list(res, namespace)
        return listed.get("items") or []

    async def _delete_one(self, res: ResourceType, namespace: str, item: Obj) -> None:
        try:
            await self.client.delete(
                res, meta.name_of(item), namespace, propagation_policy="Background"
            )
        except Exception as e:
            if not is_not_found(e):
                raise

    async def _update_conditions(self, name: str, remaining: Remaining) -> None:
        res = self.client.resource("v1", "namespaces")
        try:
            ns = await self.client.get(res, name)
        except Exception as e:
            if is_not_found(e):
                return
            raise
        status = ns.setdefault("status", {})
        conditions = content_conditions(
            remaining, meta.now_rfc3339(), status.get("conditions") or []
        )
        if conditions == status.get("conditions"):
            return
        status["conditions"] = conditions
        try:
            await self.client.update_status(res, ns)
        except Exception as e:
            if not (is_not_found(e) or is_conflict(e)):
                raise

    async def _finalize(self, name: str) -> None:
        """PUT namespaces/NAME/finalize without "kubernetes" in spec.finalizers."""
        res = self.client.resource("v1", "namespaces")
        try:
            ns = await self.client.get(res, name)
        except Exception as e:
            if is_not_found(e):
                return
            raise
        spec = ns.setdefault("spec", {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
        path = resource_path(as_ref(res), "", name, "finalize")
        try:
            # The client has no verb for namespaces/finalize; it is a plain PUT.
            await self.client._request("PUT", path, None, ns)
        except Exception as e:
            if not is_not_found(e):
                raise
