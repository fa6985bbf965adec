"""Small helpers the supporting controllers share: owner references, int-or-percent
scaling, pod readiness and the controller hash (upstream's controller/util helpers)."""

from __future__ import annotations

import math
from typing import Any

from pyk8s.machinery import meta

Obj = dict[str, Any]

# The alphabet upstream's rand.SafeEncodeString maps digits onto (no vowels, no look-alikes).


# -- owner references -------------------------------------------------------------------


def controller_ref(owner: Obj, api_version: str, kind: str) -> Obj:
    """The ownerReference a controller puts on what it creates (controller, blocking)."""
    md = owner["metadata"]
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": md["name"],
        "uid": md["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owner_refs(obj: Obj) -> list[Obj]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or [])


def owner_uids(obj: Obj) -> list[str]:
    return [r["uid"] for r in owner_refs(obj) if r.get("uid")]


def controller_uid(obj: Obj) -> str:
    ref = meta.owner_controller(obj)
    return (ref or {}).get("uid", "")


def refs_without(obj: Obj, uids: set[str]) -> list[Obj]:
    """The object's ownerReferences minus those pointing at `uids`."""
    return [r for r in owner_refs(obj) if r.get("uid") not in uids]


def finalizers_of(obj: Obj) -> list[str]:
    return list((obj.get("metadata") or {}).get("finalizers") or [])


def metadata_patch(obj: Obj, **fields: Any) -> Obj:
    """A merge patch of metadata fields guarded by the object's resourceVersion, so a
    list-valued field (ownerReferences, finalizers) is replaced only if nobody raced us."""
    md = {"resourceVersion": obj["metadata"].get("resourceVersion", ""), "uid": meta.uid_of(obj)}
    md.update(fields)
    return {"metadata": md}


# -- int-or-percent ---------------------------------------------------------------------


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: ints as is, "N%" of total rounded up or down."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        raise ValueError("invalid value for IntOrString: invalid type: string is not a percentage")
    exact = int(text[:-1]) * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


# -- pods ----------------------------------------------------------------------------


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
