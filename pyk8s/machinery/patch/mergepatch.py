"""RFC 7386 JSON merge patch (application/merge-patch+json), as kube-apiserver applies it.

`merge_patch` is the RFC algorithm. `apply_merge_patch` is the API server's entry point
and adds upstream's guards on the body (evanphx/json-patch's MergePatch plus decoding
the result back into an object):

- a body of `null`, a string, a number or a boolean is a 400 BadRequest "Invalid JSON Patch";
- an array body would replace the whole object with an array, which upstream then fails
  to decode into the object: a 422 Invalid on the field `patch`.

Like the library, nulls are pruned from objects the patch adds, including objects nested
inside added arrays; null array elements themselves are kept.
"""

from __future__ import annotations

from typing import Any

import orjson

from pyk8s.machinery.errors import bad_request, field_invalid, invalid

from ._common import deep_copy


def apply_merge_patch(doc: Any, patch: Any) -> Any:
    """Apply a merge patch to an API object; returns a new document, doc is never changed."""
    if isinstance(patch, list):
        text = orjson.dumps(patch).decode()
        detail = "json: cannot unmarshal array into Go value of type map[string]interface {}"
        raise invalid("", "", "", [field_invalid("patch", text, detail)])
    if not isinstance(patch, dict):
        raise bad_request("Invalid JSON Patch")
    return merge_patch(doc, patch)


def merge_patch(doc: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch(doc, patch): a new document; neither argument is changed."""
    if not isinstance(patch, dict):
        return _without_nulls(patch)
    target = deep_copy(doc) if isinstance(doc, dict) else {}
    _merge_into(target, patch)
    return target


def _merge_into(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Merge patch into target in place; target is already our own copy."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = _without_nulls(value)


def _without_nulls(value: Any) -> Any:
    """A copy of a patch value as it is added: null members of objects dropped."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
