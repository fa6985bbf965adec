"""The generic registry: create, read, update, patch and delete of any kind over the store.

As upstream's generic registry store: one code path for every resource, with the
kind's behaviour in its strategy. Updates run a guaranteed-update loop: read the
current object, compute the new one, compare-and-swap on its revision, and retry
when another writer got there first (unless the client named a resourceVersion,
which then must match: 409 Conflict).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from pyk8s.api.resources import ResourceType
from pyk8s.api.strategy import StatusStrategy
from pyk8s.apiserver import conversion, objectmeta
from pyk8s.apiserver.watchcache import Entry, WatchCache, decode_entry
from pyk8s.machinery import errors
from pyk8s.machinery.meta import generate_name
from pyk8s.store.interface import (
    KeyExistsError,
    KeyNotFoundError,
    RevisionMismatchError,
    Store,
)

Obj = dict[str, Any]
Mutation = Callable[[Obj], Awaitable[Obj] | Obj]

# Kinds whose metadata.generation tracks spec changes (as their upstream strategies do).
GENERATION_KINDS = {
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "DaemonSet"),
    ("apps", "StatefulSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("policy", "PodDisruptionBudget"),
    ("", "ReplicationController"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
}
# Kinds whose DELETE answers with the object rather than a Status.
RETURN_DELETED_OBJECT = {("", "Pod"), ("", "Namespace"), ("", "Service")}

MAX_UPDATE_RETRIES = 50
# Further names tried when a generated name is taken (upstream tries 7 more).
GENERATE_NAME_RETRIES = 7
# Writes the server composes itself (pods/binding, namespaces/finalize): the kind's
# update rules (e.g. a pod's immutable spec) do not apply to them.
SERVER_WRITES = {"binding", "finalize"}


@dataclass
class Context:
    """What one request asks of the registry besides the object itself."""

    dry_run: bool = False
    field_manager: str = ""
    warnings: list[str] = field(default_factory=list)


class Transaction(Protocol):
    """What a hook did for one write: committed once the write is stored, reverted
    when it fails (e.g. a cluster IP taken for a create that then lost its name)."""

    def commit(self) -> None: ...

    def revert(self) -> None: ...


CreateHook = Callable[[Obj, Context], Awaitable[Transaction | None]]
UpdateHook = Callable[[Obj, Obj, Context], Awaitable[Transaction | None]]
DeleteHook = Callable[[Obj], Awaitable[None]]


def _revert(txns: list[Transaction]) -> None:
    for txn in reversed(txns):
        txn.revert()


def _commit(txns: list[Transaction]) -> None:
    for txn in txns:
        txn.commit()


def tracks_generation(res: ResourceType) -> bool:
    return (res.group, res.kind) in GENERATION_KINDS or res.strategy.tracks_generation


def deep_copy(obj: Obj) -> Obj:
    return orjson.loads(orjson.dumps(obj))


def encode_for_store(obj: Obj) -> bytes:
    """The stored form: apiVersion, kind and metadata first (the watch cache splices the
    resourceVersion in after them without decoding), and no resourceVersion."""
    meta = obj.get("metadata") or {}
    if "resourceVersion" in meta:
        meta = {k: v for k, v in meta.items() if k != "resourceVersion"}
    ordered = {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "metadata": meta,
    }
    for k, v in obj.items():
        if k not in ordered:
            ordered[k] = v
    return orjson.dumps(ordered)


class Registry:
    def __init__(self, store: Store, cache: WatchCache) -> None:
        self.store = store
        self.cache = cache
        # Hooks that run after validation and before a create or update is stored (the
        # service allocator); their transactions follow the write's fate. Delete hooks
        # run once an object is gone.
        self.create_hooks: dict[tuple[str, str], list[CreateHook]] = {}
        self.update_hooks: dict[tuple[str, str], list[UpdateHook]] = {}
        self.delete_hooks: dict[tuple[str, str], list[DeleteHook]] = {}

    # -- reads -------------------------------------------------------------------------

    async def get_entry(self, res: ResourceType, namespace: str, name: str) -> Entry:
        await self.cache.wait_fresh()
        entry = self.cache.cache(res.store_prefix()).objects.get(res.key(namespace, name))
        if entry is None:
            raise errors.not_found(res.plural, res.group, name)
        return entry

    async def get(self, res: ResourceType, namespace: str, name: str) -> Obj:
        return (await self.get_entry(res, namespace, name)).obj

    async def _current(self, res: ResourceType, namespace: str, name: str) -> Entry:
        """The object as of the store's current revision, for compare-and-swap.

        Read from the watch cache once it has caught up with the store (no thread
        hand-off); a write that lands in between fails the compare and is retried."""
        if not await self.cache.wait_fresh():
            kv = await self.store.get(res.key(namespace, name))
            if kv is None:
                raise errors.not_found(res.plural, res.group, name)
            return decode_entry(kv.key, kv.value, kv.mod_revision)
        entry = self.cache.cache(res.store_prefix()).objects.get(res.key(namespace, name))
        if entry is None:
            raise errors.not_found(res.plural, res.group, name)
        return entry

    async def _check_namespace_open(self, namespace: str) -> None:
        """Creates need an existing namespace that is not terminating (NamespaceLifecycle)."""
        await self.cache.wait_fresh()
        entry = self.cache.cache("/registry/core/namespaces/").objects.get(
            f"/registry/core/namespaces/{namespace}"
        )
        if entry is None:
            raise errors.not_found("namespaces", "", namespace)
        if entry.obj["metadata"].get("deletionTimestamp"):
            raise errors.StatusError(
                403,
                "Forbidden",
                f"unable to create new content in namespace {namespace} because it is being terminated",
                {
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "field": "metadata.namespace",
                            "message": f"namespace {namespace} is being terminated",
                        }
                    ]
                },
            )

    async def namespace_exists(self, namespace: str) -> bool:
        await self.cache.wait_fresh()
        return (
            f"/registry/core/namespaces/{namespace}"
            in self.cache.cache("/registry/core/namespaces/").objects
        )

    # -- create ------------------------------------------------------------------------

    async def create(self, res: ResourceType, namespace: str, obj: Obj, ctx: Context) -> Obj:
        objectmeta.check_kind(res, obj)
        meta = objectmeta.check_namespace(res, obj, namespace)
        if res.namespaced:
            await self._check_namespace_open(namespace)
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        generated = not obj["metadata"].get("name") and bool(obj["metadata"].get("generateName"))
        objectmeta.fill_for_create(res, obj, tracks_generation(res))
        strategy = res.strategy
        strategy.default(obj)
        strategy.prepare_for_create(obj)
        causes = objectmeta.validate(res, obj) + strategy.validate(obj)
        if causes:
            raise errors.invalid(res.kind, res.group, obj["metadata"].get("name", ""), causes)
        txns = await self._run_hooks(self.create_hooks.get((res.group, res.kind)), obj, ctx)
        try:
            name = obj["metadata"]["name"]
            if ctx.dry_run:
                _revert(txns)
                txns = []
                await self.cache.wait_fresh()
                if res.key(namespace, name) in self.cache.cache(res.store_prefix()).objects:
                    raise errors.already_exists(res.plural, res.group, name)
                return obj
            kv = await self._store_new(res, namespace, obj, generated)
        except BaseException:
            _revert(txns)
            raise
        _commit(txns)
        obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
        return obj

    @staticmethod
    async def _run_hooks(hooks: list[Any] | None, *args: Any) -> list[Transaction]:
        """Run create or update hooks; if one fails, the earlier ones are reverted."""
        txns: list[Transaction] = []
        try:
            for hook in hooks or ():
                txn = await hook(*args)
                if txn is not None:
                    txns.append(txn)
        except BaseException:
            _revert(txns)
            raise
        return txns

    async def _store_new(self, res: ResourceType, namespace: str, obj: Obj, generated: bool) -> Any:
        """Store a new object. A generated name that is taken is generated again, up to
        GENERATE_NAME_RETRIES times (upstream's RetryGenerateName, GA in 1.32)."""
        md = obj["metadata"]
        for attempt in range(GENERATE_NAME_RETRIES + 1):
            try:
                return await self.store.create(
                    res.key(namespace, md["name"]), encode_for_store(conversion.stored(res, obj))
                )
            except KeyExistsError:
                if not generated or attempt == GENERATE_NAME_RETRIES:
                    raise errors.already_exists(res.plural, res.group, md["name"]) from None
                md["name"] = generate_name(md["generateName"])
        raise AssertionError("unreachable")

    # -- update ------------------------------------------------------------------------

    async def update(
        self,
        res: ResourceType,
        namespace: str,
        name: str,
        mutate: Mutation,
        ctx: Context,
        *,
        subresource: str = "",
        precondition_rv: str = "",
    ) -> Obj:
        """Guaranteed update: `mutate(copy_of_current)` returns the desired object.

        If the desired object names a resourceVersion (or precondition_rv is given), it
        must be the stored one, else 409 Conflict; otherwise a lost race is retried.
        """
        return await self._update(
            res, namespace, name, mutate, None, ctx, subresource, precondition_rv
        )

    async def replace(
        self,
        res: ResourceType,
        namespace: str,
        name: str,
        obj: Obj,
        ctx: Context,
        *,
        subresource: str = "",
    ) -> Obj:
        """PUT: `obj` is the desired object whatever is stored, so no copy of the stored
        object is decoded for it. Its resourceVersion, if any, must be the stored one."""
        return await self._update(res, namespace, name, None, obj, ctx, subresource, "")

    async def _update(
        self,
        res: ResourceType,
        namespace: str,
        name: str,
        mutate: Mutation | None,
        replacement: Obj | None,
        ctx: Context,
        subresource: str,
        precondition_rv: str,
    ) -> Obj:
        for _ in range(MAX_UPDATE_RETRIES):
            current = await self._current(res, namespace, name)
            if mutate is None:
                assert replacement is not None
                desired = replacement
            else:
                desired = mutate(orjson.loads(conversion.served_raw(res, current.raw)))
                if hasattr(desired, "__await__"):
                    desired = await desired  # type: ignore[misc]
            wanted_rv = precondition_rv or (desired.get("metadata") or {}).get(
                "resourceVersion", ""
            )
            if wanted_rv and wanted_rv != str(current.rv):
                raise errors.conflict_modified(res.plural, res.group, name)
            old = conversion.served(res, current.obj)
            new = self._prepare_update(res, namespace, name, desired, old, subresource)
            if new == old:
                return old  # a no-op update writes nothing, as upstream
            if objectmeta.should_delete_on_update(res, new):
                return await self._delete_now(res, namespace, name, current, ctx)
            hooks = self.update_hooks.get((res.group, res.kind)) if not subresource else None
            txns = await self._run_hooks(hooks, new, old, ctx)
            if ctx.dry_run:
                _revert(txns)
                return new
            try:
                kv = await self.store.update(
                    res.key(namespace, name),
                    encode_for_store(conversion.stored(res, new)),
                    current.rv,
                )
            except RevisionMismatchError:
                # Lost a race: re-read. A client-named resourceVersion fails the check above.
                _revert(txns)
                continue
            except KeyNotFoundError:
                _revert(txns)
                raise errors.not_found(res.plural, res.group, name) from None
            except BaseException:
                _revert(txns)
                raise
            _commit(txns)
            new["metadata"]["resourceVersion"] = str(kv.mod_revision)
            return new
        raise errors.conflict(res.plural, res.group, name, "too many concurrent updates; try again")

    def _prepare_update(
        self, res: ResourceType, namespace: str, name: str, new: Obj, old: Obj, subresource: str
    ) -> Obj:
        # The caller's object keeps its own top level and metadata (a replacement is
        # offered again as it came when a lost race is retried).
        new = {**new, "metadata": dict(new.get("metadata") or {})}
        objectmeta.check_kind(res, new)
        objectmeta.check_namespace(res, new, namespace)
        meta = new["metadata"]
        if meta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        strategy = res.strategy
        if subresource == "status":
            StatusStrategy(strategy).prepare_for_update(new, old)
        elif subresource not in SERVER_WRITES:
            strategy.default(new)
            strategy.prepare_for_update(new, old)
        objectmeta.keep_for_update(res, new, old)
        causes = objectmeta.validate(res, new) + objectmeta.validate_update(new, old)
        if subresource != "status" and subresource not in SERVER_WRITES:
            causes += strategy.validate(new) + strategy.validate_update(new, old)
        if causes:
            raise errors.invalid(res.kind, res.group, name, causes)
        if tracks_generation(res) and strategy.generation_changed(new, old):
            meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        # The stored object carries no resourceVersion; equality tests ignore it.
        meta["resourceVersion"] = old["metadata"].get("resourceVersion", "")
        return new

    # -- delete ------------------------------------------------------------------------

    async def delete(
        self, res: ResourceType, namespace: str, name: str, options: Obj, ctx: Context
    ) -> tuple[Obj, bool]:
        """Delete, gracefully where the kind and object call for it.

        Returns (object, deleted_now). When deleted_now is False the object is only
        marked (deletionTimestamp) and waits for finalizers or its kubelet.
        """
        for _ in range(MAX_UPDATE_RETRIES):
            current = await self._current(res, namespace, name)
            objectmeta.check_delete_preconditions(res, current.obj, options)
            doc = orjson.loads(current.raw)
            if not doc["metadata"].get("deletionTimestamp"):
                res.strategy.prepare_for_delete(doc)
            marked = objectmeta.mark_for_deletion(res, doc, options)
            if marked is None:
                return await self._delete_now(res, namespace, name, current, ctx), True
            if marked == current.obj or ctx.dry_run:
                return marked, False
            try:
                kv = await self.store.update(
                    res.key(namespace, name), encode_for_store(marked), current.rv
                )
            except RevisionMismatchError:
                continue
            marked["metadata"]["resourceVersion"] = str(kv.mod_revision)
            return marked, False
        raise errors.conflict(res.plural, res.group, name, "too many concurrent updates; try again")

    async def _delete_now(
        self, res: ResourceType, namespace: str, name: str, current: Entry, ctx: Context
    ) -> Obj:
        if ctx.dry_run:
            return current.obj
        try:
            kv = await self.store.delete(res.key(namespace, name), current.rv)
        except RevisionMismatchError:
            raise errors.conflict_modified(res.plural, res.group, name) from None
        except KeyNotFoundError:
            raise errors.not_found(res.plural, res.group, name) from None
        obj = copy.copy(current.obj)
        obj["metadata"] = {**obj["metadata"], "resourceVersion": str(kv.mod_revision)}
        for hook in self.delete_hooks.get((res.group, res.kind), []):
            await hook(obj)
        return obj
