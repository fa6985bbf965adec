"""core/v1 Node: registered by its kubelet with a status, so create keeps it."""

from __future__ import annotations

import copy

from pyk8s.api.kinds import _names
from pyk8s.api.kinds._base import KindStrategy
from pyk8s.api.kinds._util import Obj, as_dict, as_list, go_quote
from pyk8s.machinery.errors import (
    Cause,
    field_forbidden,
    field_invalid,
    field_required,
    field_unsupported,
)
from pyk8s.machinery.validation import is_valid_cidr

TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"]


class NodeStrategy(KindStrategy):
    has_status = True
    namespaced = False

    def default(self, obj: Obj) -> None:
        status = obj.get("status")
        if isinstance(status, dict) and status.get("allocatable") is None:
            if isinstance(status.get("capacity"), dict):
                status["allocatable"] = copy.deepcopy(status["capacity"])

    def prepare_for_create(self, obj: Obj) -> None:
        # Unlike most kinds, a node may be created with its status (the kubelet does).
        pass

    def validate(self, obj: Obj) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        errs = validate_taints(as_list(spec.get("taints")), "spec.taints")
        for i, cidr in enumerate(as_list(spec.get("podCIDRs"))):
            path = f"spec.podCIDRs[{i}]"
            errs += [field_invalid(path, cidr, m) for m in is_valid_cidr(str(cidr))]
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
        errs: list[Cause] = []
        old_cidrs = old_spec.get("podCIDRs") or []
        if old_cidrs and (new_spec.get("podCIDRs") or []) != old_cidrs:
            detail = 'node updates may not change podCIDR except from "" to valid'
            errs.append(field_forbidden("spec.podCIDRs", detail))
        if old_spec.get("providerID") and new_spec.get("providerID") != old_spec["providerID"]:
            detail = 'node updates may not change providerID except from "" to valid'
            errs.append(field_forbidden("spec.providerID", detail))
        return errs


def validate_taints(taints: list[object], path: str) -> list[Cause]:
    errs: list[Cause] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(taints):
        tpath = f"{path}[{i}]"
        taint = as_dict(taint)
        key, effect = taint.get("key") or "", taint.get("effect") or ""
        errs += _names.label_key(key, f"{tpath}.key")
        if taint.get("value"):
            errs += _names.label_value(taint["value"], f"{tpath}.value")
        if not effect:
            errs.append(field_required(f"{tpath}.effect"))
        elif effect not in TAINT_EFFECTS:
            errs.append(field_unsupported(f"{tpath}.effect", effect, TAINT_EFFECTS))
        if (key, effect) in seen:
            rendered = (
                f"core.Taint{{Key:{go_quote(key)}, Value:{go_quote(str(taint.get('value') or ''))}, "
                f"Effect:{go_quote(effect)}, TimeAdded:(*v1.Time)(nil)}}"
            )
            detail = "taints must be unique by key and effect pair"
            errs.append(
                Cause(tpath, "FieldValueDuplicate", f"Duplicate value: {rendered}: {detail}")
            )
        seen.add((key, effect))
    return errs
