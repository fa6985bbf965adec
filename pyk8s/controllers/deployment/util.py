"""Pure helpers of the deployment controller (upstream's deployment/util package).

Everything here reads and edits plain dicts and makes no API call: the pod-template
hash, maxSurge/maxUnavailable resolution, the revision and replicas annotations,
template comparison, replica counts and the orderings the controller scales in.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from pyk8s.controllers.hashing import compute_hash, fnv32a, safe_encode_string  # noqa: F401 - re-exported
from pyk8s.controllers.ownerrefs import scaled_value
from pyk8s.machinery import meta

Obj = dict[str, Any]

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
# Annotations of a Deployment that are never copied onto its replica sets.
ANNOTATIONS_TO_SKIP = frozenset(
    {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO}
)
# Upstream caps the revision-history annotation at this many characters.
MAX_REV_HISTORY_CHARS = 2000
# progressDeadlineSeconds of MaxInt32 means "no deadline".
MAX_INT32 = 2**31 - 1


# ------------------------------------------------------------------ pod-template hash


def template_without_hash(template: Obj | None) -> Obj:
    """A copy of a pod template with the pod-template-hash label removed."""
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return t


def _semantic(value: Any) -> Any:
    """Drop nulls and empty maps/lists, recursively: upstream compares decoded Go
    structs, where `creationTimestamp: null` (kubectl sends it in `rollout undo`),
    an empty map and an absent one all read the same."""
    if isinstance(value, dict):
        out = {k: _semantic(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def equal_ignore_hash(t1: Obj | None, t2: Obj | None) -> bool:
    """Templates equal once the pod-template-hash label is ignored (EqualIgnoreHash)."""
    return _semantic(template_without_hash(t1)) == _semantic(template_without_hash(t2))


# ----------------------------------------------------------- maxSurge / maxUnavailable


def resolve_fenceposts(surge: Any, unavailable: Any, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as counts: surge rounds up, unavailable down,
    and both zero makes unavailable 1 so a rollout can always proceed."""
    s = scaled_value(surge, desired, True)
    u = scaled_value(unavailable, desired, False)
    if s == 0 and u == 0:
        u = 1
    return s, u


def replicas_of(obj: Obj | None) -> int:
    """spec.replicas (a missing value reads as 1, as defaulting would have set)."""
    if obj is None:
        return 0
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def is_rolling_update(d: Obj) -> bool:
    return strategy_type(d) == "RollingUpdate"


def strategy_type(d: Obj) -> str:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type") or "RollingUpdate"


def _fenceposts(d: Obj) -> tuple[int, int]:
    rolling = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    return resolve_fenceposts(
        rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%"), replicas_of(d)
    )


def max_surge(d: Obj) -> int:
    return _fenceposts(d)[0] if is_rolling_update(d) else 0


def max_unavailable(d: Obj) -> int:
    replicas = replicas_of(d)
    if not is_rolling_update(d) or replicas == 0:
        return 0
    return min(_fenceposts(d)[1], replicas)


# ------------------------------------------------------------------------ annotations


def annotations(obj: Obj) -> dict[str, str]:
    """The object's annotations, created when missing (for writing)."""
    md = obj.setdefault("metadata", {})
    if md.get("annotations") is None:
        md["annotations"] = {}
    return md["annotations"]


def _int_annotation(obj: Obj | None, key: str) -> int | None:
    value = ((obj or {}).get("metadata") or {}).get("annotations", {}) or {}
    text = value.get(key)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def revision(obj: Obj | None) -> int:
    """The revision annotation as a number (0 when absent or unparsable)."""
    return _int_annotation(obj, REVISION) or 0


def max_revision(rss: Iterable[Obj | None]) -> int:
    return max((revision(rs) for rs in rss if rs is not None), default=0)


def desired_replicas_annotation(rs: Obj) -> int | None:
    return _int_annotation(rs, DESIRED_REPLICAS)


def max_replicas_annotation(rs: Obj) -> int | None:
    return _int_annotation(rs, MAX_REPLICAS)


