"""Pure DaemonSet logic: which nodes should run a daemon pod, the pod a DaemonSet makes
for a node, its history data and hash, which pods are updated, and the rolling
update's choice of pods to replace (upstream's daemon/util and update.go)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from pyk8s.controllers.hashing import compute_hash
from pyk8s.controllers.ownerrefs import controller_ref, scaled_value
from pyk8s.controllers.podutil import is_pod_available
from pyk8s.machinery import labels, meta

Obj = dict[str, Any]

HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"

# The tolerations upstream adds to every daemon pod (AddOrUpdateDaemonPodTolerations).
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
HOST_NETWORK_TOLERATION = {
    "key": "node.kubernetes.io/network-unavailable",
    "operator": "Exists",
    "effect": "NoSchedule",
}


# -- node eligibility -------------------------------------------------------------------


def toleration_matches(tol: Obj, taint: Obj) -> bool:
    """Upstream's Toleration.ToleratesTaint."""
    if tol.get("effect") and tol["effect"] != taint.get("effect"):
        return False
    if tol.get("key") and tol["key"] != taint.get("key"):
        return False
    if not tol.get("key") and tol.get("operator") != "Exists":
        return False
    op = tol.get("operator") or "Equal"
    if op == "Exists":
        return True
    return (tol.get("value") or "") == (taint.get("value") or "")


def untolerated(taints: list[Obj], tolerations: list[Obj], effects: set[str]) -> list[Obj]:
    return [
        t
        for t in taints
        if t.get("effect") in effects and not any(toleration_matches(tol, t) for tol in tolerations)
    ]


