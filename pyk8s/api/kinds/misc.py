"""Smaller kinds: PersistentVolume(Claim), PodTemplate, PodDisruptionBudget,
ResourceQuota, Endpoints, EndpointSlice."""

from __future__ import annotations

from typing import Any

from pyk8s.api.kinds._base import KindStrategy, spec_of
from pyk8s.api.kinds._util import (
    Obj,
    as_dict,
    as_list,
    required_detail,
    set_default,
    validate_int_or_percent,
)
from pyk8s.api.kinds.podspec import default_pod_template, volume_source_keys
from pyk8s.api.kinds.podspec_validation import validate_pod_spec
from pyk8s.machinery.errors import (
    Cause,
    field_forbidden,
    field_invalid,
    field_required,
    field_unsupported,
)
from pyk8s.machinery.labelselector import validate_label_selector

ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
VOLUME_MODES = ["Block", "Filesystem"]
RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"]
PVC_IMMUTABLE_MSG = (
    "spec is immutable after creation except resources.requests and "
    "volumeAttributesClassName for bound claims"
)


# --- PersistentVolumeClaim ------------------------------------------------------------


def default_pvc_spec(spec: Obj) -> None:
    set_default(spec, "volumeMode", "Filesystem")


class PersistentVolumeClaimStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        default_pvc_spec(spec_of(obj))

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending"}

    def validate(self, obj: Obj) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        errs = _validate_access_modes(spec)
        requests = as_dict(as_dict(spec.get("resources")).get("requests"))
        if "storage" not in requests:
            errs.append(field_required("spec.resources[storage]"))
        errs += _validate_volume_mode(spec)
        if spec.get("selector") is not None:
            errs += validate_label_selector(spec["selector"], "spec.selector")
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
        if _pvc_frozen(new_spec, old_spec) != _pvc_frozen(old_spec, old_spec):
            return [field_forbidden("spec", PVC_IMMUTABLE_MSG)]
        return []


def _pvc_frozen(spec: Obj, old: Obj) -> dict[str, Any]:
    frozen = {k: v for k, v in spec.items() if k not in ("resources", "volumeAttributesClassName")}
    # The binder fills volumeName in once; that is not a user's spec change.
    if not old.get("volumeName"):
        frozen.pop("volumeName", None)
    return frozen


def _validate_access_modes(spec: Obj) -> list[Cause]:
    modes = as_list(spec.get("accessModes"))
    if not modes:
        return [required_detail("spec.accessModes", "at least 1 access mode is required")]
    return [
        field_unsupported("spec.accessModes", m, ACCESS_MODES)
        for m in modes
        if m not in ACCESS_MODES
    ]


def _validate_volume_mode(spec: Obj) -> list[Cause]:
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        return [field_unsupported("spec.volumeMode", mode, VOLUME_MODES)]
    return []


# --- PersistentVolume -----------------------------------------------------------------


class PersistentVolumeStrategy(KindStrategy):
    has_status = True
    namespaced = False

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        set_default(spec, "persistentVolumeReclaimPolicy", "Retain")
        set_default(spec, "volumeMode", "Filesystem")

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending"}

    def validate(self, obj: Obj) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        errs = _validate_access_modes(spec)
        if "storage" not in as_dict(spec.get("capacity")):
            errs.append(field_required("spec.capacity"))
        sources = volume_source_keys(spec) + [k for k in ("local",) if spec.get(k) is not None]
        if not sources:
            errs.append(required_detail("spec", "must specify a volume type"))
        policy = spec.get("persistentVolumeReclaimPolicy")
        if policy not in RECLAIM_POLICIES:
            errs.append(
                field_unsupported(
                    "spec.persistentVolumeReclaimPolicy", policy or "", RECLAIM_POLICIES
                )
            )
        errs += _validate_volume_mode(spec)
        return errs


# --- PodTemplate ----------------------------------------------------------------------


class PodTemplateStrategy(KindStrategy):
    def default(self, obj: Obj) -> None:
        default_pod_template(obj.get("template"))

    def validate(self, obj: Obj) -> list[Cause]:
        template = obj.get("template")
        if not isinstance(template, dict):
            return [field_required("template")]
        return validate_pod_spec(template.get("spec"), "template.spec")


# --- PodDisruptionBudget ----------------------------------------------------------------


class PodDisruptionBudgetStrategy(KindStrategy):
    has_status = True

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0,
        }

    def validate(self, obj: Obj) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        errs: list[Cause] = []
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            detail = "minAvailable and maxUnavailable cannot be both set"
            errs.append(field_invalid("spec", spec, detail))
        for key in ("minAvailable", "maxUnavailable"):
            if spec.get(key) is not None:
                errs += validate_int_or_percent(spec[key], f"spec.{key}", max_percent=True)
        if spec.get("selector") is not None:
            errs += validate_label_selector(spec["selector"], "spec.selector")
        return errs

    def generation_changed(self, new: Obj, old: Obj) -> bool:
        return new.get("spec") != old.get("spec")


# --- ResourceQuota, Endpoints, EndpointSlice -----------------------------------------


class ResourceQuotaStrategy(KindStrategy):
    has_status = True

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {}


class EndpointsStrategy(KindStrategy):
    def default(self, obj: Obj) -> None:
        for subset in as_list(obj.get("subsets")):
            for port in as_list(as_dict(subset).get("ports")):
                if isinstance(port, dict):
                    set_default(port, "protocol", "TCP")


class EndpointSliceStrategy(KindStrategy):
    ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]

    def default(self, obj: Obj) -> None:
        for port in as_list(obj.get("ports")):
            if isinstance(port, dict):
                set_default(port, "protocol", "TCP")
                port.setdefault("name", "")

    def validate(self, obj: Obj) -> list[Cause]:
        kind = obj.get("addressType")
        if kind not in self.ADDRESS_TYPES:
            return [field_unsupported("addressType", kind or "", self.ADDRESS_TYPES)]
        return []
