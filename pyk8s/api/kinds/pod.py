"""Pod: defaults, create-time status and admission defaults, and the update rule
that a running pod's spec is immutable but for a few fields."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from pyk8s.api.kinds._base import KindStrategy, spec_of
from pyk8s.api.kinds._util import Obj, as_dict, as_list, is_int, parse_quantity
from pyk8s.api.kinds.podspec import default_pod_only, default_pod_spec
from pyk8s.api.kinds.podspec_validation import validate_pod_spec
from pyk8s.machinery.errors import Cause, field_forbidden, field_invalid

MAX_INT32 = 2147483647
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300
# Built-in priority classes (upstream's scheduling.k8s.io system classes).
SYSTEM_PRIORITIES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}

IMMUTABLE_SPEC_MSG = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


class PodStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        default_pod_spec(spec)
        default_pod_only(spec)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        # What upstream's admission plugins add; pyk8s has no admission chain yet.
        add_default_tolerations(spec_of(obj))
        default_priority(spec_of(obj))

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(spec_of(obj))}

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_pod_spec(obj.get("spec"), "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return validate_pod_spec_update(as_dict(new.get("spec")), as_dict(old.get("spec")))


# --- admission defaults ------------------------------------------------------------


def add_default_tolerations(spec: Obj) -> None:
    """DefaultTolerationSeconds: tolerate not-ready/unreachable nodes for 5 minutes."""
    tolerations = as_list(spec.get("tolerations"))
    added = [
        {
            "key": key,
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
        }
        for key in (NOT_READY_TAINT, UNREACHABLE_TAINT)
        if not _tolerates_no_execute(tolerations, key)
    ]
    if added:
        spec["tolerations"] = tolerations + added


def _tolerates_no_execute(tolerations: list[Any], key: str) -> bool:
    for tol in tolerations:
        tol = as_dict(tol)
        if tol.get("effect") not in (None, "", "NoExecute"):
            continue
        if tol.get("key") == key or (not tol.get("key") and tol.get("operator") == "Exists"):
            return True
    return False


def default_priority(spec: Obj) -> None:
    """Priority admission, for pods without a class or with a system class.

    Other classes need a PriorityClass lookup, which the lead's admission will do.
    """
    name = spec.get("priorityClassName") or ""
    if spec.get("priority") is None:
        if not name:
            spec["priority"] = 0
        elif name in SYSTEM_PRIORITIES:
            spec["priority"] = SYSTEM_PRIORITIES[name]
    if spec.get("priority") is not None and spec.get("preemptionPolicy") is None:
        spec["preemptionPolicy"] = "PreemptLowerPriority"


# --- QoS ---------------------------------------------------------------------------


def pod_qos_class(spec: Obj) -> str:
    """BestEffort, Burstable or Guaranteed, from cpu/memory requests and limits."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    containers = as_list(spec.get("containers")) + as_list(spec.get("initContainers"))
    for ctr in containers:
        resources = as_dict(as_dict(ctr).get("resources"))
        _add_nonzero(requests, as_dict(resources.get("requests")))
        found = _add_nonzero(limits, as_dict(resources.get("limits")))
        if not {"cpu", "memory"} <= found:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and requests.keys() == limits.keys():
        if all(requests[k] == limits[k] for k in requests):
            return "Guaranteed"
    return "Burstable"


def _add_nonzero(totals: dict[str, Decimal], values: Obj) -> set[str]:
    found: set[str] = set()
    for name in ("cpu", "memory"):
        q = parse_quantity(values.get(name))
        if q is not None and q != 0:
            totals[name] = totals.get(name, Decimal(0)) + q
            found.add(name)
    return found


# --- update ------------------------------------------------------------------------


def validate_pod_spec_update(new: Obj, old: Obj) -> list[Cause]:
    """Only images, a shorter deadline, added tolerations, gate removal and a
    negative grace period turned into 1 may change on a live pod."""
    for key in ("containers", "initContainers"):
        if len(as_list(new.get(key))) != len(as_list(old.get(key))):
            return [field_forbidden(f"spec.{key}", "pod updates may not add or remove containers")]
    errs = _deadline_update(new.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds"))
    if errs:
        return errs
    errs = _tolerations_update(as_list(new.get("tolerations")), as_list(old.get("tolerations")))
    errs += _gates_update(as_list(new.get("schedulingGates")), as_list(old.get("schedulingGates")))
    if _munge(new, old) != old:
        errs.append(field_forbidden("spec", IMMUTABLE_SPEC_MSG))
    return errs


def _munge(new: Obj, old: Obj) -> Obj:
    """new with every field it may change set back to old's value."""
    munged = copy.deepcopy(new)
    for key in ("containers", "initContainers"):
        for ctr, old_ctr in zip(as_list(munged.get(key)), as_list(old.get(key)), strict=False):
            if isinstance(ctr, dict) and isinstance(old_ctr, dict):
                _set_or_drop(ctr, "image", old_ctr.get("image"))
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        _set_or_drop(munged, key, old.get(key))
    old_grace = old.get("terminationGracePeriodSeconds")
    if is_int(old_grace) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def _set_or_drop(obj: Obj, key: str, value: Any) -> None:
    if value is None:
        obj.pop(key, None)
    else:
        obj[key] = value


def _deadline_update(new: Any, old: Any) -> list[Cause]:
    path = "spec.activeDeadlineSeconds"
    if new is None:
        if old is not None:
            return [
                field_invalid(path, None, "must not update from a positive integer to nil value")
            ]
        return []
    if not is_int(new) or not 0 <= new <= MAX_INT32:
        return [field_invalid(path, new, f"must be between 0 and {MAX_INT32}, inclusive")]
    if old is not None and is_int(old) and old < new:
        return [field_invalid(path, new, "must be less than or equal to previous value")]
    return []


def _tolerations_update(new: list[Any], old: list[Any]) -> list[Cause]:
    def key(tol: Any) -> Any:
        return {k: v for k, v in as_dict(tol).items() if k != "tolerationSeconds"}

    new_keys = [key(t) for t in new]
    for tol in old:
        if key(tol) not in new_keys:
            return [
                field_forbidden(
                    "spec.tolerations",
                    "existing toleration can not be modified except its tolerationSeconds",
                )
            ]
    return []


def _gates_update(new: list[Any], old: list[Any]) -> list[Cause]:
    old_names = {as_dict(g).get("name") for g in old}
    for gate in new:
        name = as_dict(gate).get("name")
        if name not in old_names:
            return [
                field_forbidden(
                    "spec.schedulingGates",
                    f"only deletion is allowed, but found new scheduling gate '{name}'",
                )
            ]
    return []
