"""What the server manages in every object's metadata, on create, update and delete."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pyk8s.api.resources import ResourceType
from pyk8s.machinery import errors, meta, validation
from pyk8s.machinery.errors import Cause

Obj = dict[str, Any]

# Namespaces that can never be deleted (upstream's NamespaceLifecycle admission).
IMMORTAL_NAMESPACES = {"default", "kube-system", "kube-public"}
# Set by the server alone; a client's values are replaced on create and kept on update.
SERVER_MANAGED = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


def check_kind(res: ResourceType, obj: Obj) -> None:
    """A body naming another kind or version is refused, as upstream's decoder does."""
    if not isinstance(obj, dict):
        raise errors.bad_request("the object provided is not a JSON object")
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if kind and kind != res.kind:
        raise errors.bad_request(
            f"the object provided is unrecognized (must be of type {res.kind}): "
            f"couldn't get version/kind; json parse error: expected kind {res.kind}, got {kind}"
        )
    if api_version and api_version != res.api_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version ({res.api_version})"
        )
    obj["kind"] = res.kind
    obj["apiVersion"] = res.api_version


def check_namespace(res: ResourceType, obj: Obj, namespace: str) -> Obj:
    md = obj.get("metadata")
    if md is None:
        md = obj["metadata"] = {}
    if not isinstance(md, dict):
        raise errors.bad_request("metadata must be an object")
    if res.namespaced:
        given = md.get("namespace")
        if given and given != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        md["namespace"] = namespace
    else:
        md.pop("namespace", None)
    return md


def fill_for_create(res: ResourceType, obj: Obj, with_generation: bool) -> None:
    md = obj["metadata"]
    if not md.get("name") and md.get("generateName"):
        md["name"] = meta.generate_name(md["generateName"])
    md["uid"] = meta.new_uid()
    md["creationTimestamp"] = meta.now_rfc3339()
    for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "resourceVersion"):
        md.pop(k, None)
    if with_generation:
        md["generation"] = 1
    else:
        md.pop("generation", None)


def keep_for_update(res: ResourceType, new: Obj, old: Obj) -> None:
    """Carry the server-managed metadata over from the stored object."""
    nmd = new["metadata"]
    omd = old.get("metadata", {})
    for k in SERVER_MANAGED + ("generation",):
        if k in omd:
            nmd[k] = omd[k]
        else:
            nmd.pop(k, None)
    nmd.pop("selfLink", None)
    nmd["name"] = omd.get("name", nmd.get("name"))
    if res.namespaced:
        nmd["namespace"] = omd.get("namespace")
    # A deleting object may lose finalizers but gain none (upstream forbids new ones).
    if omd.get("deletionTimestamp"):
        added = set(nmd.get("finalizers") or []) - set(omd.get("finalizers") or [])
        if added:
            raise errors.invalid(
                res.kind,
                res.group,
                nmd["name"],
                [
                    errors.field_forbidden(
                        "metadata.finalizers",
                        f"no new finalizers can be added if the object is being deleted, found new finalizers {sorted(added)!r}",
                    )
                ],
            )


def _name_validator(res: ResourceType):
    if res.kind == "Namespace":
        return validation.name_is_dns_label
    if res.kind == "Service":
        return validation.name_is_dns1035_label
    return validation.name_is_dns_subdomain


def validate(res: ResourceType, obj: Obj) -> list[Cause]:
    return validation.validate_object_meta(
        obj.get("metadata") or {}, res.namespaced, _name_validator(res)
    )


def validate_update(new: Obj, old: Obj) -> list[Cause]:
    return []


def check_delete_preconditions(res: ResourceType, obj: Obj, options: Obj) -> None:
    pre = options.get("preconditions") or {}
    md = obj["metadata"]
    if pre.get("uid") and pre["uid"] != md.get("uid"):
        raise errors.conflict(
            res.plural,
            res.group,
            md["name"],
            f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {md.get('uid')}",
        )
    if pre.get("resourceVersion") and pre["resourceVersion"] != md.get("resourceVersion"):
        raise errors.conflict(
            res.plural,
            res.group,
            md["name"],
            f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
            f"ResourceVersion in object meta: {md.get('resourceVersion')}",
        )
    if res.kind == "Namespace" and md["name"] in IMMORTAL_NAMESPACES:
        raise errors.StatusError(
            403,
            "Forbidden",
            f'namespaces "{md["name"]}" is forbidden: this namespace may not be deleted',
            {"name": md["name"], "kind": "namespaces"},
        )


def _rfc3339(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _grace_period(res: ResourceType, obj: Obj, options: Obj) -> int:
    """Seconds a pod on a node gets to stop (0: delete at once), as upstream's pod strategy."""
    if res.kind != "Pod" or res.group:
        return 0
    spec = obj.get("spec") or {}
    if not spec.get("nodeName"):
        return 0  # never scheduled: nothing to stop
    if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    grace = options.get("gracePeriodSeconds")
    if grace is None:
        grace = spec.get("terminationGracePeriodSeconds", 30)
    return max(int(grace), 0)


def _add_propagation_finalizer(md: Obj, options: Obj) -> None:
    policy = options.get("propagationPolicy")
    if policy is None and options.get("orphanDependents") is True:
        policy = "Orphan"
    finalizers = list(md.get("finalizers") or [])
    wanted = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(policy or "")
    if wanted and wanted not in finalizers:
        finalizers.append(wanted)
    if policy in ("Background", "Foreground") and "orphan" in finalizers and wanted != "orphan":
        finalizers.remove("orphan")
    if finalizers:
        md["finalizers"] = finalizers


def _namespace_pending(obj: Obj) -> bool:
    return bool((obj.get("spec") or {}).get("finalizers"))


def mark_for_deletion(res: ResourceType, obj: Obj, options: Obj) -> Obj | None:
    """The object as it must be stored while it waits to go, or None to delete it now."""
    md = obj["metadata"]
    grace = _grace_period(res, obj, options)
    already = bool(md.get("deletionTimestamp"))
    is_namespace = res.kind == "Namespace" and not res.group
    if not already:
        _add_propagation_finalizer(md, options)
    if not md.get("finalizers") and grace == 0 and not (is_namespace and _namespace_pending(obj)):
        return None
    now = dt.datetime.now(dt.UTC)
    if already:
        # A second delete may only shorten a pod's grace period.
        old_grace = md.get("deletionGracePeriodSeconds", 0)
        if grace < old_grace:
            md["deletionGracePeriodSeconds"] = grace
            md["deletionTimestamp"] = _rfc3339(now + dt.timedelta(seconds=grace))
        return obj
    md["deletionTimestamp"] = _rfc3339(now + dt.timedelta(seconds=grace))
    md["deletionGracePeriodSeconds"] = grace
    if is_namespace:
        obj.setdefault("status", {})["phase"] = "Terminating"
    return obj


def should_delete_on_update(res: ResourceType, obj: Obj) -> bool:
    """A deleting object whose last finalizer went (and whose grace period is over) goes now."""
    md = obj.get("metadata", {})
    if not md.get("deletionTimestamp") or md.get("finalizers"):
        return False
    if res.kind == "Namespace" and not res.group and _namespace_pending(obj):
        return False
    return not md.get("deletionGracePeriodSeconds")
