"""The type schema of every built-in kind, derived from the official client's models.

`data/schema.json` is a snapshot of the client's models (see `gen_schema.py`),
with upstream's definition names and the IntOrString / Quantity / Time types the
client flattens. On top of it this module offers:

- `SchemaNode`: navigation through a kind's fields, with upstream's patch
  strategies and merge keys (used by strategic merge patch and OpenAPI);
- strict field validation and pruning (`unknown_fields`, `prune`) and decode
  type checks (`type_errors`), with upstream's message texts.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson

from pyk8s.api import mergekeys
from pyk8s.machinery.errors import StatusError

SNAPSHOT = Path(__file__).parent / "data" / "schema.json"

META = "io.k8s.apimachinery.pkg.apis.meta.v1."

# API group -> Go package path of its definitions, where not io.k8s.api.<first label>.
_SPECIAL_PACKAGES = {
    "": "io.k8s.api.core",
    "apidiscovery.k8s.io": "io.k8s.api.apidiscovery",
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    "apiregistration.k8s.io": "io.k8s.kube-aggregator.pkg.apis.apiregistration",
    "internal.apiserver.k8s.io": "io.k8s.api.apiserverinternal",
    "rbac.authorization.k8s.io": "io.k8s.api.rbac",
    "meta.k8s.io": "io.k8s.apimachinery.pkg.apis.meta",
}

# Node types of the snapshot's named scalar definitions.
SCALAR_DEFINITION_TYPES = frozenset({"int-or-string", "quantity", "time", "any"})


def package_of_group(group: str) -> str:
    """`apps` -> `io.k8s.api.apps`; the core group is `io.k8s.api.core`."""
    if group in _SPECIAL_PACKAGES:
        return _SPECIAL_PACKAGES[group]
    return "io.k8s.api." + group.split(".")[0]


def definition_for_kind(group: str, version: str, kind: str) -> str:
    return f"{package_of_group(group)}.{version}.{kind}"


@functools.cache
def snapshot() -> dict[str, Any]:
    """The generated snapshot: client_version, models (definition -> model), definitions."""
    return orjson.loads(SNAPSHOT.read_bytes())


def definitions() -> dict[str, dict[str, Any]]:
    return snapshot()["definitions"]


def model_name(definition: str) -> str | None:
    """`io.k8s.api.apps.v1.Deployment` -> `V1Deployment` (the client's class)."""
    return snapshot()["models"].get(definition)


@functools.cache
def definition_of_model(model: str) -> str | None:
    """`V1Deployment` -> `io.k8s.api.apps.v1.Deployment`."""
    for definition, name in snapshot()["models"].items():
        if name == model:
            return definition
    return None


class SchemaNode:
    """One node of a type schema: a definition, or a field pointing at one.

    `type` is one of object, array, map, string, integer, number, boolean,
    int-or-string, quantity, time, any. `patch_strategy` and `patch_merge_key`
    describe the field that leads to this node (None for a bare definition).
    """

    __slots__ = (
        "type",
        "format",
        "definition",
        "description",
        "required",
        "patch_strategy",
        "patch_merge_key",
        "_raw",
        "_props",
        "_items",
    )

    def __init__(
        self,
        raw: dict[str, Any],
        patch_strategy: str | None = None,
        patch_merge_key: str | None = None,
    ) -> None:
        self._raw = raw
        self._props: dict[str, SchemaNode | None] = {}
        self._items: SchemaNode | None = None
        self.patch_strategy = patch_strategy
        self.patch_merge_key = patch_merge_key
        ref = raw.get("ref")
        target = definitions()[ref] if ref else None
        self.definition: str | None = ref
        self.type: str = (target or raw).get("type", "any")
        self.format: str | None = (target or raw).get("format")
        self.description: str = raw.get("description") or (target or {}).get("description", "")
        self.required: list[str] = list((target or {}).get("required", ()))

    @property
    def _properties(self) -> dict[str, Any]:
        if self.definition is None:
            return {}
        return definitions()[self.definition].get("properties", {})

    # Properties come before `property()`, which shadows the builtin in this class body.
    @property
    def items(self) -> SchemaNode | None:
        """Element node of an array, value node of a map."""
        if self._items is None and "items" in self._raw:
            self._items = SchemaNode(self._raw["items"])
        return self._items

    @property
    def short_name(self) -> str:
        """Last segment of the definition name: `Deployment`."""
        return (self.definition or "").rsplit(".", 1)[-1]

    def property_names(self) -> list[str]:
        return list(self._properties)

    def property(self, name: str) -> SchemaNode | None:
        if name in self._props:
            return self._props[name]
        raw = self._properties.get(name)
        node = None
        if raw is not None:
            strategy, key = mergekeys.patch_metadata(self.definition or "", name, _item_fields(raw))
            node = SchemaNode(raw, strategy, key)
        self._props[name] = node
        return node

    def __repr__(self) -> str:
        return f"SchemaNode({self.type}, {self.definition or ''})"


def _item_fields(raw: dict[str, Any]) -> frozenset[str] | None:
    items = raw.get("items") or {}
    ref = items.get("ref")
    if not ref:
        return None
    return frozenset(definitions()[ref].get("properties", {}))


@functools.cache
def schema_for(definition_name: str) -> SchemaNode:
    """The node of a definition, e.g. `io.k8s.api.apps.v1.Deployment` (KeyError if unknown)."""
    if definition_name not in definitions():
        raise KeyError(definition_name)
    return SchemaNode({"ref": definition_name})


def schema_for_kind(group: str, version: str, kind: str) -> SchemaNode | None:
    name = definition_for_kind(group, version, kind)
    return schema_for(name) if name in definitions() else None


def walk(node: SchemaNode, path: str) -> SchemaNode | None:
    """Follow a dotted field path (`spec.template.spec.containers.env`; lists step into items)."""
    cur: SchemaNode | None = node
    for part in path.split(".") if path else []:
        while cur is not None and cur.type in ("array", "map"):
            cur = cur.items
        cur = cur.property(part) if cur is not None else None
    return cur


# ---------------------------------------------------------------- field validation

# Always accepted at any level of an object: clients send them on embedded
# objects too (e.g. a Pod template's metadata is ObjectMeta, never a kind).
_ALWAYS_ALLOWED = frozenset({"apiVersion", "kind"})


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _is_struct(node: SchemaNode) -> bool:
    return node.type == "object" and node.definition is not None


def unknown_fields(obj: Any, node: SchemaNode, path: str = "") -> list[str]:
    """JSON paths of fields the schema does not know, in document order.

    Paths are upstream's: `spec.replicax`, `spec.template.spec.containers[0].foo`.
    """
    out: list[str] = []
    _collect_unknown(obj, node, path, out)
    return out


def _collect_unknown(obj: Any, node: SchemaNode, path: str, out: list[str]) -> None:
    if obj is None or node is None:
        return
    if node.type == "array" and isinstance(obj, list) and node.items is not None:
        for i, item in enumerate(obj):
            _collect_unknown(item, node.items, f"{path}[{i}]", out)
    elif node.type == "map" and isinstance(obj, dict) and node.items is not None:
        for key, value in obj.items():
            _collect_unknown(value, node.items, _join(path, key), out)
    elif _is_struct(node) and isinstance(obj, dict):
        for key, value in obj.items():
            child = node.property(key)
            if child is None:
                if key not in _ALWAYS_ALLOWED:
                    out.append(_join(path, key))
            else:
                _collect_unknown(value, child, _join(path, key), out)


def prune(obj: Any, node: SchemaNode) -> Any:
    """Drop unknown fields in place (fieldValidation=Ignore); returns `obj`."""
    if obj is None or node is None:
        return obj
    if node.type == "array" and isinstance(obj, list) and node.items is not None:
        for item in obj:
            prune(item, node.items)
    elif node.type == "map" and isinstance(obj, dict) and node.items is not None:
        for value in obj.values():
            prune(value, node.items)
    elif _is_struct(node) and isinstance(obj, dict):
        for key in list(obj):
            child = node.property(key)
            if child is None:
                if key not in _ALWAYS_ALLOWED:
                    del obj[key]
            else:
                prune(obj[key], child)
    return obj


def omit_empty(obj: Any, node: SchemaNode) -> Any:
    """Drop zero scalars (0, false) from optional fields, in place; returns `obj`.

    A protobuf body carries Go's zero values explicitly (`generation: 0`,
    `stdin: false`), where Go's JSON encoding of the same object omits them
    (`omitempty`); upstream therefore never shows them. Required fields, which
    upstream's types mark without omitempty, keep their zeros.
    """
    if obj is None or node is None:
        return obj
    if node.type == "array" and isinstance(obj, list) and node.items is not None:
        for item in obj:
            omit_empty(item, node.items)
    elif node.type == "map" and isinstance(obj, dict) and node.items is not None:
        for value in obj.values():
            omit_empty(value, node.items)
    elif _is_struct(node) and isinstance(obj, dict):
        required = set(node.required)
        for key in list(obj):
            child = node.property(key)
            value = obj[key]
            if child is None:
                continue
            if (
                (value == 0 or value is False)
                and not isinstance(value, float | str)
                and key not in required
            ):
                del obj[key]
            else:
                omit_empty(value, child)
    return obj


def unknown_field_messages(paths: list[str]) -> list[str]:
    """`unknown field "spec.replicax"` per path: warning texts for fieldValidation=Warn."""
    return [f'unknown field "{p}"' for p in paths]


def _cannot_handle(kind: str, version: str) -> str:
    return f'{kind} in version "{version}" cannot be handled as a {kind}: '


def strict_decoding_error(kind: str, version: str, paths: list[str]) -> StatusError:
    """The 400 upstream answers for unknown fields under fieldValidation=Strict."""
    detail = ", ".join(unknown_field_messages(paths))
    return StatusError(
        400, "BadRequest", _cannot_handle(kind, version) + "strict decoding error: " + detail
    )


# ---------------------------------------------------------------- decode type checks


def _json_kind(value: Any) -> str:
    """Go's name for a JSON value in UnmarshalTypeError."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def go_type(node: SchemaNode) -> str:
    """Go's spelling of a node's type, e.g. int32, v1.DeploymentSpec, []v1.Container."""
    if node.type == "array" and node.items is not None:
        return "[]" + go_type(node.items)
    if node.type == "map" and node.items is not None:
        return "map[string]" + go_type(node.items)
    if node.type == "integer":
        return node.format or "int32"
    if node.type == "string":
        return "[]uint8" if node.format == "byte" else "string"
    named = {"int-or-string": "intstr.IntOrString", "quantity": "resource.Quantity"}
    scalars = {"number": "float64", "boolean": "bool", **named}
    if node.type in scalars:
        return scalars[node.type]
    if node.definition:
        package = node.definition.rsplit(".", 2)[-2]
        return f"{package}.{node.short_name}"
    return "interface {}"


_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _mismatch(value: Any, node: SchemaNode) -> str | None:
    """The JSON value description when `value` cannot decode into `node`, else None."""
    t = node.type
    kind = _json_kind(value)
    if value is None or t == "any":
        return None
    if t == "integer":
        if kind != "number":
            return kind
        lo, hi = _INT_RANGES.get(node.format or "int32", _INT_RANGES["int64"])
        if isinstance(value, float) and not value.is_integer() or not lo <= value <= hi:
            return f"number {value}"
        return None
    expected = _EXPECTED_KINDS.get(t)
    return None if expected is None or kind in expected else kind


# The JSON kinds each node type decodes from (other types take any).
_EXPECTED_KINDS = {
    "string": ("string",),
    "time": ("string",),
    "boolean": ("bool",),
    "number": ("number",),
    "int-or-string": ("number", "string"),
    "quantity": ("number", "string"),
    "array": ("array",),
    "map": ("object",),
    "object": ("object",),
}
# Public names for pyk8s.api.fieldcheck.
json_kind = _json_kind
mismatch = _mismatch


def type_errors(obj: Any, node: SchemaNode) -> list[str]:
    """Decode errors for wrongly typed values, as upstream's JSON decoder words them.

    e.g. `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas
    of type int32`. Upstream stops at the first; all are returned here.
    """
    out: list[str] = []
    if _mismatch(obj, node):
        out.append(
            f"json: cannot unmarshal {_json_kind(obj)} into Go value of type {go_type(node)}"
        )
        return out
    _check_struct(obj, node, "", out)
    return out


def _check_struct(obj: Any, node: SchemaNode, path: str, out: list[str]) -> None:
    if not (_is_struct(node) and isinstance(obj, dict)):
        return
    for key, value in obj.items():
        child = node.property(key)
        if child is not None:
            _check_value(value, child, node.short_name, _join(path, key), out)


def _check_value(value: Any, node: SchemaNode, struct: str, path: str, out: list[str]) -> None:
    """Check `value` against `node`; errors name the enclosing struct and the field path."""
    bad = _mismatch(value, node)
    if bad:
        out.append(
            f"json: cannot unmarshal {bad} into Go struct field {struct}.{path} "
            f"of type {go_type(node)}"
        )
        return
    # Elements are reported under the field's path and with the element's type,
    # as Go's decoder does (no list indices in these messages).
    if node.type in ("array", "map") and node.items is not None:
        values = value if isinstance(value, list) else (value or {}).values()
        for item in values:
            _check_value(item, node.items, struct, path, out)
    elif _is_struct(node):
        _check_struct(value, node, path, out)


def decode_error(kind: str, version: str, message: str) -> StatusError:
    """The 400 upstream answers when a body does not decode into the kind."""
    return StatusError(400, "BadRequest", _cannot_handle(kind, version) + message)
