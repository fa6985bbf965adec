"""Generate `pyk8s/api/data/schema.json` from the official Python client's models.

The client's ~850 pydantic models list every field of every built-in type, but
importing them all costs about a second, so this runs at development time and
the server loads the compact snapshot instead:

    python -m pyk8s.api.gen_schema            # rewrite the snapshot
    python -m pyk8s.api.gen_schema --check    # exit 1 if it is stale

What the client lost from upstream's OpenAPI is put back from small tables of
upstream facts below: which Go package a type lives in (definition names),
IntOrString / Quantity / MicroTime fields, and int64 vs int32 formats.
Patch strategies are not baked in: `mergekeys.py` applies them at load time.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

import orjson

SNAPSHOT = Path(__file__).parent / "data" / "schema.json"

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
INTSTR = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
TIME = META + "Time"
MICROTIME = META + "MicroTime"
FIELDSV1 = META + "FieldsV1"
RAWEXT = "io.k8s.apimachinery.pkg.runtime.RawExtension"
PATCH = META + "Patch"

# Types of k8s.io/apimachinery/pkg/apis/meta/v1 that the client names V1<Name>.
META_TYPES = {
    "APIGroup",
    "APIGroupList",
    "APIResource",
    "APIResourceList",
    "APIVersions",
    "Condition",
    "DeleteOptions",
    "FieldSelectorRequirement",
    "GroupVersionForDiscovery",
    "GroupVersionKind",
    "LabelSelector",
    "LabelSelectorRequirement",
    "ListMeta",
    "ManagedFieldsEntry",
    "ObjectMeta",
    "OwnerReference",
    "Preconditions",
    "ServerAddressByClientCIDR",
    "ShardInfo",
    "Status",
    "StatusCause",
    "StatusDetails",
    "WatchEvent",
}

# Go package of a type that no resource of its own group reaches (subresource
# bodies), or that several groups reach: model name -> API group.
GROUP_OVERRIDES = {
    "V1Scale": "autoscaling",
    "V1ScaleSpec": "autoscaling",
    "V1ScaleStatus": "autoscaling",
    "V1Eviction": "policy",
    "V1Binding": "",
    "V1TokenRequestSpec": "authentication.k8s.io",
    "V1TokenRequestStatus": "authentication.k8s.io",
    "V1BoundObjectReference": "authentication.k8s.io",
    "V1alpha3TopologyConstraint": "scheduling.k8s.io",
}
# Aggregated discovery documents (served at /api and /apis, no resource path).
GROUP_OVERRIDES.update(
    {
        f"{v}{k}": "apidiscovery.k8s.io"
        for v in ("V2", "V2beta1")
        for k in (
            "APIGroupDiscovery",
            "APIGroupDiscoveryList",
            "APIResourceDiscovery",
            "APISubresourceDiscovery",
            "APIVersionDiscovery",
        )
    }
)

# API group -> Go package path prefix of its definitions.
SPECIAL_PACKAGES = {
    "": "io.k8s.api.core",
    "apidiscovery.k8s.io": "io.k8s.api.apidiscovery",
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    "apiregistration.k8s.io": "io.k8s.kube-aggregator.pkg.apis.apiregistration",
    "internal.apiserver.k8s.io": "io.k8s.api.apiserverinternal",
    "rbac.authorization.k8s.io": "io.k8s.api.rbac",
}

# Fields typed "object" by the client that upstream types as IntOrString.
INT_OR_STRING = {
    ("V1HTTPGetAction", "port"),
    ("V1TCPSocketAction", "port"),
    ("V1NetworkPolicyPort", "port"),
    ("V1PodDisruptionBudgetSpec", "maxUnavailable"),
    ("V1PodDisruptionBudgetSpec", "minAvailable"),
    ("V1RollingUpdateDaemonSet", "maxSurge"),
    ("V1RollingUpdateDaemonSet", "maxUnavailable"),
    ("V1RollingUpdateDeployment", "maxSurge"),
    ("V1RollingUpdateDeployment", "maxUnavailable"),
    ("V1RollingUpdateStatefulSetStrategy", "maxUnavailable"),
    ("V1ServicePort", "targetPort"),
}

# Other "object" fields with a named upstream type.
OBJECT_REFS = {
    ("V1ManagedFieldsEntry", "fieldsV1"): FIELDSV1,
    ("V1ControllerRevision", "data"): RAWEXT,
    ("V1WatchEvent", "object"): RAWEXT,
}

# Fields the client types as str / dict(str, str) that upstream types as Quantity.
QUANTITY_FIELDS = {
    "V1ResourceRequirements": ("limits", "requests"),
    "V1VolumeResourceRequirements": ("limits", "requests"),
    "V1NodeStatus": ("allocatable", "capacity"),
    "V1PersistentVolumeSpec": ("capacity",),
    "V1PersistentVolumeClaimStatus": ("allocatedResources", "capacity"),
    "V1ResourceQuotaSpec": ("hard",),
    "V1ResourceQuotaStatus": ("hard", "used"),
    "V1LimitRangeItem": ("default", "defaultRequest", "max", "maxLimitRequestRatio", "min"),
    "V1PodSpec": ("overhead",),
    "V1ContainerStatus": ("allocatedResources",),
    "V1EmptyDirVolumeSource": ("sizeLimit",),
    "V1ResourceFieldSelector": ("divisor",),
    "V1Overhead": ("podFixed",),
    "V1CSIStorageCapacity": ("capacity", "maximumVolumeSize"),
    "V2MetricTarget": ("averageValue", "value"),
    "V2MetricValueStatus": ("averageValue", "value"),
}

# datetime fields that upstream types as MicroTime rather than Time.
MICROTIME_FIELDS = {
    ("CoreV1Event", "eventTime"),
    ("CoreV1EventSeries", "lastObservedTime"),
    ("EventsV1Event", "eventTime"),
    ("EventsV1EventSeries", "lastObservedTime"),
    ("V1LeaseSpec", "acquireTime"),
    ("V1LeaseSpec", "renewTime"),
    ("V1alpha2LeaseCandidateSpec", "pingTime"),
    ("V1alpha2LeaseCandidateSpec", "renewTime"),
    ("V1beta1LeaseCandidateSpec", "pingTime"),
    ("V1beta1LeaseCandidateSpec", "renewTime"),
}

# Integer fields that are int64 upstream (all other integers are int32).
INT64_FIELDS = {
    "activeDeadlineSeconds",
    "deletionGracePeriodSeconds",
    "expirationSeconds",
    "fsGroup",
    "generation",
    "gid",
    "gracePeriodSeconds",
    "observedGeneration",
    "remainingItemCount",
    "revision",
    "runAsGroup",
    "runAsUser",
    "sizeBytes",
    "startingDeadlineSeconds",
    "supplementalGroups",
    "terminationGracePeriodSeconds",
    "tolerationSeconds",
    "uid",
}

# Required fields where the client's models differ from upstream's OpenAPI
# (the client makes some kinds' spec mandatory; upstream never does).
REQUIRED_OVERRIDES = {
    "V1Deployment": [],
    "V1ReplicaSet": [],
    "V1DaemonSet": [],
    "V1StatefulSet": [],
    "V1CronJob": [],
    "V1ControllerRevision": ["revision"],
    "V1EndpointSlice": ["addressType", "endpoints"],
}

SYNTHETIC = {
    INTSTR: {
        "description": "IntOrString holds either an int32 or a string; a field of this type "
        "accepts a JSON number or a JSON string.",
        "type": "int-or-string",
    },
    QUANTITY: {
        "description": "Quantity is a fixed-point number with an optional suffix (binary "
        "Ki, Mi, Gi... or decimal m, k, M, G...), written as a string such as "
        '"500m" or "1Gi"; plain numbers are accepted too.',
        "type": "quantity",
    },
    TIME: {
        "description": "Time is a timestamp serialised as an RFC 3339 string with second "
        "precision.",
        "type": "time",
    },
    MICROTIME: {
        "description": "MicroTime is a timestamp serialised as an RFC 3339 string with "
        "microsecond precision.",
        "type": "time",
    },
    FIELDSV1: {
        "description": "FieldsV1 is a set of field paths stored as a JSON trie, used by "
        "managed fields.",
        "type": "any",
    },
    RAWEXT: {
        "description": "RawExtension holds an embedded object of any kind as raw JSON.",
        "type": "any",
    },
    PATCH: {
        "description": "Patch names the body of a PATCH request; its format depends on the "
        "request's Content-Type.",
        "type": "object",
    },
}

_NAME = re.compile(r"^([A-Z][a-z]+)?V(\d+)((?:alpha|beta)\d+)?([A-Z]\w*)$")
# A resource's own path (no subresource): collection or item, any scope.
_RESOURCE_PATH = re.compile(
    r"^/apis?/(?:([^/{}]+)/)?(v\d\w*)/(?:namespaces/\{namespace\}/)?[a-z0-9]+(?:/\{name\})?$"
)


def _models() -> dict[str, type]:
    mod = importlib.import_module("kubernetes.client.models")
    return {n: getattr(mod, n) for n in mod.__all__ if hasattr(getattr(mod, n), "openapi_types")}


def _api_roots() -> dict[str, set[str]]:
    """Model name -> API groups whose resource paths return it (kinds and lists)."""
    api_pkg = importlib.import_module("kubernetes.client.api")
    roots: dict[str, set[str]] = {}
    for info in pkgutil.iter_modules(api_pkg.__path__):
        src = inspect.getsource(importlib.import_module(f"{api_pkg.__name__}.{info.name}"))
        bodies = dict(re.findall(r"\n    def (\w+)\((.*?)(?=\n    def |\Z)", src, re.S))
        for name, body in bodies.items():
            ser = bodies.get(f"_{name}_serialize", "")
            path = re.search(r"resource_path='([^']+)'", ser)
            resp = re.search(r"'200': \"(\w+)\"", body)
            if not (path and resp):
                continue
            m = _RESOURCE_PATH.match(path.group(1))
            if m:
                roots.setdefault(resp.group(1), set()).add(m.group(1) or "")
    return roots


def _refs(type_str: str) -> list[str]:
    return re.findall(r"\b((?:[A-Z][a-z]+)?V\d\w*)\b", type_str)


def _reach(models: dict[str, type], roots: dict[str, set[str]]) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for root, gs in roots.items():
        stack = [root]
        seen: set[str] = set()
        while stack:
            n = stack.pop()
            if n in seen or n not in models:
                continue
            seen.add(n)
            groups.setdefault(n, set()).update(gs)
            for t in models[n].openapi_types.values():
                stack.extend(_refs(t))
    return groups


def _package(group: str) -> str:
    if group in SPECIAL_PACKAGES:
        return SPECIAL_PACKAGES[group]
    return "io.k8s.api." + group.split(".")[0]


def _prefix_group(prefix: str) -> str:
    low = prefix.lower()
    return {
        "core": "",
        "apiextensions": "apiextensions.k8s.io",
        "apiregistration": "apiregistration.k8s.io",
        "rbac": "rbac.authorization.k8s.io",
    }.get(low, low)


def definition_names(models: dict[str, type]) -> dict[str, str]:
    """Client model name -> upstream OpenAPI definition name."""
    reach = _reach(models, _api_roots())
    out = {"VersionInfo": "io.k8s.apimachinery.pkg.version.Info"}
    for name in models:
        m = _NAME.match(name)
        if not m:
            continue
        prefix, major, stage, short = m.groups()
        version = f"v{major}{stage or ''}"
        if not prefix and version == "v1" and short in META_TYPES:
            out[name] = META + short
            continue
        if prefix:
            group = _prefix_group(prefix)
        elif name in GROUP_OVERRIDES:
            group = GROUP_OVERRIDES[name]
        else:
            gs = reach.get(name, set())
            if "" in gs:
                group = ""
            elif len(gs) == 1:
                group = next(iter(gs))
            else:
                # Unreached or shared helper types: skipped rather than guessed.
                continue
        out[name] = f"{_package(group)}.{version}.{short}"
    return out


def _field(owner: str, json_name: str, type_str: str, names: dict[str, str]) -> dict[str, Any]:
    """One property in the snapshot's compact JSON-schema form."""
    if type_str.startswith("List["):
        return {"type": "array", "items": _field(owner, json_name, type_str[5:-1], names)}
    if type_str.startswith("Dict[str, "):
        return {"type": "map", "items": _field(owner, json_name, type_str[10:-1], names)}
    if json_name in QUANTITY_FIELDS.get(owner, ()):
        return {"ref": QUANTITY}
    if type_str == "object":
        if (owner, json_name) in INT_OR_STRING:
            return {"ref": INTSTR}
        if (owner, json_name) in OBJECT_REFS:
            return {"ref": OBJECT_REFS[(owner, json_name)]}
        return {"type": "any"}
    if type_str == "datetime":
        return {"ref": MICROTIME if (owner, json_name) in MICROTIME_FIELDS else TIME}
    scalar = {
        "str": {"type": "string"},
        "bool": {"type": "boolean"},
        "float": {"type": "number", "format": "double"},
        "bytes": {"type": "string", "format": "byte"},
        "int": {"type": "integer", "format": "int64" if json_name in INT64_FIELDS else "int32"},
    }
    if type_str in scalar:
        return dict(scalar[type_str])
    if type_str in names:
        return {"ref": names[type_str]}
    return {"type": "any"}


