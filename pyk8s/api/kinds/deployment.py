"""apps/v1 Deployment (upstream apps/v1 SetDefaults_Deployment, ValidateDeployment)."""

from __future__ import annotations

from pyk8s.api.kinds._base import KindStrategy, spec_of
from pyk8s.api.kinds._util import (
    Obj,
    as_dict,
    go_int_or_string,
    int_or_percent_value,
    invalid_rendered,
    is_int,
    nonnegative,
    validate_int_or_percent,
)
from pyk8s.api.kinds._workload import (
    selector_immutable,
    validate_counts,
    validate_long_running_template,
    validate_selector,
)
from pyk8s.api.kinds.podspec import default_pod_template
from pyk8s.machinery.errors import Cause, field_forbidden, field_invalid, field_unsupported

STRATEGY_TYPES = ["Recreate", "RollingUpdate"]


class DeploymentStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        strategy = spec.setdefault("strategy", {})
        if isinstance(strategy, dict):
            if not strategy.get("type"):
                strategy["type"] = "RollingUpdate"
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.get("rollingUpdate")
                if not isinstance(rolling, dict):
                    rolling = strategy["rollingUpdate"] = {}
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
        if spec.get("revisionHistoryLimit") is None:
            spec["revisionHistoryLimit"] = 10
        if spec.get("progressDeadlineSeconds") is None:
            spec["progressDeadlineSeconds"] = 600
        default_pod_template(spec.get("template"))

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {}

    def validate(self, obj: Obj) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        errs = validate_counts(spec, "replicas")
        errs += validate_selector(spec, "deployment")
        errs += validate_long_running_template(spec)
        errs += validate_rollout_strategy(as_dict(spec.get("strategy")), "spec.strategy")
        errs += validate_counts(spec, "minReadySeconds", "revisionHistoryLimit")
        errs += _validate_progress_deadline(spec)
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return selector_immutable(new, old)

    def generation_changed(self, new: Obj, old: Obj) -> bool:
        # Annotations are copied to the replica sets, so they count as a change too.
        new_ann = as_dict(new.get("metadata")).get("annotations") or {}
        old_ann = as_dict(old.get("metadata")).get("annotations") or {}
        return new.get("spec") != old.get("spec") or new_ann != old_ann


def validate_rollout_strategy(strategy: Obj, path: str) -> list[Cause]:
    kind = strategy.get("type")
    if kind not in STRATEGY_TYPES:
        return [field_unsupported(f"{path}.type", kind or "", STRATEGY_TYPES)]
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            detail = "may not be specified when strategy `type` is 'Recreate'"
            return [field_forbidden(f"{path}.rollingUpdate", detail)]
        return []
    return validate_rolling_update(as_dict(rolling), f"{path}.rollingUpdate")


def validate_rolling_update(rolling: Obj, path: str) -> list[Cause]:
    """maxSurge/maxUnavailable: int or percent, not both 0, maxUnavailable <= 100%."""
    surge, unavailable = rolling.get("maxSurge"), rolling.get("maxUnavailable")
    errs = validate_int_or_percent(unavailable, f"{path}.maxUnavailable", max_percent=True)
    errs += validate_int_or_percent(surge, f"{path}.maxSurge")
    if errs:
        return errs
    if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
        errs.append(
            invalid_rendered(
                f"{path}.maxUnavailable",
                go_int_or_string(unavailable),
                "may not be 0 when `maxSurge` is 0",
            )
        )
    return errs


def _validate_progress_deadline(spec: Obj) -> list[Cause]:
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is None:
        return []
    errs = nonnegative(deadline, "spec.progressDeadlineSeconds")
    min_ready = spec.get("minReadySeconds") or 0
    if not errs and is_int(deadline) and is_int(min_ready) and deadline <= min_ready:
        errs.append(
            field_invalid(
                "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
            )
        )
    return errs