def copy_deployment_annotations(d: Obj, rs: Obj) -> bool:
    """Copy the deployment's annotations (but the skipped ones) onto the RS; True if changed."""
    target = annotations(rs)
    changed = False
    for key, value in ((d.get("metadata") or {}).get("annotations") or {}).items():
        if key in ANNOTATIONS_TO_SKIP or target.get(key) == value:
            continue
        target[key] = value
        changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, max_replicas: int) -> bool:
    ann = (rs.get("metadata") or {}).get("annotations") or {}
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(max_replicas)


def set_replicas_annotations(rs: Obj, desired: int, max_replicas: int) -> bool:
    if not replicas_annotations_need_update(rs, desired, max_replicas):
        return False
    ann = annotations(rs)
    ann[DESIRED_REPLICAS] = str(desired)
    ann[MAX_REPLICAS] = str(max_replicas)
    return True


def set_deployment_revision(d: Obj, rev: str) -> bool:
    ann = annotations(d)
    if ann.get(REVISION) == rev:
        return False
    ann[REVISION] = rev
    return True


# ------------------------------------------------------------------ templates and sets


def template_of(obj: Obj) -> Obj:
    return (obj.get("spec") or {}).get("template") or {}


def find_new_rs(d: Obj, rss: list[Obj]) -> Obj | None:
    """The oldest replica set whose template equals the deployment's (ignoring the hash)."""
    for rs in sorted(rss, key=by_creation):
        if equal_ignore_hash(template_of(rs), template_of(d)):
            return rs
    return None


def find_old_rss(d: Obj, rss: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(old sets with replicas > 0, every old set): all but the new one."""
    new = find_new_rs(d, rss)
    all_old = [rs for rs in rss if new is None or meta.uid_of(rs) != meta.uid_of(new)]
    return [rs for rs in all_old if replicas_of(rs) != 0], all_old


def filter_active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def _status(rs: Obj | None, field: str) -> int:
    return int(((rs or {}).get("status") or {}).get(field) or 0)


def replica_count(rss: Iterable[Obj | None]) -> int:
    """Sum of spec.replicas."""
    return sum(replicas_of(rs) for rs in rss if rs is not None)


def actual_replica_count(rss: Iterable[Obj | None]) -> int:
    return sum(_status(rs, "replicas") for rs in rss if rs is not None)


def ready_replica_count(rss: Iterable[Obj | None]) -> int:
    return sum(_status(rs, "readyReplicas") for rs in rss if rs is not None)


def available_replica_count(rss: Iterable[Obj | None]) -> int:
    return sum(_status(rs, "availableReplicas") for rs in rss if rs is not None)


def available_of(rs: Obj | None) -> int:
    return _status(rs, "availableReplicas")


def pods_upper_bound(rss: Iterable[Obj | None]) -> int:
    """Pods the sets may have right now: per set the larger of spec and status.

    Upstream counts spec only, so a set scaled down whose pods are not gone yet
    lets the new set grow past replicas + maxSurge for a moment; counting what the
    set still reports keeps the surge bound at every instant."""
    return sum(max(replicas_of(rs), _status(rs, "replicas")) for rs in rss if rs is not None)


def available_lower_bound(rss: Iterable[Obj | None]) -> int:
    """Available pods the sets will keep: per set the smaller of spec and status
    (a set just scaled down still reports pods it is about to delete)."""
    return sum(min(replicas_of(rs), available_of(rs)) for rs in rss if rs is not None)


# -------------------------------------------------------------------------- orderings


def by_creation(rs: Obj) -> tuple[str, str]:
    """Oldest first; same second: by name (ReplicaSetsByCreationTimestamp)."""
    md = rs.get("metadata") or {}
    return (md.get("creationTimestamp") or "", md.get("name") or "")


def by_revision(rs: Obj) -> tuple[int, str, str]:
    return (revision(rs), *by_creation(rs))


def sort_by_size_newer(rss: list[Obj]) -> list[Obj]:
    """Largest first; equal sizes newest first (used when scaling up)."""
    newest_first = sorted(rss, key=by_creation, reverse=True)
    return sorted(newest_first, key=lambda rs: -replicas_of(rs))


def sort_by_size_older(rss: list[Obj]) -> list[Obj]:
    """Largest first; equal sizes oldest first (used when scaling down)."""
    return sorted(sorted(rss, key=by_creation), key=lambda rs: -replicas_of(rs))
