"""Strategic merge patch (application/strategic-merge-patch+json), as upstream applies it.

The semantics are those of k8s.io/apimachinery's strategicpatch (StrategicMergeMapPatch,
server side: parallel lists merged, unmatched nulls ignored):

- maps merge recursively and `null` deletes a key; a field whose patchStrategy is
  "replace" is replaced whole;
- a list whose field has patchStrategy "merge" merges: lists of maps by the field's
  patchMergeKey, lists of scalars as ordered sets; any other list is replaced;
- directives: `$patch: replace|delete` in a map and in list elements, `$retainKeys`,
  `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`;
- fields the schema does not know (or no schema at all) get no strategy: maps still
  merge, lists are replaced, which is JSON merge patch behaviour for that subtree.

Errors have upstream's texts and codes (interpretStrategicMergePatchError): malformed
directives are 400, lists of lists 422, anything else (a list item without its merge
key, an unknown `$patch` value...) a plain error that kube-apiserver answers with 500
and no reason, which kubectl prints as `Error from server: map: map[...] does not contain
declared merge key: name`.

Upstream decodes the merged map into the typed object, which drops nulls and directive
keys left inside values that were taken over from the patch. Objects here stay dicts, so
such values are cleaned explicitly (see _clean).
"""

from __future__ import annotations

from typing import Any

from pyk8s.machinery.errors import bad_request

from . import _order
from ._common import (
    PatchFailure,
    bad_arg_type,
    deep_copy,
    go_fmt,
    go_kind,
    json_kind,
    scalar_key,
)
from ._common import no_merge_key as _no_merge_key
from .schema import SchemaNode

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
ORDER_PREFIX = "$setElementOrder"
DELETE_PREFIX = "$deleteFromPrimitiveList"

ERR_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
ERR_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
ERR_BAD_ORDER_LIST = "invalid patch format of setElementOrder list"

_LIST_TYPE = "[]interface {}"
_DROP = object()  # _clean's answer for a value that must not be kept at all


def apply_strategic_merge_patch(
    doc: dict[str, Any], patch: dict[str, Any], schema: SchemaNode | None
) -> dict[str, Any]:
    """Apply a strategic merge patch; returns a new object, doc and patch are never changed."""
    if patch is None:  # `null` decodes into an empty patch map
        return deep_copy(doc)
    if not isinstance(patch, dict):
        raise bad_request(
            f"json: cannot unmarshal {json_kind(patch)} into Go value of type map[string]interface {{}}"
        )
    original = deep_copy(doc) if isinstance(doc, dict) else {}
    try:
        # The merge works in place on private copies of both documents.
        return _merge_map(original, deep_copy(patch), schema)
    except PatchFailure as failure:
        raise failure.to_status() from None


# --- schema lookups --------------------------------------------------------------------


def _field_schema(schema: SchemaNode | None, name: str) -> SchemaNode | None:
    if schema is None:
        return None
    if schema.type == "map":
        return schema.items
    if schema.type == "object":
        return schema.property(name)
    return None


def _strategy(node: SchemaNode | None) -> str:
    """The field's strategy other than retainKeys ("merge", "replace" or "")."""
    raw = (node.patch_strategy if node is not None else None) or ""
    parts = raw.split(",") if raw else []
    others = [p for p in parts if p != "retainKeys"]
    if len(parts) > 2 or (len(parts) == 2 and len(others) != 1):
        raise PatchFailure(f"unexpected patch strategy: {go_fmt(parts)}")
    return others[0] if others else ""


def _merge_key(node: SchemaNode | None) -> str:
    return (node.patch_merge_key if node is not None else None) or ""


def _element_schema(node: SchemaNode | None) -> SchemaNode | None:
    return node.items if node is not None else None


# --- maps ------------------------------------------------------------------------------


def _merge_map(
    original: dict[str, Any], patch: dict[str, Any], schema: SchemaNode | None
) -> dict[str, Any]:
    if DIRECTIVE in patch:
        return _map_directive(patch)
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    for key, value in patch.items():
        _merge_field(original, key, value, schema)
    return original


