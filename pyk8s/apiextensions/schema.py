"""Structural schemas (a CRD version's openAPIV3Schema) applied to custom resources:
validation with upstream's messages, pruning of unknown fields, and defaulting.

Schemas are the JSON-shaped dicts of the CRD (`type`, `properties`, `items`,
`additionalProperties`, `x-kubernetes-*`). Paths are upstream's: `spec.replicas`,
`spec.items[0].name`.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

import orjson

from pyk8s.api import schema as typeschema
from pyk8s.machinery.errors import Cause, field_invalid, field_required, field_unsupported

Schema = dict[str, Any]
OBJECT_META = typeschema.META + "ObjectMeta"
PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
EMBEDDED = "x-kubernetes-embedded-resource"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def json_type(value: Any) -> str:
    """The OpenAPI type name of a decoded JSON value, as kube-openapi reports it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _num(v: Any) -> str:
    """Go's %v of a float64 bound: 10 -> "10", 1.5 -> "1.5"."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ---------------------------------------------------------------- validation


def validate(obj: Any, schema: Schema, path: str = "") -> list[Cause]:
    """Field errors of `obj` against `schema`, as upstream's CR validation words them."""
    out: list[Cause] = []
    _validate(obj, schema, path, out)
    return out


def _type_ok(value: Any, schema: Schema) -> str | None:
    """The expected-type text when `value` does not fit the schema's type, else None."""
    actual = json_type(value)
    if value is None:
        return None if schema.get("nullable") or not schema.get("type") else schema["type"]
    if schema.get(INT_OR_STRING):
        return None if actual in ("integer", "string") else "integer,string"
    want = schema.get("type")
    if not want:
        return None
    if want == actual or (want == "number" and actual == "integer"):
        return None
    return want


def _invalid(path: str, value: Any, detail: str) -> Cause:
    return field_invalid(path, value, f"{path} in body {detail}")


def _validate(value: Any, schema: Schema, path: str, out: list[Cause]) -> None:
    want = _type_ok(value, schema)
    if want is not None:
        # Upstream's TypeInvalid carries the actual type's name as the value.
        actual = json_type(value)
        out.append(
            Cause(
                path,
                "FieldValueTypeInvalid",
                f'Invalid value: "{actual}": {path} in body must be of type {want}: "{actual}"',
            )
        )
        return
    if value is None:
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = [v if isinstance(v, str) else _json_text(v) for v in schema["enum"]]
        out.append(field_unsupported(path, value, allowed))
    if isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(value, schema, path, out)
    elif isinstance(value, str):
        _validate_string(value, schema, path, out)
    elif isinstance(value, list):
        _validate_array(value, schema, path, out)
    elif isinstance(value, dict):
        _validate_object(value, schema, path, out)
    for sub in schema.get("allOf") or []:
        _validate(value, sub, path, out)


def _json_text(v: Any) -> str:
    return orjson.dumps(v).decode()


def _validate_number(value: float, schema: Schema, path: str, out: list[Cause]) -> None:
    if "maximum" in schema:
        hi = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= hi:
            out.append(_invalid(path, value, f"should be less than {_num(hi)}"))
        elif value > hi:
            out.append(_invalid(path, value, f"should be less than or equal to {_num(hi)}"))
    if "minimum" in schema:
        lo = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= lo:
            out.append(_invalid(path, value, f"should be greater than {_num(lo)}"))
        elif value < lo:
            out.append(_invalid(path, value, f"should be greater than or equal to {_num(lo)}"))
    m = schema.get("multipleOf")
    if m and (value / m) != int(value / m):
        out.append(_invalid(path, value, f"should be a multiple of {_num(m)}"))


@functools.lru_cache(maxsize=256)
def _pattern(p: str) -> re.Pattern[str]:
    return re.compile(p)