def _definition(name: str, model: type, names: dict[str, str]) -> dict[str, Any]:
    doc = (model.__doc__ or "").split("Attributes:")[0]
    props: dict[str, Any] = {}
    required = []
    for attr, type_str in model.openapi_types.items():
        json_name = model.attribute_map[attr]
        prop = _field(name, json_name, type_str, names)
        info = model.model_fields.get(attr)
        if info is not None and info.description:
            prop["description"] = info.description
        if info is not None and info.is_required():
            required.append(json_name)
        props[json_name] = prop
    required = REQUIRED_OVERRIDES.get(name, required)
    out: dict[str, Any] = {"description": " ".join(doc.split()), "type": "object"}
    out["properties"] = props
    if required:
        out["required"] = required
    return out


def _check_tables(models: dict[str, type]) -> None:
    """Every upstream fact above must name a field the client has: catches typos and renames."""
    pairs = set(INT_OR_STRING) | set(OBJECT_REFS) | MICROTIME_FIELDS
    pairs |= {(m, f) for m, fields in QUANTITY_FIELDS.items() for f in fields}
    pairs |= {(m, f) for m, fields in REQUIRED_OVERRIDES.items() for f in fields}
    for model, field in sorted(pairs):
        if field not in models[model].attribute_map.values():
            raise ValueError(f"{model} has no field {field!r}")