def _map_directive(patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch[DIRECTIVE]
    if directive == "replace":
        del patch[DIRECTIVE]
        return _clean(patch)
    if directive == "delete":
        return {}
    raise PatchFailure(f"unknown patch type: {go_fmt(directive)} in map: {go_fmt(patch)}")


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """`$retainKeys`: clear the keys it omits; the patch may only set keys it lists."""
    if RETAIN_KEYS not in patch:
        return
    retained = patch.pop(RETAIN_KEYS)
    if not isinstance(retained, list):
        raise PatchFailure(ERR_BAD_RETAIN_KEYS, "bad_request")
    keep = {k for k in retained if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_PREFIX, ORDER_PREFIX)):
            continue
        if key not in keep:
            raise PatchFailure(ERR_BAD_RETAIN_KEYS, "bad_request")
    for key in [k for k in original if k not in keep]:
        del original[key]


def _merge_field(original: dict[str, Any], key: str, value: Any, schema: SchemaNode | None) -> None:
    is_delete_list = key.startswith(DELETE_PREFIX)
    name = _directive_field(key, DELETE_PREFIX, ERR_BAD_PRIMITIVE_LIST) if is_delete_list else key
    if value is None:
        original.pop(name, None)
        return
    current = original.get(name, _DROP)
    if current is _DROP or go_kind(current) != go_kind(value):
        if not is_delete_list:
            _adopt(original, name, value)
        return
    node = _field_schema(schema, name)
    if isinstance(current, dict):
        merged = _clean(value) if _strategy(node) == "replace" else _merge_map(current, value, node)
        original[name] = merged
    elif isinstance(current, list):
        original[name] = _merge_list_field(current, value, node, name, is_delete_list)
    else:
        original[name] = value


def _directive_field(key: str, prefix: str, error: str) -> str:
    """The field a `$prefix/field` directive key names."""
    head, sep, field = key.partition("/")
    if not sep or head != prefix:
        raise PatchFailure(error, "bad_request")
    return field


def _adopt(original: dict[str, Any], name: str, value: Any) -> None:
    """Take a patch value the original has no counterpart for."""
    cleaned = _clean(value)
    if cleaned is _DROP:
        original.pop(name, None)
    else:
        original[name] = cleaned


def _clean(value: Any) -> Any:
    """A patch value as the object will hold it: directives and null members removed.

    Maps carrying `$patch` are dropped whole, as upstream's removeDirectives does; the
    other directive keys and nulls would vanish in upstream's typed decoding.
    """
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return _DROP
        cleaned = {}
        for key, item in value.items():
            if item is None or key == RETAIN_KEYS or key.startswith((ORDER_PREFIX, DELETE_PREFIX)):
                continue
            item = _clean(item)
            if item is not _DROP:
                cleaned[key] = item
        return cleaned
    if isinstance(value, list):
        return [c for c in map(_clean, value) if c is not _DROP]
    return value


# --- lists -----------------------------------------------------------------------------


def _merge_list_field(
    current: list[Any], patch: list[Any], node: SchemaNode | None, name: str, is_delete: bool
) -> list[Any]:
    """mergeSliceHandler: merge when the strategy says so (or for a deletion list)."""
    if _strategy(node) != "merge" and not is_delete:
        return _clean(patch)
    return _merge_list(current, patch, node, name, is_delete)


def _merge_list(
    original: list[Any], patch: list[Any], node: SchemaNode | None, name: str, is_delete: bool
) -> list[Any]:
    if not original and not patch:
        return original
    kind = _order.element_kind(original, patch)
    merge_key = _merge_key(node)
    if kind != _order.MAP:
        if is_delete:
            return _without_scalars(original, patch)
        base = original
        merged = _dedup(original + patch)
    else:
        if not merge_key:
            raise PatchFailure(f"cannot merge lists without merge key for {name}")
        base, patch = _list_directives(original, patch, merge_key)
        merged = _merge_by_key(base, patch, merge_key, _element_schema(node))
    named, server_only = _order.partition(merged, patch, merge_key)
    return _order.normalize(named, server_only, patch, base, merge_key, kind)


