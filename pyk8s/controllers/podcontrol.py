"""Creating, deleting, adopting and releasing a controller's pods, with upstream's Events.

What upstream spreads over controller_utils.go (PodControl, GetPodFromTemplate)
and controller_ref_manager.go (ClaimPods), for every controller that owns pods
(ReplicaSet, ReplicationController, DaemonSet, Job):

    control = PodControl(client, recorder)
    ref = controller_ref(rs)
    pod = await control.create_pod(ns, rs["spec"]["template"], rs, ref)
    claimed = await claim_pods(control, rs, ref, selector, candidates, can_adopt)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from pyk8s.client import Informer, is_not_found
from pyk8s.controllers.events import NORMAL, WARNING, EventRecorder
from pyk8s.machinery import meta
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.labels import Selector
from pyk8s.machinery.validation import name_is_dns_subdomain

Obj = dict[str, Any]

# Upstream's pod index by controller uid; orphans are filed per namespace.
CONTROLLER_UID_INDEX = "podControllerUID"
_ORPHAN = "_ORPHAN_POD"

NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"

_PODS = ("", "v1", "pods", True, "Pod")


def error_message(err: BaseException) -> str:
    """What upstream's err.Error() prints: a Status error's message, not its reason."""
    if isinstance(err, StatusError):
        return err.message
    return str(err)


def _deep_copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value)) if value is not None else None


# ----------------------------------------------------------------- owner refs


def controller_ref(owner: Obj) -> Obj:
    """The ownerReference a controller puts on what it creates (metav1.NewControllerRef)."""
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": meta.name_of(owner),
        "uid": meta.uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pods_prefix(owner_name: str) -> str:
    """generateName for an owner's pods: `<name>-`, or the bare name if that is invalid."""
    prefix = f"{owner_name}-"
    return owner_name if name_is_dns_subdomain(prefix, True) else prefix


def pod_from_template(
    template: Obj, owner: Obj, ref: Obj | None, generate_name: str | None = None
) -> Obj:
    """A new pod from a pod template: its labels, annotations, finalizers and spec."""
    tmeta = template.get("metadata") or {}
    md: Obj = {"generateName": generate_name or pods_prefix(meta.name_of(owner))}
    for field in ("labels", "annotations", "finalizers"):
        if tmeta.get(field):
            md[field] = _deep_copy(tmeta[field])
    if ref is not None:
        md["ownerReferences"] = [dict(ref)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": md,
        "spec": _deep_copy(template.get("spec") or {}),
    }


# --------------------------------------------------------------------- index


def controller_uid_index(pod: Obj) -> list[str]:
    """File a pod under its controller's uid, an orphan under `<namespace>/_ORPHAN_POD`."""
    ref = meta.owner_controller(pod)
    if ref is not None:
        return [ref.get("uid", "")]
    return [f"{meta.namespace_of(pod)}/{_ORPHAN}"]


def add_controller_uid_index(informer: Informer) -> None:
    """Index the pod informer by controller uid (once, however many controllers ask)."""
    try:
        informer.add_index(CONTROLLER_UID_INDEX, controller_uid_index)
    except ValueError:
        pass  # another controller sharing this informer added it already


def owned_pods(informer: Informer, owner: Obj, include_orphans: bool = True) -> list[Obj]:
    """The owner's pods, plus the orphans of its namespace it might adopt."""
    pods = informer.by_index(CONTROLLER_UID_INDEX, meta.uid_of(owner))
    if include_orphans:
        pods += informer.by_index(CONTROLLER_UID_INDEX, f"{meta.namespace_of(owner)}/{_ORPHAN}")
    return pods


def is_namespace_terminating(err: BaseException) -> bool:
    """The create failed because the namespace is going away (no event, no retry)."""
    if not isinstance(err, StatusError):
        return False
    causes = (err.details or {}).get("causes") or []
    return any(c.get("type") == NAMESPACE_TERMINATING_CAUSE for c in causes)


# --------------------------------------------------------------- pod control


