"""apps/v1 StatefulSet."""

from __future__ import annotations

from typing import Any

from pyk8s.api.kinds._base import KindStrategy, spec_of
from pyk8s.api.kinds._util import Obj, as_dict, as_list, nonnegative
from pyk8s.api.kinds._workload import (
    generation_changed_spec_only,
    normalized_selector,
    validate_counts,
    validate_long_running_template,
    validate_selector,
)
from pyk8s.api.kinds.misc import default_pvc_spec
from pyk8s.api.kinds.podspec import default_pod_template
from pyk8s.machinery.errors import Cause, field_forbidden, field_required, field_unsupported

POD_MANAGEMENT = ["OrderedReady", "Parallel"]
UPDATE_TYPES = ["OnDelete", "RollingUpdate"]
RETENTION = ["Delete", "Retain"]
MUTABLE_SPEC = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
IMMUTABLE_MSG = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' "
    "and 'minReadySeconds' are forbidden"
)


class StatefulSetStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        if not spec.get("podManagementPolicy"):
            spec["podManagementPolicy"] = "OrderedReady"
        _default_update_strategy(spec)
        policy = spec.get("persistentVolumeClaimRetentionPolicy")
        if not isinstance(policy, dict):
            policy = spec["persistentVolumeClaimRetentionPolicy"] = {}
        policy.setdefault("whenDeleted", "Retain")
        policy.setdefault("whenScaled", "Retain")
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        if spec.get("revisionHistoryLimit") is None:
            spec["revisionHistoryLimit"] = 10
        for claim in as_list(spec.get("volumeClaimTemplates")):
            if isinstance(claim, dict):
                _default_claim_template(claim)
        default_pod_template(spec.get("template"))

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {"replicas": 0, "availableReplicas": 0}

    def validate(self, obj: Obj) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        errs = validate_counts(spec, "replicas", "minReadySeconds", "revisionHistoryLimit")
        policy = spec.get("podManagementPolicy")
        if policy not in POD_MANAGEMENT:
            errs.append(field_unsupported("spec.podManagementPolicy", policy or "", POD_MANAGEMENT))
        errs += _validate_update_strategy(as_dict(spec.get("updateStrategy")))
        errs += _validate_retention(as_dict(spec.get("persistentVolumeClaimRetentionPolicy")))
        errs += validate_selector(spec, "statefulset")
        errs += validate_long_running_template(spec, "StatefulSet")
        for i, claim in enumerate(as_list(spec.get("volumeClaimTemplates"))):
            if not as_dict(as_dict(claim).get("metadata")).get("name"):
                errs.append(field_required(f"spec.volumeClaimTemplates[{i}].metadata.name"))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        if _frozen(as_dict(new.get("spec"))) != _frozen(as_dict(old.get("spec"))):
            return [field_forbidden("spec", IMMUTABLE_MSG)]
        return []

    def generation_changed(self, new: Obj, old: Obj) -> bool:
        return generation_changed_spec_only(new, old)


def _frozen(spec: Obj) -> dict[str, Any]:
    frozen = {k: v for k, v in spec.items() if k not in MUTABLE_SPEC}
    if "selector" in frozen:
        frozen["selector"] = normalized_selector(frozen["selector"])
    return {k: v for k, v in frozen.items() if v not in (None, [], {})}


def _default_update_strategy(spec: Obj) -> None:
    strategy = spec.setdefault("updateStrategy", {})
    if not isinstance(strategy, dict):
        return
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        if rolling.get("partition") is None:
            rolling["partition"] = 0


def _default_claim_template(claim: Obj) -> None:
    claim.setdefault("apiVersion", "v1")
    claim.setdefault("kind", "PersistentVolumeClaim")
    default_pvc_spec(claim.setdefault("spec", {}))
    status = claim.setdefault("status", {})
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = "Pending"


def _validate_update_strategy(strategy: Obj) -> list[Cause]:
    kind = strategy.get("type")
    if kind not in UPDATE_TYPES:
        return [field_unsupported("spec.updateStrategy.type", kind or "", UPDATE_TYPES)]
    rolling = strategy.get("rollingUpdate")
    if kind == "OnDelete" and rolling is not None:
        detail = "only allowed for updateStrategy 'RollingUpdate'"
        return [field_forbidden("spec.updateStrategy.rollingUpdate", detail)]
    path = "spec.updateStrategy.rollingUpdate.partition"
    return nonnegative(as_dict(rolling).get("partition"), path)


def _validate_retention(policy: Obj) -> list[Cause]:
    errs: list[Cause] = []
    for key in ("whenDeleted", "whenScaled"):
        value = policy.get(key)
        if value not in RETENTION:
            path = f"spec.persistentVolumeClaimRetentionPolicy.{key}"
            errs.append(field_unsupported(path, value or "", RETENTION))
    return errs
