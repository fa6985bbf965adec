"""A request body's decode checks in one walk: wrongly typed values, unknown fields,
and pruning of the unknown fields.

`schema.type_errors`, `schema.unknown_fields` and `schema.prune` each walk the
object; the API server needs all three for every create, update and patch, so
this walks it once and gives the same answers: the type errors in document order
with upstream's texts, the unknown fields' paths in document order, and the
object with the unknown fields removed. Paths are only rendered for the fields
that are reported, from a trail of (parent, segment, kind) links.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api.schema import SchemaNode, go_type, json_kind, mismatch

# Fields accepted at any level (schema._ALWAYS_ALLOWED).
_ALWAYS_ALLOWED = frozenset({"apiVersion", "kind"})

# Trail segment kinds: a struct field, a list index, a map key.
_FIELD, _INDEX, _KEY = 0, 1, 2
Trail = tuple[Any, Any, int] | None


def check_and_prune(obj: Any, node: SchemaNode) -> tuple[list[str], list[str]]:
    """(type errors, unknown field paths) of `obj` against `node`; unknown fields are
    removed from `obj` in place (callers refuse the object when there are type errors)."""
    type_errors: list[str] = []
    unknown: list[str] = []
    bad = mismatch(obj, node)
    if bad:
        type_errors.append(
            f"json: cannot unmarshal {json_kind(obj)} into Go value of type {go_type(node)}"
        )
    elif isinstance(obj, dict) and node.type == "object" and node.definition is not None:
        _struct(obj, node, None, type_errors, unknown)
    return type_errors, unknown


def _struct(
    obj: dict[str, Any], node: SchemaNode, trail: Trail, errs: list[str], unknown: list[str]
) -> None:
    drop: list[str] | None = None
    for key, value in obj.items():
        child = node.property(key)
        if child is None:
            if key not in _ALWAYS_ALLOWED:
                unknown.append(_unknown_path((trail, key, _FIELD)))
                if drop is None:
                    drop = []
                drop.append(key)
        elif value is not None:
            _value(value, child, node, (trail, key, _FIELD), errs, unknown)
    if drop:
        for key in drop:
            del obj[key]


def _value(
    value: Any,
    node: SchemaNode,
    struct: SchemaNode,
    trail: Trail,
    errs: list[str],
    unknown: list[str],
) -> None:
    """Check a non-null value; errors name the struct holding the field."""
    t = node.type
    if t == "string" or t == "time":  # most fields: the cheap test first
        if not isinstance(value, str):
            errs.append(_type_error(json_kind(value), struct, trail, node))
        return
    bad = mismatch(value, node)
    if bad:
        errs.append(_type_error(bad, struct, trail, node))
        return
    items = node.items if t in ("array", "map") else None
    if items is not None:
        if t == "array":
            for i, item in enumerate(value):
                if item is not None:
                    _value(item, items, struct, (trail, i, _INDEX), errs, unknown)
        else:
            for key, item in value.items():
                if item is not None:
                    _value(item, items, struct, (trail, key, _KEY), errs, unknown)
    elif t == "object" and node.definition is not None:
        _struct(value, node, trail, errs, unknown)


def _segments(trail: Trail) -> list[tuple[Any, int]]:
    out = []
    while trail is not None:
        trail, seg, kind = trail
        out.append((seg, kind))
    out.reverse()
    return out


def _unknown_path(trail: Trail) -> str:
    """`spec.template.spec.containers[0].foo`, as schema.unknown_fields words it."""
    path = ""
    for seg, kind in _segments(trail):
        if kind == _INDEX:
            path += f"[{seg}]"
        else:
            path = f"{path}.{seg}" if path else str(seg)
    return path


def _type_error(bad: str, struct: SchemaNode, trail: Trail, node: SchemaNode) -> str:
    # Go's decoder names the field path without list indices or map keys.
    path = ".".join(str(seg) for seg, kind in _segments(trail) if kind == _FIELD)
    return (
        f"json: cannot unmarshal {bad} into Go struct field {struct.short_name}.{path} "
        f"of type {go_type(node)}"
    )