def build() -> dict[str, Any]:
    import kubernetes

    models = _models()
    _check_tables(models)
    names = definition_names(models)
    defs: dict[str, Any] = {k: dict(v) for k, v in SYNTHETIC.items()}
    for model_name, def_name in names.items():
        defs[def_name] = _definition(model_name, models[model_name], names)
    return {
        "client_version": kubernetes.__version__,
        "models": {v: k for k, v in names.items()},
        "definitions": dict(sorted(defs.items())),
    }


def render(data: dict[str, Any]) -> bytes:
    """One definition per line: small diffs when the client is upgraded."""
    opts = orjson.OPT_SORT_KEYS
    lines = [
        b'{"client_version":' + orjson.dumps(data["client_version"]) + b",",
        b'"models":' + orjson.dumps(data["models"], option=opts) + b",",
        b'"definitions":{',
    ]
    defs = list(data["definitions"].items())
    for i, (k, v) in enumerate(defs):
        sep = b"," if i < len(defs) - 1 else b""
        lines.append(orjson.dumps(k) + b":" + orjson.dumps(v, option=opts) + sep)
    lines.append(b"}}")
    return b"\n".join(lines) + b"\n"


def main(argv: list[str]) -> int:
    data = render(build())
    if "--check" in argv:
        current = SNAPSHOT.read_bytes() if SNAPSHOT.exists() else b""
        return 0 if current == data else 1
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
