"""The OpenAPI v3 schemas a custom resource version publishes, as upstream builds
them from the CRD: the version's openAPIV3Schema with apiVersion, kind and
metadata (ObjectMeta) filled in, x-kubernetes-group-version-kind, and a List kind.

kubectl reads them for `create -f` / `apply -f` (the PATCH operation's GVK and
fieldValidation parameter come from the resource table's paths) and `explain`.
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.api.schema import META

V3_REF = "#/components/schemas/"
API_VERSION_DESC = (
    "APIVersion defines the versioned schema of this representation of an object. "
    "Servers should convert recognized schemas to the latest internal value, and may "
    "reject unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
KIND_DESC = (
    "Kind is a string value representing the REST resource this object represents. "
    "Servers may infer this from the endpoint the client submits requests to. Cannot be "
    "updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
METADATA_DESC = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
LIST_METADATA_DESC = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)


def definition_name(group: str, version: str, kind: str) -> str:
    """Upstream's name for a CR definition: the group reversed, `com.example.v1.MyApp`."""
    return ".".join([*reversed(group.split(".")), version, kind])


def _ref(name: str) -> dict[str, Any]:
    return {"allOf": [{"$ref": V3_REF + name}]}


def kind_schema(schema: dict[str, Any] | None, group: str, version: str, kind: str) -> dict:
    out = copy.deepcopy(schema) if schema else {"type": "object"}
    if not schema:
        out["x-kubernetes-preserve-unknown-fields"] = True
    props = out.setdefault("properties", {})
    props["apiVersion"] = {"description": API_VERSION_DESC, "type": "string"}
    props["kind"] = {"description": KIND_DESC, "type": "string"}
    props["metadata"] = {**_ref(META + "ObjectMeta"), "description": METADATA_DESC}
    out["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return out


def list_schema(group: str, version: str, kind: str, list_kind: str) -> dict[str, Any]:
    return {
        "description": f"{list_kind} is a list of {kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": API_VERSION_DESC, "type": "string"},
            "items": {
                "description": f"List of {kind.lower()}s. More info: "
                "https://git.k8s.io/community/contributors/devel/api-conventions.md",
                "type": "array",
                "items": {"$ref": V3_REF + definition_name(group, version, kind)},
            },
            "kind": {"description": KIND_DESC, "type": "string"},
            "metadata": {**_ref(META + "ListMeta"), "description": LIST_METADATA_DESC},
        },
        "x-kubernetes-group-version-kind": [
            {"group": group, "kind": list_kind, "version": version}
        ],
    }


def schemas_for_version(
    schema: dict[str, Any] | None, group: str, version: str, kind: str, list_kind: str
) -> dict[str, dict[str, Any]]:
    """Definition name -> schema, for the kind and its list."""
    name = definition_name(group, version, kind)
    return {
        name: kind_schema(schema, group, version, kind),
        name + "List": list_schema(group, version, kind, list_kind),
    }
