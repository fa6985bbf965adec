"""Small helpers the supporting controllers share: owner references, int-or-percent
scaling, pod readiness and the controller hash (upstream's controller/util helpers)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import orjson

from pyk8s.machinery import meta

Obj = dict[str, Any]

# The alphabet upstream's rand.SafeEncodeString maps digits onto (no vowels, no look-alikes).
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


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
    """An int, or a percent of `total` rounded up or down (upstream's GetScaledValueFromIntOrPercent)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        scaled = int(text[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(text)


# -- pods -------------------------------------------------------------------------------


def pod_condition(pod: Obj, type_: str) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = pod_condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def is_pod_available(pod: Obj, min_ready_seconds: int, now: datetime | None = None) -> bool:
    """Ready for at least min_ready_seconds (upstream's podutil.IsPodAvailable)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    cond = pod_condition(pod, "Ready") or {}
    since = cond.get("lastTransitionTime")
    if not since:
        return False
    elapsed = ((now or meta.now()) - meta.parse_time(since)).total_seconds()
    return elapsed >= min_ready_seconds


def seconds_until_available(pod: Obj, min_ready_seconds: int, now: datetime | None = None) -> float:
    """For a ready pod not yet available: how long until it is (0 if it already is)."""
    cond = pod_condition(pod, "Ready") or {}
    since = cond.get("lastTransitionTime")
    if not since or min_ready_seconds <= 0:
        return 0.0
    elapsed = ((now or meta.now()) - meta.parse_time(since)).total_seconds()
    return max(0.0, min_ready_seconds - elapsed)


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


# -- hashing ----------------------------------------------------------------------------


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """Upstream's rand.SafeEncodeString: each character mapped onto a safe alphabet."""
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in text)


def compute_hash(value: Any, collision_count: int | None = None) -> str:
    """A short stable hash of a JSON-shaped value (pod-template-hash / controller-revision-hash).

    The value is serialized canonically (sorted keys); a collision count, when set,
    perturbs the hash as upstream's ComputeHash does."""
    data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode(str(fnv32a(data)))
