"""Serving CustomResourceDefinitions: the API server's side of apiextensions.

`CRDRegistry` follows the CRDs in the API server's own watch cache. Each event is
handled as the cache applies it (before any read that waits for the cache returns),
so a CRD's resources are in the resource table (routing, discovery, OpenAPI,
printing) as soon as its create is visible. A worker then does what upstream's
naming, establishing and finalizer controllers do: status.acceptedNames and the
NamesAccepted / Established conditions, and, once a CRD is being deleted, deleting
its custom resources before dropping the cleanup finalizer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import TYPE_CHECKING, Any

from pyk8s.api import printers
from pyk8s.api.kinds.crd import CLEANUP_FINALIZER, set_condition, storage_version
from pyk8s.api.resources import ALL_VERBS, ResourceType, Subresource
from pyk8s.apiextensions import jsonpath
from pyk8s.apiextensions.openapi import definition_name, schemas_for_version
from pyk8s.apiextensions.printer import printer_for_columns
from pyk8s.apiextensions.strategy import CustomResourceStrategy
from pyk8s.apiserver.registry import Context
from pyk8s.apiserver.watchcache import CacheEvent, Watcher
from pyk8s.machinery import errors

if TYPE_CHECKING:
    from pyk8s.apiserver.server import APIServer

log = logging.getLogger(__name__)
Obj = dict[str, Any]
GROUP = "apiextensions.k8s.io"
PREFIX = f"/registry/{GROUP}/customresourcedefinitions/"
CLEANUP_POLL = (0.05, 1.0)  # first and longest wait while custom resources are finalized


class _SyncWatcher(Watcher):
    """A watch-cache watcher that handles each event synchronously, as it is applied."""

    def __init__(self, registry: CRDRegistry) -> None:
        super().__init__(PREFIX, lambda obj: True)
        self._registry = registry

    def offer(self, ev: CacheEvent) -> None:
        if self.closed:
            return
        try:
            self._registry.handle_event(ev)
        except Exception:  # noqa: BLE001 - a bad CRD must not break the watch cache
            log.exception("CRD registry: handling %s %s failed", ev.type, ev.entry.key)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._registry.watcher_closed()


def _selectable(path: str):
    steps = jsonpath.parse(path)

    def get(obj: Obj) -> str:
        found = jsonpath.find(obj, steps)
        if not found or found[0] is None:
            return ""
        value = found[0]
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    return get


class CRDRegistry:
    def __init__(self, server: APIServer) -> None:
        self.server = server
        # CRD name -> the resource types installed for it (one per served version).
        self.installed: dict[str, list[ResourceType]] = {}
        self.terminating: set[str] = set()
        self._served_spec: dict[str, Any] = {}
        self._printers: dict[str, printers.Printer] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._cleanups: dict[str, asyncio.Task] = {}
        self._task: asyncio.Task | None = None
        self._stopped = False

    @property
    def crd_resource(self) -> ResourceType:
        res = self.server.table.get(GROUP, "v1", "customresourcedefinitions")
        assert res is not None
        return res

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Install every stored CRD, then follow changes (no await in between)."""
        self._resync()
        self._task = asyncio.create_task(self._worker(), name="crd-registry")

    async def stop(self) -> None:
        self._stopped = True
        tasks = [t for t in (self._task, *self._cleanups.values()) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    def _resync(self) -> None:
        if self._stopped:
            return
        rcache = self.server.cache.cache(PREFIX)
        current = {e.obj["metadata"]["name"]: e.obj for e in rcache.objects.values()}
        for name in list(self.installed):
            if name not in current:
                self._uninstall(name)
        for crd in current.values():
            self._install(crd)
        rcache.watchers.add(_SyncWatcher(self))

    def watcher_closed(self) -> None:
        """The watch cache dropped our watcher (relist after compaction): start over."""
        if not self._stopped:
            asyncio.get_running_loop().call_soon(self._resync)

    # -- events --------------------------------------------------------------------------

    def handle_event(self, ev: CacheEvent) -> None:
        crd = ev.entry.obj if ev.type != "DELETED" else (ev.prev or ev.entry).obj
        name = crd["metadata"]["name"]
        if ev.type == "DELETED":
            self._uninstall(name)
            return
        self._install(crd)
        self._enqueue(name)

    def _enqueue(self, name: str) -> None:
        if name not in self._queued:
            self._queued.add(name)
            self._queue.put_nowait(name)

    # -- the resource table --------------------------------------------------------------

    def _install(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        if crd["metadata"].get("deletionTimestamp"):
            self.terminating.add(name)
        else:
            self.terminating.discard(name)
        # Status writes change nothing served: skip rebuilding (and OpenAPI invalidation).
        if self._served_spec.get(name) == crd.get("spec") and name in self.installed:
            return
        self._served_spec[name] = crd.get("spec")
        wanted = self._resource_types(crd)
        table = self.server.table
        keep = {(r.group, r.version, r.plural) for r in wanted}
        for old in self.installed.get(name, []):
            if (old.group, old.version, old.plural) not in keep:
                table.remove(old.group, old.version, old.plural)
        installed = []
        for res in wanted:
            existing = table.get(res.group, res.version, res.plural)
            ours = any(existing is r for r in self.installed.get(name, []))
            if existing is not None and not ours:
                log.warning("CRD %s would shadow %s; not served", name, res.group_resource)
                continue
            table.add(res)
            installed.append(res)
        self.installed[name] = installed
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        columns = _columns_for_printing(spec)
        if names.get("kind") and spec.get("group"):
            printer = printer_for_columns(columns)
            printers.register(spec["group"], names["kind"], printer)
            self._printers[name] = printer

    def _uninstall(self, name: str) -> None:
        self.terminating.discard(name)
        self._served_spec.pop(name, None)
        removed = self.installed.pop(name, [])
        for res in removed:
            self.server.table.remove(res.group, res.version, res.plural)
        printer = self._printers.pop(name, None)
        # Another server in this process may serve the same kind with its own printer.
        if removed and printers.printer_for(removed[0].group, removed[0].kind) is printer:
            printers.unregister(removed[0].group, removed[0].kind)

    def _resource_types(self, crd: Obj, served_only: bool = True) -> list[ResourceType]:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        group, kind, plural = spec.get("group"), names.get("kind"), names.get("plural")
        if not (group and kind and plural):
            return []
        versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("name")]
        # Discovery prefers the first version served: upstream's priority order.
        versions.sort(key=lambda v: version_priority(str(v["name"])))
        storage = storage_version(crd)
        crd_name = crd["metadata"]["name"]
        out = []
        for v in versions:
            if served_only and not v.get("served"):
                continue
            out.append(self._resource_type(crd_name, spec, v, storage, len(versions) > 1))
        return out

    def _resource_type(
        self, crd_name: str, spec: Obj, v: Obj, storage: str, multi: bool
    ) -> ResourceType:
        names = spec["names"]
        group, kind, version = spec["group"], names["kind"], v["name"]
        list_kind = names.get("listKind") or kind + "List"
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        subs = v.get("subresources") or {}
        subresources: dict[str, Subresource] = {}
        if "status" in subs:
            subresources["status"] = Subresource(
                "status", group, version, kind, ("get", "patch", "update")
            )
        if isinstance(subs.get("scale"), dict):
            subresources["scale"] = Subresource(
                "scale", "autoscaling", "v1", "Scale", ("get", "patch", "update")
            )
        strategy = CustomResourceStrategy(
            schema,
            has_status="status" in subs,
            scale_paths=subs.get("scale") if isinstance(subs.get("scale"), dict) else None,
            storage_api_version=f"{group}/{storage}" if storage else "",
            convertible=multi,
            terminating=lambda: crd_name in self.terminating,
        )
        return ResourceType(
            group,
            version,
            kind,
            names["plural"],
            spec.get("scope") == "Namespaced",
            list(names.get("shortNames") or []),
            list(names.get("categories") or []),
            list(ALL_VERBS),
            subresources,
            definition_name(group, version, kind),
            strategy,
            selectable_fields={
                f["jsonPath"].lstrip("."): _selectable(f["jsonPath"])
                for f in v.get("selectableFields") or []
                if isinstance(f, dict) and f.get("jsonPath")
            },
            singular_name=names.get("singular") or kind.lower(),
            list_kind_name=list_kind,
            openapi_schemas=schemas_for_version(schema, group, version, kind, list_kind),
        )

    # -- status and cleanup --------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            name = await self._queue.get()
            self._queued.discard(name)
            try:
                await self._sync(name)
            except errors.StatusError as e:
                if e.code != 404:
                    log.warning("CRD registry: syncing %s: %s", name, e.message)
                    self._retry_later(name)
            except Exception:  # noqa: BLE001 - keep serving other CRDs
                log.exception("CRD registry: syncing %s failed", name)
                self._retry_later(name)

    def _retry_later(self, name: str) -> None:
        asyncio.get_running_loop().call_later(0.5, self._enqueue, name)

    async def _sync(self, name: str) -> None:
        entry = self.server.cache.cache(PREFIX).objects.get(PREFIX + name)
        if entry is None:
            return
        crd = entry.obj
        if crd["metadata"].get("deletionTimestamp"):
            if CLEANUP_FINALIZER in (crd["metadata"].get("finalizers") or []):
                task = self._cleanups.get(name)
                if task is None or task.done():
                    self._cleanups[name] = asyncio.create_task(
                        self._cleanup(name), name=f"crd-cleanup-{name}"
                    )
            return
        await self._update_status(name)

    async def _update_status(self, name: str) -> None:
        def establish(crd: Obj) -> Obj:
            names = dict((crd.get("spec") or {}).get("names") or {})
            status = crd.setdefault("status", {})
            status["acceptedNames"] = names
            set_condition(crd, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
            set_condition(
                crd, "Established", "True", "InitialNamesAccepted",
                "the initial names have been accepted",
            )  # fmt: skip
            return crd

        await self.server.registry.update(
            self.crd_resource, "", name, establish, Context(), subresource="status"
        )

    async def _cleanup(self, name: str) -> None:
        """Delete every custom resource of a terminating CRD, then release the CRD."""
        entry = self.server.cache.cache(PREFIX).objects.get(PREFIX + name)
        if entry is None:
            return
        types = self._resource_types(entry.obj, served_only=False)
        if types:
            await self._set_terminating(
                name, "InstanceDeletionInProgress", "CustomResource deletion is in progress"
            )
            await self._delete_all(types[0])
        await self._set_terminating(name, "InstanceDeletionCompleted", "removed all instances")

        def release(crd: Obj) -> Obj:
            md = crd["metadata"]
            md["finalizers"] = [f for f in md.get("finalizers") or [] if f != CLEANUP_FINALIZER]
            if not md["finalizers"]:
                md.pop("finalizers")
            return crd

        await self.server.registry.update(self.crd_resource, "", name, release, Context())

    async def _set_terminating(self, name: str, reason: str, message: str) -> None:
        def mark(crd: Obj) -> Obj:
            set_condition(crd, "Terminating", "True", reason, message)
            return crd

        await self.server.registry.update(
            self.crd_resource, "", name, mark, Context(), subresource="status"
        )

    async def _delete_all(self, res: ResourceType) -> None:
        """Delete the custom resources and wait until they are gone (finalizers run)."""
        cache = self.server.cache
        wait = CLEANUP_POLL[0]
        while True:
            await cache.wait_fresh()
            entries = list(cache.cache(res.store_prefix()).objects.values())
            if not entries:
                return
            for e in entries:
                md = e.obj["metadata"]
                if md.get("deletionTimestamp"):
                    continue
                with contextlib.suppress(errors.StatusError):
                    await self.server.registry.delete(
                        res, md.get("namespace", ""), md["name"], {}, Context()
                    )
            await asyncio.sleep(wait)
            wait = min(wait * 2, CLEANUP_POLL[1])


_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple:
    """Sort key in Kubernetes' version order: v2, v1, v1beta2, v1beta1, v1alpha1, then
    anything else alphabetically."""
    m = _VERSION.match(version)
    if m is None:
        return (3, 0, 0, version)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), version)


def _columns_for_printing(spec: Obj) -> list[Obj]:
    """The printer columns of the storage version (the first served one without storage)."""
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict)]
    chosen = next((v for v in versions if v.get("storage")), versions[0] if versions else {})
    return list(chosen.get("additionalPrinterColumns") or [])
