"""apps/v1 DaemonSet."""

from __future__ import annotations

from pyk8s.api.kinds._base import KindStrategy, spec_of
from pyk8s.api.kinds._util import Obj, as_dict
from pyk8s.api.kinds._workload import (
    generation_changed_spec_only,
    selector_immutable,
    validate_counts,
    validate_long_running_template,
    validate_selector,
)
from pyk8s.api.kinds.deployment import validate_rolling_update
from pyk8s.api.kinds.podspec import default_pod_template
from pyk8s.machinery.errors import Cause, field_unsupported

UPDATE_TYPES = ["OnDelete", "RollingUpdate"]


class DaemonSetStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        strategy = spec.setdefault("updateStrategy", {})
        if isinstance(strategy, dict):
            if not strategy.get("type"):
                strategy["type"] = "RollingUpdate"
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.get("rollingUpdate")
                if not isinstance(rolling, dict):
                    rolling = strategy["rollingUpdate"] = {}
                rolling.setdefault("maxUnavailable", 1)
                rolling.setdefault("maxSurge", 0)
        if spec.get("revisionHistoryLimit") is None:
            spec["revisionHistoryLimit"] = 10
        default_pod_template(spec.get("template"))

    def initial_status(self, obj: Obj) -> None:
        # The four counts upstream always serializes.
        obj["status"] = {
            "currentNumberScheduled": 0,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 0,
            "numberReady": 0,
        }

    def validate(self, obj: Obj) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        errs = validate_selector(spec, "daemonset")
        errs += validate_long_running_template(spec, "DaemonSet")
        errs += validate_counts(spec, "minReadySeconds", "revisionHistoryLimit")
        errs += _validate_update_strategy(as_dict(spec.get("updateStrategy")))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return selector_immutable(new, old)

    def generation_changed(self, new: Obj, old: Obj) -> bool:
        return generation_changed_spec_only(new, old)


def _validate_update_strategy(strategy: Obj) -> list[Cause]:
    path = "spec.updateStrategy"
    kind = strategy.get("type")
    if kind not in UPDATE_TYPES:
        return [field_unsupported(f"{path}.type", kind or "", UPDATE_TYPES)]
    if kind == "OnDelete":
        return []
    return validate_rolling_update(as_dict(strategy.get("rollingUpdate")), f"{path}.rollingUpdate")