def _without_scalars(items: list[Any], doomed: list[Any]) -> list[Any]:
    """`$deleteFromPrimitiveList`: drop every occurrence of the listed values."""
    gone = {scalar_key(v) for v in doomed}
    return [v for v in items if scalar_key(v) not in gone]


def _dedup(items: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    unique = []
    for item in items:
        key = scalar_key(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _list_directives(
    original: list[Any], patch: list[Any], merge_key: str
) -> tuple[list[Any], list[Any]]:
    """Apply `$patch` list elements; returns (new base list, plain patch elements)."""
    plain = []
    base = original
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            base = _without_key_value(base, merge_key, item[merge_key])
        elif directive == "replace":
            replace = True  # keep scanning: later directives are still validated
        elif directive == "merge":
            raise PatchFailure("merging lists cannot yet be specified in the patch")
        else:
            raise PatchFailure(f"unknown patch type: {go_fmt(directive)} in map: {go_fmt(item)}")
    if replace:
        return [_clean(i) for i in plain], []
    return base, plain


def _without_key_value(items: list[Any], merge_key: str, value: Any) -> list[Any]:
    kept = list(items)
    while (index := _order.find_by_key(kept, merge_key, value)) >= 0:
        del kept[index]
    return kept


def _merge_by_key(
    base: list[Any], patch: list[Any], merge_key: str, schema: SchemaNode | None
) -> list[Any]:
    merged = list(base)
    for item in patch:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        index = _order.find_by_key(merged, merge_key, item[merge_key])
        if index >= 0:
            merged[index] = _merge_map(merged[index], item, schema)
        else:
            added = _clean(item)
            added.setdefault(merge_key, item[merge_key])  # even a null key identifies it
            merged.append(added)
    return merged


# --- $setElementOrder ------------------------------------------------------------------


def _merge_ordered_lists(
    original: dict[str, Any], patch: dict[str, Any], schema: SchemaNode | None
) -> None:
    """Merge each list that has a `$setElementOrder/<field>` and impose that order.

    Precedence of order: the directive's list, then the patch list, then the live list.
    """
    for key in [k for k in patch if k.startswith(ORDER_PREFIX)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise bad_arg_type(_LIST_TYPE, order)
        name = _directive_field(key, ORDER_PREFIX, ERR_BAD_ORDER_LIST)
        merged = _ordered_list(original, patch, name, order, _field_schema(schema, name))
        if merged is not None:
            original[name] = merged
            patch.pop(name, None)


def _ordered_list(
    original: dict[str, Any],
    patch: dict[str, Any],
    name: str,
    order: list[Any],
    node: SchemaNode | None,
) -> list[Any] | None:
    live = _list_member(original, name)
    patched = _list_member(patch, name)
    merge_key = _merge_key(node)
    _check_order(patched or [], order, merge_key)
    if live is None and patched is None:
        return None
    if patched is None:
        merged = live
    elif live is None:
        merged = _clean(patched)
    else:
        merged = _merge_list_field(live, patched, node, name, False)
    kind = _order.element_kind(live or [], patched or [])
    named, server_only = _order.partition(merged, order, merge_key)
    return _order.normalize(named, server_only, order, live or [], merge_key, kind)


def _list_member(obj: dict[str, Any], name: str) -> list[Any] | None:
    if name not in obj:
        return None
    value = obj[name]
    if not isinstance(value, list):
        raise bad_arg_type(_LIST_TYPE, value)
    return value


def _check_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """The patch list's items must appear in `$setElementOrder`, in the same order."""
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        for item in patch_list:
            if not isinstance(item, dict):
                raise bad_arg_type("map[string]interface {}", item)
        items = [i for i in patch_list if i.get(DIRECTIVE) != "delete"]
    at_patch = at_order = 0
    while at_patch < len(items) and at_order < len(order):
        item = items[at_patch]
        if isinstance(item, dict) and DIRECTIVE in item:
            at_patch += 1
            continue
        if _order.merge_key_equal(item, order[at_order], merge_key):
            at_patch += 1
        at_order += 1
    if at_patch < len(items):
        raise PatchFailure(
            f"the order in patch list:\n{go_fmt(patch_list)}\n doesn't match "
            f"{ORDER_PREFIX} list:\n{go_fmt(order)}"
        )
