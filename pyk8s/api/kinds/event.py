"""core/v1 Event and events.k8s.io/v1 Event."""

from __future__ import annotations

from pyk8s.api.kinds._base import KindStrategy
from pyk8s.api.kinds._util import Obj, as_dict
from pyk8s.machinery.errors import Cause, field_invalid, field_required, field_unsupported

EVENT_TYPES = ["Normal", "Warning"]


class EventStrategy(KindStrategy):
    """core/v1: the involved object must live in the event's namespace."""

    def validate(self, obj: Obj) -> list[Cause]:
        namespace = as_dict(obj.get("metadata")).get("namespace") or ""
        involved = as_dict(obj.get("involvedObject"))
        errs: list[Cause] = []
        target_ns = involved.get("namespace") or ""
        # Cluster-scoped objects' events go to "default"; any other mismatch is an error.
        if target_ns and target_ns != namespace:
            detail = "does not match event.namespace"
            errs.append(field_invalid("involvedObject.namespace", target_ns, detail))
        kind = obj.get("type")
        if kind and kind not in EVENT_TYPES:
            errs.append(field_unsupported("type", kind, EVENT_TYPES))
        return errs


class EventsV1Strategy(KindStrategy):
    """events.k8s.io/v1: the new-style fields are required."""

    def validate(self, obj: Obj) -> list[Cause]:
        errs: list[Cause] = []
        for key in ("eventTime", "reportingController", "reportingInstance", "action", "reason"):
            if not obj.get(key):
                errs.append(field_required(key))
        kind = obj.get("type")
        if not kind:
            errs.append(field_required("type"))
        elif kind not in EVENT_TYPES:
            errs.append(field_unsupported("type", kind, EVENT_TYPES))
        return errs