class PodControl:
    """Pod writes on behalf of a controller, recording upstream's Events on the owner."""

    def __init__(self, client: Any, recorder: EventRecorder) -> None:
        self.client = client
        self.recorder = recorder

    async def create_pod(
        self,
        namespace: str,
        template: Obj,
        owner: Obj,
        ref: Obj | None,
        *,
        generate_name: str | None = None,
    ) -> Obj:
        """Create one pod from `template`; a failure is an Event and re-raised."""
        pod = pod_from_template(template, owner, ref, generate_name)
        if not pod["metadata"].get("labels"):
            raise ValueError("unable to create pods, no labels")
        try:
            created = await self.client.create(_PODS, pod, namespace=namespace)
        except Exception as err:
            if not is_namespace_terminating(err):
                msg = f"Error creating: {error_message(err)}"
                await self.recorder.event(owner, WARNING, "FailedCreate", msg)
            raise
        msg = f"Created pod: {meta.name_of(created)}"
        await self.recorder.event(owner, NORMAL, "SuccessfulCreate", msg)
        return created

    async def delete_pod(self, namespace: str, name: str, owner: Obj) -> None:
        """Delete one pod; NotFound is re-raised without an Event (nothing happened)."""
        try:
            await self.client.delete(_PODS, name, namespace)
        except Exception as err:
            if not is_not_found(err):
                msg = f"Error deleting: {error_message(err)}"
                await self.recorder.event(owner, WARNING, "FailedDelete", msg)
            raise
        await self.recorder.event(owner, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")

    async def adopt_pod(self, pod: Obj, ref: Obj) -> Obj:
        """Make `ref` the pod's controller; the uid in the patch guards against a recreated pod."""
        patch = {"metadata": {"ownerReferences": [dict(ref)], "uid": meta.uid_of(pod)}}
        return await self._patch(pod, patch)

    async def release_pod(self, pod: Obj, owner_uid: str) -> None:
        """Remove the owner's reference from the pod (a pod gone or changed is fine)."""
        patch = {
            "metadata": {
                "ownerReferences": [{"$patch": "delete", "uid": owner_uid}],
                "uid": meta.uid_of(pod),
            }
        }
        try:
            await self._patch(pod, patch)
        except StatusError as err:
            # NotFound: the pod is gone; Invalid: no such reference or a new pod by that name.
            if err.code not in (404, 422):
                raise

    async def _patch(self, pod: Obj, patch: Obj) -> Obj:
        return await self.client.patch(
            _PODS, meta.name_of(pod), patch, meta.namespace_of(pod), "strategic"
        )


# ------------------------------------------------------------------- claiming

CanAdopt = Callable[[], Awaitable[None]]


def recheck_owner(client: Any, res: Any, owner: Obj) -> CanAdopt:
    """Before the first adoption, re-read the owner from the API server: it must be
    the same object (uid) and not being deleted (upstream's RecheckDeletionTimestamp)."""
    verdict: list[BaseException | None] = []

    async def can_adopt() -> None:
        if not verdict:
            verdict.append(await _recheck(client, res, owner))
        if verdict[0] is not None:
            raise verdict[0]

    return can_adopt


async def _recheck(client: Any, res: Any, owner: Obj) -> BaseException | None:
    ns, name, kind = meta.namespace_of(owner), meta.name_of(owner), owner.get("kind", "")
    try:
        fresh = await client.get(res, name, ns)
    except Exception as err:  # noqa: BLE001 - reported as the adoption's failure
        return err
    if meta.uid_of(fresh) != meta.uid_of(owner):
        return RuntimeError(
            f"original {kind} {ns}/{name} is gone: got uid {meta.uid_of(fresh)}, "
            f"wanted {meta.uid_of(owner)}"
        )
    if meta.is_being_deleted(fresh):
        stamp = meta.metadata_of(fresh).get("deletionTimestamp")
        return RuntimeError(f"{kind} {ns}/{name} has just been deleted at {stamp}")
    return None


async def claim_pods(
    control: PodControl,
    owner: Obj,
    ref: Obj,
    selector: Selector,
    pods: list[Obj],
    can_adopt: CanAdopt,
) -> list[Obj]:
    """The pods the owner controls after adopting matching orphans and releasing its
    pods that no longer match (upstream's PodControllerRefManager.ClaimPods).

    Raises the first failure after trying every pod (the caller retries the sync).
    """
    claimed: list[Obj] = []
    errors: list[BaseException] = []
    owner_uid = meta.uid_of(owner)
    for pod in pods:
        # Most pods are ours and still selected (or someone else's): decided here,
        # without a coroutine per pod; the rest (adopt, release) take _claim_one.
        current = meta.owner_controller(pod)
        if current is not None and (
            current.get("uid") != owner_uid or selector.matches(meta.labels_of(pod))
        ):
            if current.get("uid") == owner_uid:
                claimed.append(pod)
            continue
        try:
            if await _claim_one(control, owner, ref, selector, pod, can_adopt):
                claimed.append(pod)
        except Exception as err:  # noqa: BLE001 - collected, raised after the loop
            errors.append(err)
    if errors:
        raise errors[0]
    return claimed


async def _claim_one(
    control: PodControl, owner: Obj, ref: Obj, selector: Selector, pod: Obj, can_adopt: CanAdopt
) -> bool:
    owner_uid = meta.uid_of(owner)
    current = meta.owner_controller(pod)
    matches = selector.matches(meta.labels_of(pod))
    if current is not None:
        if current.get("uid") != owner_uid:
            return False  # someone else's
        if matches:
            return True
        # Ours but no longer selected: let it go, unless we are being deleted
        # (the garbage collector then deals with our pods).
        if not meta.is_being_deleted(owner):
            await control.release_pod(pod, owner_uid)
        return False
    # An orphan: adopt it if it matches and neither side is going away.
    if meta.is_being_deleted(owner) or not matches or meta.is_being_deleted(pod):
        return False
    if meta.namespace_of(owner) and meta.namespace_of(owner) != meta.namespace_of(pod):
        return False
    try:
        await can_adopt()
    except Exception as err:
        raise RuntimeError(
            f"can't adopt Pod {meta.namespace_of(pod)}/{meta.name_of(pod)} "
            f"({meta.uid_of(pod)}): {error_message(err)}"
        ) from err
    try:
        await control.adopt_pod(pod, ref)
    except StatusError as err:
        if is_not_found(err):
            return False
        raise
    return True
