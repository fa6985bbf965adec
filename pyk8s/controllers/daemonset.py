"""The DaemonSet controller: one daemon pod on every eligible node, rolled out to a new
template node by node, with ControllerRevisions as history (upstream's daemon
controller, "daemonset-controller" in events).

Daemon pods are not bound here: each carries a required node affinity on
`metadata.name` for its node and upstream's daemon tolerations, and the default
scheduler places it, as upstream does since 1.12.

A sync: build the history (current revision and its hash), claim the pods, then,
if no earlier creates/deletes are still unobserved, create and delete pods so every
node has what it should (manage), take one rolling-update step, prune history; and
always write the status.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pyk8s.client import is_already_exists, is_conflict, is_not_found
from pyk8s.controllers import daemonset_util as du
from pyk8s.controllers.base import Controller
from pyk8s.controllers.expectations import Expectations
from pyk8s.controllers.ownerrefs import controller_ref, metadata_patch, owner_refs
from pyk8s.controllers.podutil import is_pod_available, is_pod_ready, seconds_until_available
from pyk8s.machinery import labels, labelselector, meta

Obj = dict[str, Any]
log = logging.getLogger(__name__)

OWNER_INDEX = "daemonset:controller-uid"
BURST = 500  # upstream's burstReplicas: at most this many creates/deletes per sync


def _owner_index(obj: Obj) -> list[str]:
    ref = meta.owner_controller(obj)
    return [ref["uid"]] if ref and ref.get("kind") == "DaemonSet" and ref.get("uid") else []


def _selector(ds: Obj) -> labels.Selector:
    return labelselector.selector_from_label_selector((ds.get("spec") or {}).get("selector"))


def _node_fingerprint(node: Obj) -> tuple:
    spec = node.get("spec") or {}
    return (meta.labels_of(node), spec.get("taints"), spec.get("unschedulable"))


class DaemonSetsController(Controller):
    name = "daemonset"
    workers = 2

    def setup(self) -> None:
        self.recorder.component = "daemonset-controller"
        self.expectations = Expectations()
        self.daemonsets = self.informer("apps/v1", "daemonsets")
        self.pods = self.informer("v1", "pods")
        self.nodes = self.informer("v1", "nodes")
        self.revisions = self.informer("apps/v1", "controllerrevisions")
        for inf in (self.pods, self.revisions):
            try:
                inf.add_index(OWNER_INDEX, _owner_index)
            except ValueError:
                pass  # a second instance on the same shared informer
        self.daemonsets.add_handler(
            on_add=self.enqueue,
            on_update=lambda _o, n: self.enqueue(n),
            on_delete=self._ds_deleted,
        )
        self.pods.add_handler(
            on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted
        )
        self.nodes.add_handler(
            on_add=lambda _n: self._enqueue_all(),
            on_update=self._node_updated,
            on_delete=lambda _n: self._enqueue_all(),
        )
        self.revisions.add_handler(on_delete=self._enqueue_owner)

    # -- handlers -----------------------------------------------------------------------

    def _ds_deleted(self, ds: Obj) -> None:
        self.expectations.delete(meta.key_of(ds))

    def _enqueue_all(self) -> None:
        for ds in self.daemonsets.list():
            self.enqueue(ds)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if _node_fingerprint(old) != _node_fingerprint(new):
            self._enqueue_all()

    def _owner_of(self, obj: Obj) -> Obj | None:
        ref = meta.owner_controller(obj)
        if not ref or ref.get("kind") != "DaemonSet":
            return None
        ds = self.daemonsets.get(f"{meta.namespace_of(obj)}/{ref.get('name', '')}")
        return ds if ds is not None and meta.uid_of(ds) == ref.get("uid") else None

    def _enqueue_owner(self, obj: Obj) -> None:
        ds = self._owner_of(obj)
        if ds is not None:
            self.enqueue(ds)

    def _enqueue_matching(self, pod: Obj) -> None:
        for ds in self.daemonsets.by_index("namespace", meta.namespace_of(pod)):
            if _selector(ds).matches(meta.labels_of(pod)):
                self.enqueue(ds)

    def _pod_added(self, pod: Obj) -> None:
        ds = self._owner_of(pod)
        if ds is not None:
            self.expectations.creation_observed(meta.key_of(ds))
            self.enqueue(ds)
        elif meta.owner_controller(pod) is None:
            self._enqueue_matching(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        for pod in (old, new):
            ds = self._owner_of(pod)
            if ds is not None:
                self.enqueue(ds)
        if meta.owner_controller(new) is None and meta.labels_of(old) != meta.labels_of(new):
            self._enqueue_matching(new)

    def _pod_deleted(self, pod: Obj) -> None:
        ds = self._owner_of(pod)
        if ds is not None:
            self.expectations.deletion_observed(meta.key_of(ds))
            self.enqueue(ds)

    # -- sync ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        ds = self.daemonsets.get(key)
        if ds is None:
            self.expectations.delete(key)
            return
        nodes = sorted(self.nodes.list(), key=meta.name_of)
        if meta.is_being_deleted(ds):
            return  # its pods go with it (garbage collector)
        hash_, old_revisions = await self._construct_history(ds)
        node_pods = await self._claim_pods(ds)
        if self.expectations.satisfied(key):
            await self._manage(ds, nodes, node_pods, hash_)
            strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type")
            if self.expectations.satisfied(key) and strategy == "RollingUpdate":
                await self._rolling_update(ds, nodes, node_pods, hash_)
            await self._cleanup_history(ds, old_revisions, node_pods)
        await self._update_status(ds, nodes, node_pods, hash_)

    # -- pods ---------------------------------------------------------------------------

    async def _claim_pods(self, ds: Obj) -> dict[str, list[Obj]]:
        """node name -> the daemon pods for it; adopts matching orphans, releases the rest."""
        selector = _selector(ds)
        uid = meta.uid_of(ds)
        owned = []
        for pod in self.pods.by_index(OWNER_INDEX, uid):
            if selector.matches(meta.labels_of(pod)):
                owned.append(pod)
            elif not meta.is_being_deleted(pod):
                await self._patch_pod(pod, [r for r in owner_refs(pod) if r.get("uid") != uid])
        for pod in self.pods.by_index("namespace", meta.namespace_of(ds)):
            if meta.owner_controller(pod) is None and not meta.is_being_deleted(pod):
                if selector.matches(meta.labels_of(pod)) and du.target_node(pod):
                    refs = owner_refs(pod) + [controller_ref(ds, "apps/v1", "DaemonSet")]
                    if await self._patch_pod(pod, refs):
                        owned.append(pod)
        node_pods: dict[str, list[Obj]] = {}
        for pod in owned:
            node_pods.setdefault(du.target_node(pod), []).append(pod)
        return {n: du.by_creation(p) for n, p in node_pods.items()}

    async def _patch_pod(self, pod: Obj, refs: list[Obj]) -> bool:
        try:
            await self.client.patch(
                self.pods.res,
                meta.name_of(pod),
                metadata_patch(pod, ownerReferences=refs or None),
                meta.namespace_of(pod),
                patch_type="merge",
            )
        except Exception as e:
            if is_not_found(e) or is_conflict(e):
                return False
            raise
        return True

    async def _manage(
        self, ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]], hash_: str
    ) -> None:
        to_create: list[str] = []
        to_delete: list[Obj] = []
        surge, _ = du.surge_and_unavailable(ds, 0)
        node_names = {meta.name_of(n) for n in nodes}
        for node in nodes:
            name = meta.name_of(node)
            should_run, keep = du.node_should_run(ds, node)
            pods = node_pods.get(name, [])
            if should_run and not pods:
                to_create.append(name)
            elif should_run:
                to_delete += await self._extra_pods(ds, name, pods, hash_, surge > 0)
            elif not keep:
                to_delete += [p for p in pods if not meta.is_being_deleted(p)]
        # Unscheduled pods for nodes that no longer exist.
        for name, pods in node_pods.items():
            if name not in node_names:
                to_delete += [p for p in pods if not (p.get("spec") or {}).get("nodeName")]
        await self._sync_nodes(ds, to_delete, to_create, hash_)

    async def _extra_pods(
        self, ds: Obj, node: str, pods: list[Obj], hash_: str, surge: bool
    ) -> list[Obj]:
        """Failed pods, and duplicates beyond the oldest (one old and one new with surge)."""
        out, running = [], []
        for pod in pods:
            if meta.is_being_deleted(pod):
                continue
            if (pod.get("status") or {}).get("phase") == "Failed":
                msg = f"Found failed daemon pod {meta.key_of(pod)} on node {node}, will try to kill it"
                await self.recorder.event(ds, "Warning", "FailedDaemonPod", msg)
                out.append(pod)
            else:
                running.append(pod)
        if not surge:
            return out + running[1:]
        seen_new = seen_old = False
        for pod in running:
            if du.is_pod_updated(ds, hash_, pod):
                out += [pod] if seen_new else []
                seen_new = True
            else:
                out += [pod] if seen_old else []
                seen_old = True
        return out

    async def _rolling_update(
        self, ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]], hash_: str
    ) -> None:
        eligible = [meta.name_of(n) for n in nodes if du.node_should_run(ds, n)[0]]
        to_delete, to_create = du.rolling_update_plan(ds, node_pods, eligible, hash_, meta.now())
        await self._sync_nodes(ds, to_delete, to_create, hash_)

    async def _sync_nodes(
        self, ds: Obj, to_delete: list[Obj], to_create: list[str], hash_: str
    ) -> None:
        key = meta.key_of(ds)
        to_create, to_delete = to_create[:BURST], to_delete[:BURST]
        if not to_create and not to_delete:
            return
        self.expectations.raise_expectations(key, adds=len(to_create), dels=len(to_delete))
        errors: list[BaseException] = []
        batch = 1
        pending = list(to_create)
        while pending:  # slow start: 1, 2, 4, ... creates at once, stopping at a failure
            chunk, pending = pending[:batch], pending[batch:]
            results = await asyncio.gather(
                *(self._create_pod(ds, n, hash_) for n in chunk), return_exceptions=True
            )
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                errors += failed
                for _ in pending:
                    self.expectations.creation_observed(key)
                break
            batch *= 2
        results = await asyncio.gather(
            *(self._delete_pod(ds, p) for p in to_delete), return_exceptions=True
        )
        errors += [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    async def _create_pod(self, ds: Obj, node: str, hash_: str) -> None:
        key = meta.key_of(ds)
        try:
            pod = await self.client.create(self.pods.res, du.new_pod(ds, node, hash_))
        except Exception as e:
            self.expectations.creation_observed(key)
            if getattr(e, "code", 0) != 409:  # a terminating namespace is not worth an event
                await self.recorder.event(ds, "Warning", "FailedCreate", f"Error creating: {e}")
            raise
        await self.recorder.event(
            ds, "Normal", "SuccessfulCreate", f"Created pod: {meta.name_of(pod)}"
        )

    async def _delete_pod(self, ds: Obj, pod: Obj) -> None:
        key = meta.key_of(ds)
        try:
            await self.client.delete(
                self.pods.res,
                meta.name_of(pod),
                meta.namespace_of(pod),
                preconditions={"uid": meta.uid_of(pod)},
            )
        except Exception as e:
            self.expectations.deletion_observed(key)
            if is_not_found(e) or is_conflict(e):
                return
            await self.recorder.event(ds, "Warning", "FailedDelete", f"Error deleting: {e}")
            raise
        await self.recorder.event(
            ds, "Normal", "SuccessfulDelete", f"Deleted pod: {meta.name_of(pod)}"
        )

    # -- history ------------------------------------------------------------------------

    async def _construct_history(self, ds: Obj) -> tuple[str, list[Obj]]:
        """The current revision's hash (creating or renumbering it) and the old revisions."""
        owned = sorted(
            self.revisions.by_index(OWNER_INDEX, meta.uid_of(ds)),
            key=lambda r: r.get("revision", 0),
        )
        data = du.revision_data(ds)
        matching = [r for r in owned if r.get("data") == data]
        top = max((int(r.get("revision", 0)) for r in owned), default=0)
        if matching:
            current = matching[-1]
            for dup in matching[:-1]:
                await self._delete_revision(dup)
            if int(current.get("revision", 0)) < top:
                current = await self._renumber(current, top + 1)
        else:
            current = await self._create_revision(ds, data, top + 1)
        old = [r for r in owned if meta.uid_of(r) not in {meta.uid_of(m) for m in matching}]
        return meta.labels_of(current).get(du.HASH_LABEL, du.revision_hash(ds)), old

    async def _create_revision(self, ds: Obj, data: Obj, number: int) -> Obj:
        hash_ = du.revision_hash(ds)
        tmd = ((ds.get("spec") or {}).get("template") or {}).get("metadata") or {}
        body = {
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {
                "name": f"{meta.name_of(ds)}-{hash_}",
                "namespace": meta.namespace_of(ds),
                "labels": {**(tmd.get("labels") or {}), du.HASH_LABEL: hash_},
                "ownerReferences": [controller_ref(ds, "apps/v1", "DaemonSet")],
            },
            "data": data,
            "revision": number,
        }
        try:
            return await self.client.create(self.revisions.res, body)
        except Exception as e:
            if not is_already_exists(e):
                raise
        existing = await self.client.get(
            self.revisions.res, body["metadata"]["name"], meta.namespace_of(ds)
        )
        if existing.get("data") == data and meta.is_controlled_by(existing, ds):
            return existing
        await self._bump_collision_count(ds)
        raise RuntimeError(f"hash collision on controller revision {body['metadata']['name']}")

    async def _bump_collision_count(self, ds: Obj) -> None:
        status = dict(ds.get("status") or {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        await self.client.update_status(self.daemonsets.res, {**ds, "status": status})

    async def _renumber(self, revision: Obj, number: int) -> Obj:
        return await self.client.update(self.revisions.res, {**revision, "revision": number})

    async def _delete_revision(self, revision: Obj) -> None:
        try:
            await self.client.delete(
                self.revisions.res, meta.name_of(revision), meta.namespace_of(revision)
            )
        except Exception as e:
            if not is_not_found(e):
                raise

    async def _cleanup_history(
        self, ds: Obj, old: list[Obj], node_pods: dict[str, list[Obj]]
    ) -> None:
        """Keep revisionHistoryLimit old revisions that no pod runs; delete older ones."""
        limit = int((ds.get("spec") or {}).get("revisionHistoryLimit", 10))
        live = {meta.labels_of(p).get(du.HASH_LABEL) for pods in node_pods.values() for p in pods}
        unused = [r for r in old if meta.labels_of(r).get(du.HASH_LABEL) not in live]
        excess = len(unused) - limit
        for revision in sorted(unused, key=lambda r: r.get("revision", 0))[: max(0, excess)]:
            await self._delete_revision(revision)

    # -- status -------------------------------------------------------------------------

    async def _update_status(
        self, ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]], hash_: str
    ) -> None:
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        now = meta.now()
        counts = dict.fromkeys(
            ("desired", "current", "misscheduled", "ready", "available", "updated"), 0
        )
        recheck = 0.0
        for node in nodes:
            should_run, _ = du.node_should_run(ds, node)
            pods = node_pods.get(meta.name_of(node), [])
            if not should_run:
                counts["misscheduled"] += 1 if pods else 0
                continue
            counts["desired"] += 1
            if not pods:
                continue
            counts["current"] += 1
            pod = pods[0]
            if is_pod_ready(pod):
                counts["ready"] += 1
                if is_pod_available(pod, min_ready, now):
                    counts["available"] += 1
                else:
                    wait = seconds_until_available(pod, min_ready, now)
                    recheck = wait if not recheck else min(recheck, wait)
            if du.is_pod_updated(ds, hash_, pod):
                counts["updated"] += 1
        await self._write_status(ds, counts)
        if recheck:
            self.enqueue_after(meta.key_of(ds), recheck + 0.01)

    async def _write_status(self, ds: Obj, counts: dict[str, int]) -> None:
        old = ds.get("status") or {}
        status: Obj = {
            "currentNumberScheduled": counts["current"],
            "numberMisscheduled": counts["misscheduled"],
            "desiredNumberScheduled": counts["desired"],
            "numberReady": counts["ready"],
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        optional = {
            "updatedNumberScheduled": counts["updated"],
            "numberAvailable": counts["available"],
            "numberUnavailable": counts["desired"] - counts["available"],
        }
        status.update({k: v for k, v in optional.items() if v})  # Go's omitempty
        for k in ("collisionCount", "conditions"):
            if old.get(k):
                status[k] = old[k]
        if status == old:
            return
        try:
            await self.client.update_status(self.daemonsets.res, {**ds, "status": status})
        except Exception as e:
            if is_not_found(e):
                return
            if is_conflict(e):
                raise RuntimeError("daemon set changed meanwhile; retrying") from e
            raise


__all__ = ["DaemonSetsController"]