def _requirement_matches(req: Obj, values_of: dict[str, str]) -> bool:
    key, op, vals = req.get("key", ""), req.get("operator", ""), req.get("values") or []
    present = key in values_of
    value = values_of.get(key, "")
    if op == "In":
        return present and value in vals
    if op == "NotIn":
        return not present or value not in vals
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(vals) == 1:
        try:
            have, want = int(value), int(vals[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_selector_term_matches(term: Obj, node: Obj) -> bool:
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False  # an empty term matches nothing
    node_labels = meta.labels_of(node)
    node_fields = {"metadata.name": meta.name_of(node)}
    return all(_requirement_matches(r, node_labels) for r in exprs) and all(
        _requirement_matches(r, node_fields) for r in fields
    )


def fits_node_affinity(pod_spec: Obj, node: Obj) -> bool:
    """nodeSelector and the required node affinity both match the node."""
    selector = pod_spec.get("nodeSelector") or {}
    if selector and not labels.selector_from_set(selector).matches(meta.labels_of(node)):
        return False
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not affinity:
        return True
    return any(node_selector_term_matches(t, node) for t in affinity.get("nodeSelectorTerms") or [])


def node_should_run(ds: Obj, node: Obj) -> tuple[bool, bool]:
    """(should run a daemon pod, should keep one already running), as upstream's
    NodeShouldRunDaemonPod: NoExecute taints evict, NoSchedule ones only stop new pods."""
    pod_spec = new_pod_spec(ds, meta.name_of(node))
    wanted_node = pod_spec.get("nodeName")
    if wanted_node and wanted_node != meta.name_of(node):
        return False, False
    if not fits_node_affinity(pod_spec, node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = pod_spec.get("tolerations") or []
    if untolerated(taints, tolerations, {"NoExecute"}):
        return False, False
    if untolerated(taints, tolerations, {"NoSchedule"}):
        return False, True
    return True, True


# -- the pod ----------------------------------------------------------------------------


def add_tolerations(existing: list[Obj], wanted: list[Obj]) -> list[Obj]:
    out = [dict(t) for t in existing]
    for tol in wanted:
        same = ("key", "operator", "value", "effect")
        if not any(all(t.get(k) == tol.get(k) for k in same) for t in out):
            out.append(dict(tol))
    return out


def node_affinity_for(affinity: Obj | None, node_name: str) -> Obj:
    """The pod's affinity with its required node terms pinned to metadata.name=node
    (upstream's ReplaceDaemonSetPodNodeNameNodeAffinity): the scheduler places it."""
    affinity = copy.deepcopy(affinity or {})
    pin = [{"key": "metadata.name", "operator": "In", "values": [node_name]}]
    node_aff = affinity.setdefault("nodeAffinity", {})
    required = node_aff.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        terms = [{"matchFields": pin}]
    else:
        terms = [{**t, "matchFields": copy.deepcopy(pin)} for t in terms]
    node_aff["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": terms}
    return affinity


def new_pod_spec(ds: Obj, node_name: str) -> Obj:
    spec = copy.deepcopy(((ds.get("spec") or {}).get("template") or {}).get("spec") or {})
    wanted = list(DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(HOST_NETWORK_TOLERATION)
    spec["tolerations"] = add_tolerations(spec.get("tolerations") or [], wanted)
    spec["affinity"] = node_affinity_for(spec.get("affinity"), node_name)
    return spec


def new_pod(ds: Obj, node_name: str, hash_: str) -> Obj:
    template = (ds.get("spec") or {}).get("template") or {}
    tmd = template.get("metadata") or {}
    pod_labels = dict(tmd.get("labels") or {})
    pod_labels[GENERATION_LABEL] = template_generation(ds)
    pod_labels[HASH_LABEL] = hash_
    md: Obj = {
        "generateName": f"{meta.name_of(ds)}-",
        "namespace": meta.namespace_of(ds),
        "labels": pod_labels,
        "ownerReferences": [controller_ref(ds, "apps/v1", "DaemonSet")],
    }
    if tmd.get("annotations"):
        md["annotations"] = dict(tmd["annotations"])
    if tmd.get("finalizers"):
        md["finalizers"] = list(tmd["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": new_pod_spec(ds, node_name)}


def target_node(pod: Obj) -> str:
    """The node a daemon pod is for: its nodeName, or the node its affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for req in term.get("matchFields") or []:
            if req.get("key") == "metadata.name" and req.get("operator") == "In":
                values = req.get("values") or []
                if len(values) == 1:
                    return values[0]
    return ""


# -- history ----------------------------------------------------------------------------


def revision_data(ds: Obj) -> Obj:
    """What a ControllerRevision stores: the template as a replacing patch (upstream's getPatch)."""
    template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_hash(ds: Obj) -> str:
    collisions = (ds.get("status") or {}).get("collisionCount")
    return compute_hash(revision_data(ds), collisions)


def template_generation(ds: Obj) -> str:
    """The template's generation: the API server's deprecated annotation, else metadata.generation."""
    md = ds.get("metadata") or {}
    annotations = md.get("annotations") or {}
    return str(annotations.get(TEMPLATE_GENERATION_ANNOTATION) or md.get("generation", 1))


def is_pod_updated(ds: Obj, hash_: str, pod: Obj) -> bool:
    """The pod runs the current template: its hash label, or its template generation, matches."""
    pod_labels = meta.labels_of(pod)
    if hash_ and pod_labels.get(HASH_LABEL) == hash_:
        return True
    return pod_labels.get(GENERATION_LABEL) == template_generation(ds)


def by_creation(pods: list[Obj]) -> list[Obj]:
    """Oldest first; running before pending at equal age (upstream's podByCreationTimestampAndPhase)."""

    def key(p: Obj) -> tuple:
        pending = (p.get("status") or {}).get("phase") == "Pending"
        return (p["metadata"].get("creationTimestamp", ""), pending, meta.name_of(p))

    return sorted(pods, key=key)


# -- rolling update -----------------------------------------------------------------------


def surge_and_unavailable(ds: Obj, desired: int) -> tuple[int, int]:
    """maxSurge rounded up, maxUnavailable rounded up; both 0 means 1 unavailable."""
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type") != "RollingUpdate":
        return 0, 1
    rolling = strategy.get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge", 0), desired, round_up=True)
    unavailable = scaled_value(rolling.get("maxUnavailable", 1), desired, round_up=True)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def split_old_new(ds: Obj, pods: list[Obj], hash_: str) -> tuple[Obj | None, Obj | None, bool]:
    """(new pod, old pod, ok) on one node; not ok when there are two of either."""
    new = old = None
    for pod in pods:
        if meta.is_being_deleted(pod):
            continue
        if is_pod_updated(ds, hash_, pod):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def rolling_update_plan(
    ds: Obj, node_pods: dict[str, list[Obj]], eligible: list[str], hash_: str, now: datetime
) -> tuple[list[Obj], list[str]]:
    """(old pods to delete, nodes that may get a new pod now) for one rolling-update step."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    surge, max_unavailable = surge_and_unavailable(ds, len(eligible))
    if surge == 0:
        return _plan_without_surge(ds, node_pods, eligible, hash_, now, min_ready, max_unavailable)
    return _plan_with_surge(ds, node_pods, eligible, hash_, now, min_ready, surge)


def _plan_without_surge(ds, node_pods, eligible, hash_, now, min_ready, max_unavailable):
    unavailable = 0
    to_delete: list[Obj] = []
    candidates: list[Obj] = []
    for node in eligible:
        new, old, ok = split_old_new(ds, node_pods.get(node, []), hash_)
        if not ok or (new is None) == (old is None):
            unavailable += 1  # nothing there yet, or both: the manage step sorts it out
        elif new is not None:
            if not is_pod_available(new, min_ready, now):
                unavailable += 1
        elif not is_pod_available(old, min_ready, now):
            to_delete.append(old)  # an unavailable old pod may be replaced at once
        else:
            candidates.append(old)
    budget = max(0, min(max_unavailable - unavailable, len(candidates)))
    return to_delete + candidates[:budget], []


def _plan_with_surge(ds, node_pods, eligible, hash_, now, min_ready, surge):
    surged = 0
    to_delete: list[Obj] = []
    allowed: list[str] = []
    candidates: list[str] = []
    for node in eligible:
        new, old, ok = split_old_new(ds, node_pods.get(node, []), hash_)
        if not ok or old is None:
            continue
        if new is None:
            if not is_pod_available(old, min_ready, now):
                allowed.append(node)
            else:
                candidates.append(node)
            continue
        surged += 1
        if is_pod_available(new, min_ready, now):
            to_delete.append(old)  # its replacement is up: the old pod may go
    budget = max(0, min(surge - surged, len(candidates)))
    return to_delete, allowed + candidates[:budget]
