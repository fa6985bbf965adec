"""The garbage collector: deletes objects whose owners are gone, and carries out the
foreground and orphan propagation policies (upstream's garbagecollector controller).

It watches every resource that can be an owner or a dependent and keeps a graph of
ownerReferences keyed by uid. Two kinds of work go through the queue:

- ``attempt:<uid>``: is this dependent garbage? Each owner reference is classified
  as solid (the owner exists with that uid), dangling (absent, or the name now holds
  another uid) or waiting (the owner is being deleted in the foreground and this
  reference blocks it). No solid owner: delete the object. Some solid owners: drop
  the dangling and waiting references.
- ``owner:<uid>``: an object being deleted with the ``orphan`` finalizer (strip the
  references to it from its dependents, then the finalizer) or the
  ``foregroundDeletion`` finalizer (delete its dependents; once no blocking
  dependent is left, remove the finalizer).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from pyk8s.api.resources import ResourceType, builtin_resources
from pyk8s.client import is_conflict, is_not_found, object_key
from pyk8s.client.resource import ResourceRef
from pyk8s.controllers.base import Controller
from pyk8s.controllers.ownerrefs import finalizers_of, metadata_patch, owner_refs, refs_without
from pyk8s.machinery import meta

Obj = dict[str, Any]
log = logging.getLogger(__name__)

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
# Events churn and never own anything; upstream's GC ignores them too.
IGNORED = {("", "events"), ("events.k8s.io", "events")}

SOLID, DANGLING, WAITING = "solid", "dangling", "waiting"


def collected_resources() -> list[ResourceType]:
    """Every resource the collector watches: listable, watchable, deletable, not ignored."""
    return [
        r
        for r in builtin_resources()
        if {"list", "watch", "delete"} <= set(r.verbs) and (r.group, r.plural) not in IGNORED
    ]


@functools.cache
def _by_group_kind() -> dict[tuple[str, str], ResourceType]:
    return {(r.group, r.kind): r for r in collected_resources()}


def resource_for_ref(ref: Obj) -> ResourceType | None:
    """The resource an ownerReference names (any version of the group), if we know it."""
    group, _, _version = (ref.get("apiVersion") or "").rpartition("/")
    return _by_group_kind().get((group, ref.get("kind", "")))


@dataclass
class _Node:
    res: ResourceType
    key: str
    namespace: str
    owners: list[str] = field(default_factory=list)


class Graph:
    """uid -> where the object lives, and owner uid -> the uids of its dependents."""

    def __init__(self) -> None:
        self.nodes: dict[str, _Node] = {}
        self.dependents: dict[str, set[str]] = {}

    def upsert(self, res: ResourceType, obj: Obj) -> None:
        uid = meta.uid_of(obj)
        if not uid:
            return
        old = self.nodes.get(uid)
        owners = [r["uid"] for r in owner_refs(obj) if r.get("uid")]
        if old is not None:
            self._unlink(uid, old.owners)
        self.nodes[uid] = _Node(res, object_key(obj), meta.namespace_of(obj), owners)
        for owner in owners:
            self.dependents.setdefault(owner, set()).add(uid)

    def remove(self, obj: Obj) -> None:
        uid = meta.uid_of(obj)
        node = self.nodes.pop(uid, None)
        if node is not None:
            self._unlink(uid, node.owners)

    def dependents_of(self, uid: str) -> list[str]:
        return sorted(self.dependents.get(uid, ()))

    def _unlink(self, uid: str, owners: list[str]) -> None:
        for owner in owners:
            deps = self.dependents.get(owner)
            if deps is not None:
                deps.discard(uid)
                if not deps:
                    del self.dependents[owner]


def _is_deleting(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def _needs_owner_work(obj: Obj) -> bool:
    return _is_deleting(obj) and bool({ORPHAN, FOREGROUND} & set(finalizers_of(obj)))


class GarbageCollector(Controller):
    name = "garbagecollector"
    workers = 4

    def setup(self) -> None:
        self.graph = Graph()
        self.informers = {}
        # Kinds found through discovery (custom resources named as owners).
        self.discovered: dict[tuple[str, str], ResourceRef] = {}
        for res in collected_resources():
            self._watch(res)

    def _watch(self, res: Any) -> Any:
        inf = self.factory.informer(res)
        self.informers[(res.group, res.plural)] = inf
        inf.add_handler(
            on_add=functools.partial(self._on_add, res),
            on_update=functools.partial(self._on_update, res),
            on_delete=self._on_delete,
        )
        return inf

    async def _resolve(self, ref: Obj) -> Any:
        """The resource an ownerReference names: a built-in one, or one found through
        discovery, which the collector then watches too (as upstream's collector
        monitors every discovered resource)."""
        res = resource_for_ref(ref)
        if res is not None:
            return res
        group, _, version = (ref.get("apiVersion") or "").rpartition("/")
        kind = ref.get("kind", "")
        found = self.discovered.get((group, kind))
        if found is not None:
            return found
        try:
            doc = await self.client.discover(ref.get("apiVersion") or "")
        except Exception as e:
            if is_not_found(e):
                return None
            raise
        for entry in doc.get("resources") or []:
            if entry.get("kind") == kind and "/" not in entry.get("name", ""):
                found = ResourceRef(
                    group, version, entry["name"], bool(entry.get("namespaced")), kind
                )
                self.discovered[(group, kind)] = found
                self._watch(found).start()
                return found
        return None

    # -- handlers ---------------------------------------------------------------------

    def _on_add(self, res: ResourceType, obj: Obj) -> None:
        self.graph.upsert(res, obj)
        uid = meta.uid_of(obj)
        if owner_refs(obj):
            self.enqueue_key(f"attempt:{uid}")
        if _needs_owner_work(obj):
            self.enqueue_key(f"owner:{uid}")

    def _on_update(self, res: ResourceType, old: Obj, new: Obj) -> None:
        self.graph.upsert(res, new)
        uid = meta.uid_of(new)
        if owner_refs(old) != owner_refs(new) and owner_refs(new):
            self.enqueue_key(f"attempt:{uid}")
        if _needs_owner_work(new):
            self.enqueue_key(f"owner:{uid}")

    def _on_delete(self, obj: Obj) -> None:
        uid = meta.uid_of(obj)
        deps = self.graph.dependents_of(uid)
        self.graph.remove(obj)
        for dep in deps:
            self.enqueue_key(f"attempt:{dep}")
        # An owner deleting in the foreground waits for this one: look at it again.
        for owner in {r.get("uid") for r in owner_refs(obj)}:
            if owner in self.graph.nodes:
                self.enqueue_key(f"owner:{owner}")

    # -- sync -------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        kind, _, uid = key.partition(":")
        if kind == "attempt":
            await self._attempt_to_delete(uid)
        elif kind == "owner":
            await self._process_owner(uid)

    def _cached(self, uid: str) -> tuple[_Node, Obj] | None:
        node = self.graph.nodes.get(uid)
        if node is None:
            return None
        obj = self.informers[(node.res.group, node.res.plural)].get(node.key)
        if obj is None or meta.uid_of(obj) != uid:
            return None
        return node, obj

    async def _attempt_to_delete(self, uid: str) -> None:
        found = self._cached(uid)
        if found is None:
            return
        node, obj = found
        if _is_deleting(obj):
            # Its deletion is under way; only a foreground deletion needs us.
            if FOREGROUND in finalizers_of(obj):
                self.enqueue_key(f"owner:{uid}")
            return
        refs = owner_refs(obj)
        if not refs:
            return
        states = {r["uid"]: await self._classify(obj, r) for r in refs if r.get("uid")}
        if SOLID in states.values():
            stale = {u for u, s in states.items() if s != SOLID}
            if stale:
                await self._patch(node.res, obj, ownerReferences=refs_without(obj, stale) or None)
            return
        await self._delete(node.res, obj, self._policy_for(uid, obj, states))

    def _policy_for(self, uid: str, obj: Obj, states: dict[str, str]) -> str:
        if WAITING in states.values() and self.graph.dependents_of(uid):
            return "Foreground"
        fins = finalizers_of(obj)
        if ORPHAN in fins:
            return "Orphan"
        if FOREGROUND in fins:
            return "Foreground"
        return "Background"

    async def _classify(self, dependent: Obj, ref: Obj) -> str:
        owner = self._owner_from_cache(dependent, ref)
        if owner is None:
            owner = await self._owner_from_api(dependent, ref)
        if owner is None:
            return DANGLING
        if ref.get("blockOwnerDeletion") and _is_deleting(owner):
            if FOREGROUND in finalizers_of(owner):
                return WAITING
        return SOLID

    def _owner_from_cache(self, dependent: Obj, ref: Obj) -> Obj | None:
        found = self._cached(ref["uid"])
        if found is None:
            return None
        node, owner = found
        if node.namespace and node.namespace != meta.namespace_of(dependent):
            return None  # a namespaced owner can only own objects of its own namespace
        return owner

    async def _owner_from_api(self, dependent: Obj, ref: Obj) -> Obj | None:
        """The informers may lag behind a fresh owner: ask the API before calling it gone."""
        res = await self._resolve(ref)
        if res is None:
            # A kind we cannot look up: leave the reference alone (upstream retries).
            return {"metadata": {"uid": ref["uid"]}}
        namespace = meta.namespace_of(dependent) if res.namespaced else ""
        if res.namespaced and not namespace:
            return None  # a cluster-scoped object cannot have a namespaced owner
        try:
            owner = await self.client.get(res, ref.get("name", ""), namespace)
        except Exception as e:
            if is_not_found(e):
                return None
            raise
        return owner if meta.uid_of(owner) == ref["uid"] else None

    # -- owners being deleted -----------------------------------------------------------

    async def _process_owner(self, uid: str) -> None:
        found = self._cached(uid)
        if found is None:
            return
        node, obj = found
        if not _is_deleting(obj):
            return
        fins = finalizers_of(obj)
        if ORPHAN in fins:
            await self._orphan_dependents(uid)
            await self._remove_finalizer(node.res, obj, ORPHAN)
        elif FOREGROUND in fins:
            blocking = self._blocking_dependents(uid)
            if blocking:
                for dep in self.graph.dependents_of(uid):
                    self.enqueue_key(f"attempt:{dep}")
                return
            await self._remove_finalizer(node.res, obj, FOREGROUND)

    def _blocking_dependents(self, uid: str) -> list[str]:
        out = []
        for dep in self.graph.dependents_of(uid):
            found = self._cached(dep)
            if found is None:
                continue
            for ref in owner_refs(found[1]):
                if ref.get("uid") == uid and ref.get("blockOwnerDeletion"):
                    out.append(dep)
        return out

    async def _orphan_dependents(self, uid: str) -> None:
        for dep in self.graph.dependents_of(uid):
            found = self._cached(dep)
            if found is None:
                continue
            node, obj = found
            await self._patch(node.res, obj, ownerReferences=refs_without(obj, {uid}) or None)

    async def _remove_finalizer(self, res: ResourceType, obj: Obj, finalizer: str) -> None:
        remaining = [f for f in finalizers_of(obj) if f != finalizer]
        await self._patch(res, obj, finalizers=remaining or None)

    # -- writes -------------------------------------------------------------------------

    async def _patch(self, res: ResourceType, obj: Obj, **fields: Any) -> None:
        """A metadata merge patch guarded by resourceVersion; a lost race retries the key."""
        try:
            await self.client.patch(
                res,
                meta.name_of(obj),
                metadata_patch(obj, **fields),
                meta.namespace_of(obj),
                patch_type="merge",
            )
        except Exception as e:
            if is_not_found(e):
                return
            raise

    async def _delete(self, res: ResourceType, obj: Obj, policy: str) -> None:
        log.debug("garbagecollector: deleting %s %s (%s)", res.kind, object_key(obj), policy)
        try:
            await self.client.delete(
                res,
                meta.name_of(obj),
                meta.namespace_of(obj),
                propagation_policy=policy,
                preconditions={"uid": meta.uid_of(obj)},
            )
        except Exception as e:
            # Gone already, or the name now holds another object: nothing of ours to delete.
            if is_not_found(e) or is_conflict(e):
                return
            raise
