"""CustomResourceDefinition (apiextensions.k8s.io/v1): defaults, validation, status.

As upstream's CRD strategy: names default (singular, listKind), conversion defaults
to None, status is reset on create and kept on update, and the storage version is
recorded in status.storedVersions. Deleting a CRD first adds the
`customresourcecleanup.apiextensions.k8s.io` finalizer and a Terminating condition;
the CRD registry removes the custom resources, then the finalizer.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api.kinds import _names
from pyk8s.api.kinds._base import KindStrategy
from pyk8s.api.strategy import Obj
from pyk8s.apiextensions import jsonpath
from pyk8s.apiextensions.schema import structural_errors
from pyk8s.machinery import meta
from pyk8s.machinery.errors import (
    Cause,
    field_duplicate,
    field_immutable,
    field_invalid,
    field_required,
    field_unsupported,
)

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
SCOPES = ["Cluster", "Namespaced"]
COLUMN_TYPES = ["integer", "number", "string", "boolean", "date"]


def storage_version(crd: Obj) -> str:
    """The version marked `storage: true` ("" when none is)."""
    for v in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(v, dict) and v.get("storage"):
            return str(v.get("name", ""))
    return ""


def set_condition(crd: Obj, ctype: str, status: str, reason: str, message: str) -> None:
    """Set one status condition; lastTransitionTime moves only when the status changes."""
    conds = crd.setdefault("status", {}).setdefault("conditions", [])
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = meta.now_rfc3339()
            c.update(status=status, reason=reason, message=message)
            return
    conds.append(
        {
            "type": ctype,
            "status": status,
            "lastTransitionTime": meta.now_rfc3339(),
            "reason": reason,
            "message": message,
        }
    )


def _record_storage_version(crd: Obj) -> None:
    stored = crd.setdefault("status", {}).setdefault("storedVersions", [])
    version = storage_version(crd)
    if version and version not in stored:
        stored.append(version)


class CustomResourceDefinitionStrategy(KindStrategy):
    namespaced = False
    has_status = True

    def default(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        names = spec.get("names")
        if isinstance(names, dict) and names.get("kind"):
            names.setdefault("singular", str(names["kind"]).lower())
            names.setdefault("listKind", f"{names['kind']}List")
        conversion = spec.setdefault("conversion", {"strategy": "None"})
        if isinstance(conversion, dict):
            conversion.setdefault("strategy", "None")

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}
        _record_storage_version(obj)
        obj["status"].setdefault("acceptedNames", {"kind": "", "plural": ""})
        obj["status"]["conditions"] = []

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        _record_storage_version(new)

    def prepare_for_delete(self, obj: Obj) -> None:
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if CLEANUP_FINALIZER not in finalizers:
            finalizers.append(CLEANUP_FINALIZER)
        set_condition(
            obj,
            "Terminating",
            "True",
            "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        )

    def validate(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [field_required("spec")]
        causes = _validate_group_and_name(obj, spec)
        causes += _validate_names(spec.get("names"), "spec.names")
        scope = spec.get("scope")
        if not scope:
            causes.append(field_required("spec.scope"))
        elif scope not in SCOPES:
            causes.append(field_unsupported("spec.scope", scope, SCOPES))
        causes += _validate_versions(spec)
        strategy = (spec.get("conversion") or {}).get("strategy")
        if strategy not in ("None", "Webhook"):
            causes.append(
                field_unsupported("spec.conversion.strategy", strategy, ["None", "Webhook"])
            )
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = []
        nspec, ospec = new.get("spec") or {}, old.get("spec") or {}
        for f in ("group", "scope"):
            if nspec.get(f) != ospec.get(f):
                causes.append(field_immutable(f"spec.{f}", nspec.get(f)))
        return causes


def _validate_group_and_name(obj: Obj, spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    group = spec.get("group")
    if not group:
        causes.append(field_required("spec.group"))
    else:
        causes += _names.dns1123_subdomain(group, "spec.group")
        if "." not in str(group):
            causes.append(
                field_invalid("spec.group", group, "should be a domain with at least one dot")
            )
    name = (obj.get("metadata") or {}).get("name", "")
    plural = (spec.get("names") or {}).get("plural", "")
    if name != f"{plural}.{group}":
        causes.append(
            field_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
        )
    return causes


def _validate_names(names: Any, path: str) -> list[Cause]:
    if not isinstance(names, dict):
        return [field_required(path)]
    causes: list[Cause] = []
    for f in ("plural", "singular", "kind", "listKind"):
        value = names.get(f)
        if not value:
            causes.append(field_required(f"{path}.{f}"))
        elif f in ("plural", "singular"):
            causes += _names.dns1035_label(value, f"{path}.{f}")
        elif _names.dns1035_label(str(value).lower(), f"{path}.{f}"):
            causes.append(
                field_invalid(
                    f"{path}.{f}",
                    value,
                    "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?",
                )
            )
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        causes.append(
            field_invalid(
                f"{path}.listKind", names["listKind"], "kind and listKind must be different"
            )
        )
    for i, short in enumerate(names.get("shortNames") or []):
        causes += _names.dns1035_label(short, f"{path}.shortNames[{i}]")
    for i, cat in enumerate(names.get("categories") or []):
        causes += _names.dns1035_label(cat, f"{path}.categories[{i}]")
    return causes


def _validate_versions(spec: Obj) -> list[Cause]:
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        return [
            field_invalid(
                "spec.versions",
                versions or [],
                "must have exactly one version marked as storage version",
            )
        ]
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, v in enumerate(versions):
        path = f"spec.versions[{i}]"
        if not isinstance(v, dict):
            causes.append(field_invalid(path, v, "must be an object"))
            continue
        name = v.get("name")
        if not name:
            causes.append(field_required(f"{path}.name"))
        else:
            causes += _names.dns1035_label(name, f"{path}.name")
            if name in seen:
                causes.append(field_duplicate(f"{path}.name", name))
            seen.add(name)
        causes += _validate_version(v, path)
    if sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
        causes.append(
            field_invalid(
                "spec.versions", versions, "must have exactly one version marked as storage version"
            )
        )
    return causes


def _validate_version(v: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    schema = (v.get("schema") or {}).get("openAPIV3Schema")
    if schema is None:
        causes.append(
            Cause(
                f"{path}.schema.openAPIV3Schema",
                "FieldValueRequired",
                "Required value: schemas are required",
            )
        )
    else:
        causes += structural_errors(schema, f"{path}.schema.openAPIV3Schema")
    subs = v.get("subresources") or {}
    scale = subs.get("scale")
    if isinstance(scale, dict):
        spath = f"{path}.subresources.scale"
        for f, prefix in (("specReplicasPath", ".spec."), ("statusReplicasPath", ".status.")):
            value = scale.get(f)
            if not value:
                causes.append(field_required(f"{spath}.{f}"))
            elif not str(value).startswith(prefix):
                causes.append(
                    field_invalid(f"{spath}.{f}", value, f"should be a json path under {prefix}")
                )
    for i, col in enumerate(v.get("additionalPrinterColumns") or []):
        causes += _validate_column(col, f"{path}.additionalPrinterColumns[{i}]")
    return causes


def _validate_column(col: Any, path: str) -> list[Cause]:
    if not isinstance(col, dict):
        return [field_invalid(path, col, "must be an object")]
    causes: list[Cause] = []
    if not col.get("name"):
        causes.append(field_required(f"{path}.name"))
    if not col.get("type"):
        causes.append(field_required(f"{path}.type"))
    elif col["type"] not in COLUMN_TYPES:
        causes.append(field_unsupported(f"{path}.type", col["type"], COLUMN_TYPES))
    if not col.get("jsonPath"):
        causes.append(field_required(f"{path}.jsonPath"))
    else:
        try:
            jsonpath.parse(col["jsonPath"])
        except jsonpath.JSONPathError as e:
            causes.append(
                field_invalid(
                    f"{path}.jsonPath", col["jsonPath"], f"must be a simple json path: {e}"
                )
            )
    return causes
