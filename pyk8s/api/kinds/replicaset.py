"""apps/v1 ReplicaSet and core/v1 ReplicationController."""

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
from pyk8s.api.kinds.podspec import default_pod_template
from pyk8s.machinery.errors import Cause, field_required
from pyk8s.machinery.validation import validate_labels


class ReplicaSetStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        default_pod_template(spec.get("template"))

    def initial_status(self, obj: Obj) -> None:
        # Upstream starts a replica set at replicas 0 (a non-omitempty field).
        obj["status"] = {"replicas": 0}

    def validate(self, obj: Obj) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        errs = validate_counts(spec, "replicas", "minReadySeconds")
        # Upstream's ReplicaSet message says "deployment" too.
        errs += validate_selector(spec, "deployment")
        errs += validate_long_running_template(spec)
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return selector_immutable(new, old)

    def generation_changed(self, new: Obj, old: Obj) -> bool:
        return generation_changed_spec_only(new, old)


class ReplicationControllerStrategy(KindStrategy):
    """core/v1: the selector is a plain map, defaulted (with labels) from the template."""

    has_status = True

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        template = spec.get("template")
        labels = as_dict(as_dict(as_dict(template).get("metadata")).get("labels"))
        if labels:
            if not spec.get("selector"):
                spec["selector"] = dict(labels)
            meta = obj.setdefault("metadata", {})
            if not meta.get("labels"):
                meta["labels"] = dict(labels)
        default_pod_template(template)

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {"replicas": 0}

    def validate(self, obj: Obj) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        errs = validate_counts(spec, "replicas", "minReadySeconds")
        selector = spec.get("selector")
        if not selector:
            errs.append(field_required("spec.selector"))
        else:
            errs += validate_labels(selector, "spec.selector")
        # Express the map selector as a LabelSelector to reuse the template checks.
        as_label_selector = dict(spec, selector={"matchLabels": selector} if selector else None)
        errs += validate_long_running_template(as_label_selector)
        return errs

    def generation_changed(self, new: Obj, old: Obj) -> bool:
        return generation_changed_spec_only(new, old)
