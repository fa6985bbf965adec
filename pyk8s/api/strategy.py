"""A kind's behaviour on create and update, as upstream's registry strategies.

The generic store (apiserver) calls, for a create:
    default(obj) -> prepare_for_create(obj) -> validate(obj)
and for an update (PUT or PATCH, after the patch is applied):
    default(new) -> prepare_for_update(new, old) -> validate(new) + validate_update(new, old)
A status subresource write uses the same kind's `status_strategy`, which keeps
everything but status from the stored object.

`Cause`s come from pyk8s.machinery.errors (field_required, field_invalid, ...);
the server turns a non-empty list into a 422 Invalid Status.
"""

from __future__ import annotations

from typing import Any

from pyk8s.machinery.errors import Cause

Obj = dict[str, Any]


def _without(obj: Obj, *keys: str) -> Obj:
    return {k: v for k, v in obj.items() if k not in keys}


class Strategy:
    """Default behaviour: a kind with no spec/status split (ConfigMap, Secret, ...)."""

    # Whether the kind has a status subresource; if so, writes to the main resource
    # ignore status, and writes to /status ignore everything else.
    has_status: bool = False
    # Whether metadata.generation tracks changes for this kind (built-in kinds are listed
    # in the registry's GENERATION_KINDS; custom resources always track it).
    tracks_generation: bool = False
    # Set when objects of several versions share one storage (a custom resource with
    # more than one version): reads rewrite the stored apiVersion to the served one.
    convertible: bool = False
    storage_api_version: str = ""

    def default(self, obj: Obj) -> None:
        """Fill upstream's defaults in place (spec and template fields)."""

    def prepare_for_create(self, obj: Obj) -> None:
        """Reset what a client may not set on create (e.g. status for kinds that have one)."""
        if self.has_status:
            obj.pop("status", None)
            self.initial_status(obj)

    def initial_status(self, obj: Obj) -> None:
        """Status a freshly created object starts with (e.g. Pod phase Pending)."""

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Carry over what the main resource may not change (status, for kinds that have one)."""
        if self.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def prepare_for_delete(self, obj: Obj) -> None:
        """Change an object on its first DELETE, before deletion is decided (e.g. a CRD
        gains its cleanup finalizer)."""

    def validate(self, obj: Obj) -> list[Cause]:
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return []

    def generation_changed(self, new: Obj, old: Obj) -> bool:
        """Whether metadata.generation must be bumped: any change outside metadata and status."""
        return _without(new, "metadata", "status") != _without(old, "metadata", "status")


class StatusStrategy:
    """Writes through /status: status changes, and so may annotations (upstream's
    status strategies reset spec, and labels for the workload kinds); the rest of
    the object is the stored one."""

    def __init__(self, main: Strategy) -> None:
        self.main = main

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        status = new.get("status")
        meta = new.get("metadata") or {}
        new.clear()
        new.update({k: v for k, v in old.items() if k != "status"})
        new["metadata"] = dict(old.get("metadata", {}))
        if "resourceVersion" in meta:
            new["metadata"]["resourceVersion"] = meta["resourceVersion"]
        if meta.get("annotations") is not None or "annotations" in new["metadata"]:
            if meta.get("annotations"):
                new["metadata"]["annotations"] = meta["annotations"]
            else:
                new["metadata"].pop("annotations", None)
        if status is not None:
            new["status"] = status

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return []