def _validate_string(value: str, schema: Schema, path: str, out: list[Cause]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        n = schema["maxLength"]
        unit = "byte" if n == 1 else "bytes"
        out.append(Cause(path, "FieldValueTooLong", f"Too long: may not be more than {n} {unit}"))
    if "minLength" in schema and len(value) < schema["minLength"]:
        out.append(_invalid(path, value, f"should be at least {schema['minLength']} chars long"))
    if "pattern" in schema:
        try:
            ok = _pattern(schema["pattern"]).search(value) is not None
        except re.error:
            ok = True  # an unsupported (Go RE2) pattern is not the object's fault
        if not ok:
            out.append(_invalid(path, value, f"should match '{schema['pattern']}'"))


def _validate_array(value: list, schema: Schema, path: str, out: list[Cause]) -> None:
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(
            Cause(
                path,
                "FieldValueTooMany",
                f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
            )
        )
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.append(_invalid(path, value, f"should have at least {schema['minItems']} items"))
    if schema.get("uniqueItems") and len({_json_text(v) for v in value}) < len(value):
        out.append(_invalid(path, value, "shouldn't contain duplicates"))
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _validate(item, items, f"{path}[{i}]", out)


def _validate_object(value: dict, schema: Schema, path: str, out: list[Cause]) -> None:
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        out.append(
            Cause(
                path,
                "FieldValueTooMany",
                f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
            )
        )
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        detail = f"should have at least {schema['minProperties']} properties"
        out.append(_invalid(path, value, detail))
    for name in schema.get("required") or []:
        if name not in value:
            out.append(field_required(_join(path, name)))
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, v in value.items():
        child = props.get(key)
        if child is None and isinstance(extra, dict):
            child = extra
        if child is not None:
            _validate(v, child, _join(path, key), out)


# ---------------------------------------------------------------- pruning


@functools.cache
def _object_meta() -> typeschema.SchemaNode:
    return typeschema.schema_for(OBJECT_META)


def _prune_meta(meta: Any, path: str, out: list[str]) -> None:
    if not isinstance(meta, dict):
        return
    node = _object_meta()
    unknown = typeschema.unknown_fields(meta, node)
    out.extend(_join(path, p) for p in unknown)
    typeschema.prune(meta, node)


def prune(obj: dict[str, Any], schema: Schema) -> list[str]:
    """Drop fields the schema does not specify, in place; returns their paths.

    apiVersion, kind and metadata are always kept at the root (metadata reduced to
    ObjectMeta's fields), and in x-kubernetes-embedded-resource objects.
    """
    out: list[str] = []
    _prune(obj, schema, "", out, root=True)
    return out


def _prune(value: Any, schema: Schema, path: str, out: list[str], root: bool = False) -> None:
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _prune(item, items, f"{path}[{i}]", out)
        return
    if not isinstance(value, dict):
        return
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    keep_meta = root or schema.get(EMBEDDED)
    for key in list(value):
        if keep_meta and key in ("apiVersion", "kind"):
            continue
        if keep_meta and key == "metadata":
            _prune_meta(value[key], _join(path, key), out)
            continue
        child = props.get(key)
        if child is None and isinstance(extra, dict):
            child = extra
        if child is None:
            if schema.get(PRESERVE) or extra is True:
                continue
            del value[key]
            out.append(_join(path, key))
            continue
        _prune(value[key], child, _join(path, key), out)


# ---------------------------------------------------------------- defaulting


def apply_defaults(value: Any, schema: Schema) -> None:
    """Fill unset (or null, where not nullable) fields with their schema `default`, in place."""
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in value:
                apply_defaults(item, items)
        return
    if not isinstance(value, dict):
        return
    props = schema.get("properties") or {}
    for key, child in props.items():
        if "default" in child:
            current = value.get(key, None)
            if key not in value or (current is None and not child.get("nullable")):
                value[key] = copy.deepcopy(child["default"])
        if key in value:
            apply_defaults(value[key], child)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, v in value.items():
            if key not in props:
                apply_defaults(v, extra)


# ---------------------------------------------------------------- structural rules

_TYPES = ("object", "array", "string", "integer", "number", "boolean")


def structural_errors(schema: Any, path: str) -> list[Cause]:
    """Why a CRD version's openAPIV3Schema is not structural (upstream's rules, in short):
    an object at the root, a type on every specified node (unless int-or-string or
    preserve-unknown-fields), items on every array, only name/generateName under the
    root metadata."""
    if not isinstance(schema, dict):
        return [field_invalid(path, schema, "must be an object")]
    out: list[Cause] = []
    t = schema.get("type")
    if not t:
        out.append(_required(_join(path, "type"), "must not be empty at the root"))
    elif t != "object":
        out.append(field_invalid(_join(path, "type"), t, "must be object at the root"))
    meta = (schema.get("properties") or {}).get("metadata")
    if isinstance(meta, dict):
        for key in meta.get("properties") or {}:
            if key not in ("name", "generateName"):
                out.append(
                    _forbidden(
                        f"{path}.properties[metadata].properties[{key}]", "must not be specified"
                    )
                )
    _structural(schema, path, out, root=True)
    return out


def _required(path: str, detail: str) -> Cause:
    return Cause(path, "FieldValueRequired", f"Required value: {detail}")


def _forbidden(path: str, detail: str) -> Cause:
    return Cause(path, "FieldValueForbidden", f"Forbidden: {detail}")


def _structural(node: Schema, path: str, out: list[Cause], root: bool = False) -> None:
    t = node.get("type")
    if t and t not in _TYPES:
        out.append(field_unsupported(_join(path, "type"), t, list(_TYPES)))
    if not root and not t and not node.get(INT_OR_STRING) and not node.get(PRESERVE):
        out.append(_required(_join(path, "type"), "must not be empty for specified object fields"))
    if t == "array" and not isinstance(node.get("items"), dict):
        out.append(_required(_join(path, "items"), "must be specified"))
    for name, child in (node.get("properties") or {}).items():
        if isinstance(child, dict):
            _structural(child, f"{path}.properties[{name}]", out)
    items = node.get("items")
    if isinstance(items, dict):
        _structural(items, f"{path}.items", out)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        _structural(extra, f"{path}.additionalProperties", out)
    if node.get("properties") and isinstance(extra, dict):
        out.append(
            _forbidden(
                f"{path}.additionalProperties",
                "additionalProperties and properties are mutual exclusive",
            )
        )
