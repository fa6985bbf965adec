"""RFC 6902 JSON patch (application/json-patch+json), as kube-apiserver applies it.

kube-apiserver applies JSON patches with evanphx/json-patch (v4), so we follow that
library where it departs from the RFC, and reproduce its error strings:

- a body that is not an array is a 400 BadRequest (`json: cannot unmarshal object into
  Go value of type jsonpatch.Patch`); a `null` body is an empty patch;
- more than 10000 operations is a 413;
- a patch that cannot be applied (failed `test`, missing path, bad index, unknown op)
  is a 422 built by NewGenericServerResponse: reason Invalid, message "the server
  rejected our request due to an error in our request", and the library's error text as
  the one cause (reason UnexpectedServerResponse). kubectl prints it as
  `The request is invalid: the server rejected our request ...`;
- negative array indices count from the end (the library's SupportNegativeIndices);
- `replace` of a missing object member adds it (the library only checks arrays);
- `replace` with path "" swaps the whole document (object or array values only).

One deliberate departure: `test` compares values with full JSON equality, where the
library ignores members present only in the expected object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pyk8s.machinery.errors import StatusError, bad_request

from ._common import PatchFailure, deep_copy, json_equal, json_kind

MAX_OPERATIONS = 10000

_MISSING = "missing value"
_ATOI = re.compile(r"[+-]?[0-9]+\Z")
_POINTER_ESCAPE = re.compile(r"~[01]")

Container = dict[str, Any] | list[Any]


class _OpError(Exception):
    """One operation failed; the text is the library's error string."""


def apply_json_patch(doc: Any, patch: Any) -> Any:
    """Apply an RFC 6902 patch to doc and return the patched copy; doc is never changed."""
    operations = _decode(patch)
    root = deep_copy(doc)
    try:
        for op in operations:
            root = _apply_operation(root, op)
    except _OpError as failure:
        raise PatchFailure(str(failure), "unprocessable").to_status() from None
    return root


def _decode(patch: Any) -> list[dict[str, Any]]:
    if patch is None:  # encoding/json decodes `null` into an empty patch
        return []
    if not isinstance(patch, list):
        raise bad_request(
            f"json: cannot unmarshal {json_kind(patch)} into Go value of type jsonpatch.Patch"
        )
    for op in patch:
        if op is not None and not isinstance(op, dict):
            raise bad_request(
                f"json: cannot unmarshal {json_kind(op)} into Go value of type jsonpatch.Operation"
            )
    if len(patch) > MAX_OPERATIONS:
        raise StatusError(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_OPERATIONS}, got {len(patch)}",
        )
    return [op or {} for op in patch]


def _apply_operation(root: Any, op: dict[str, Any]) -> Any:
    kind = op.get("op")
    handler = _OPERATIONS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        raise _OpError(f"Unexpected kind: {kind if isinstance(kind, str) else 'unknown'}")
    return handler(root, op)


# --- reading operation members ---------------------------------------------------------


def _member(op: dict[str, Any], name: str, missing: str) -> str:
    """The string member `path` or `from`; raises with the library's decode error."""
    raw = op.get(name)
    if raw is None:
        raise _OpError(f"{missing}: {_MISSING}")
    if not isinstance(raw, str):
        raise _OpError(f"json: cannot unmarshal {json_kind(raw)} into Go value of type string")
    return raw


def _path(op: dict[str, Any]) -> str:
    return _member(op, "path", "operation missing path field")


def _from(op: dict[str, Any]) -> str:
    return _member(op, "from", "operation, missing from field")


def _value(op: dict[str, Any]) -> Any:
    """The operation's value, copied so the result never shares objects with the patch."""
    return deep_copy(op.get("value"))


# --- JSON pointers and containers ------------------------------------------------------


def _unescape(token: str) -> str:
    return _POINTER_ESCAPE.sub(lambda m: "~" if m.group() == "~0" else "/", token)


def _find(root: Any, path: str) -> tuple[Container, str] | None:
    """The container holding the pointer's last token, and that token.

    Like the library, the first segment is not checked to be empty and every
    intermediate value must be an object or array (null and scalars end the walk).
    """
    segments = path.split("/")
    if len(segments) < 2 or not isinstance(root, dict | list):
        return None
    current: Container = root
    for token in segments[1:-1]:
        try:
            child = _get(current, _unescape(token))
        except _OpError:
            return None
        if not isinstance(child, dict | list):
            return None
        current = child
    return current, _unescape(segments[-1])


def _atoi(key: str) -> int:
    if not _ATOI.match(key):
        raise _OpError(f'strconv.Atoi: parsing "{key}": invalid syntax')
    return int(key)


def _invalid_index(index: int) -> _OpError:
    return _OpError(f"Unable to access invalid index: {index}: invalid index referenced")


def _existing_index(items: list[Any], key: str) -> int:
    """An index that must name an element; negative ones count from the end."""
    index = _atoi(key)
    if index < 0:
        if index < -len(items):
            raise _invalid_index(index)
        index += len(items)
    if index >= len(items):
        raise _invalid_index(index)
    return index


def _get(container: Container, key: str) -> Any:
    if isinstance(container, dict):
        return container.get(key)
    return container[_existing_index(container, key)]


def _set(container: Container, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    else:
        container[_existing_index(container, key)] = value


def _add(container: Container, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
        return
    if key == "-":
        container.append(value)
        return
    try:
        index = _atoi(key)
    except _OpError as failure:
        raise _OpError(f"value was not a proper array index: '{key}': {failure}") from None
    size = len(container) + 1
    if index >= size or index < -size:
        raise _invalid_index(index)
    container.insert(index + size if index < 0 else index, value)


def _remove(container: Container, key: str) -> None:
    if isinstance(container, dict):
        if key not in container:
            raise _OpError(f"Unable to remove nonexistent key: {key}: {_MISSING}")
        del container[key]
    else:
        del container[_existing_index(container, key)]


# --- the six operations ----------------------------------------------------------------


def _op_add(root: Any, op: dict[str, Any]) -> Any:
    try:
        path = _path(op)
    except _OpError:
        raise _OpError(f"add operation failed to decode path: {_MISSING}") from None
    found = _find(root, path)
    if found is None:
        raise _OpError(f'add operation does not apply: doc is missing path: "{path}": {_MISSING}')
    try:
        _add(*found, _value(op))
    except _OpError as failure:
        raise _OpError(f"error in add for path: '{path}': {failure}") from None
    return root


def _op_remove(root: Any, op: dict[str, Any]) -> Any:
    try:
        path = _path(op)
    except _OpError:
        raise _OpError(f"remove operation failed to decode path: {_MISSING}") from None
    found = _find(root, path)
    if found is None:
        raise _OpError(
            f'remove operation does not apply: doc is missing path: "{path}": {_MISSING}'
        )
    try:
        _remove(*found)
    except _OpError as failure:
        raise _OpError(f"error in remove for path: '{path}': {failure}") from None
    return root


def _op_replace(root: Any, op: dict[str, Any]) -> Any:
    try:
        path = _path(op)
    except _OpError as failure:
        raise _OpError(f"replace operation failed to decode path: {failure}") from None
    if path == "":
        value = op.get("value")
        if not isinstance(value, dict | list):
            # The library wraps a nil error here, which Go renders as %!w(<nil>).
            raise _OpError("replace operation value must be object or array: %!w(<nil>)")
        return deep_copy(value)
    found = _find(root, path)
    if found is None:
        raise _OpError(f"replace operation does not apply: doc is missing path: {path}: {_MISSING}")
    try:
        _get(*found)
    except _OpError:
        raise _OpError(
            f"replace operation does not apply: doc is missing key: {path}: {_MISSING}"
        ) from None
    _set(*found, _value(op))
    return root


def _op_move(root: Any, op: dict[str, Any]) -> Any:
    try:
        source = _from(op)
    except _OpError as failure:
        raise _OpError(f"move operation failed to decode from: {failure}") from None
    found = _find(root, source)
    if found is None:
        raise _OpError(
            f"move operation does not apply: doc is missing from path: {source}: {_MISSING}"
        )
    container, key = found
    try:
        value = _get(container, key)
        _remove(container, key)
    except _OpError as failure:
        raise _OpError(f"error in move for path: '{key}': {failure}") from None
    try:
        path = _path(op)
    except _OpError as failure:
        raise _OpError(f"move operation failed to decode path: {failure}") from None
    target = _find(root, path)
    if target is None:
        raise _OpError(
            f"move operation does not apply: doc is missing destination path: {path}: {_MISSING}"
        )
    try:
        _add(*target, value)
    except _OpError as failure:
        raise _OpError(f"error in move for path: '{path}': {failure}") from None
    return root


def _op_test(root: Any, op: dict[str, Any]) -> Any:
    try:
        path = _path(op)
    except _OpError as failure:
        raise _OpError(f"test operation failed to decode path: {failure}") from None
    if path == "":
        actual = root
    else:
        found = _find(root, path)
        if found is None:
            raise _OpError(f"test operation does not apply: is missing path: {path}: {_MISSING}")
        try:
            actual = _get(*found)
        except _OpError as failure:
            raise _OpError(f"error in test for path: '{path}': {failure}") from None
    # A missing member and an explicit null are the same to the library.
    if not json_equal(actual, op.get("value")):
        raise _OpError(f"testing value {path} failed: test failed")
    return root


def _op_copy(root: Any, op: dict[str, Any]) -> Any:
    try:
        source = _from(op)
    except _OpError as failure:
        raise _OpError(f"copy operation failed to decode from: {failure}") from None
    found = _find(root, source)
    if found is None:
        raise _OpError(
            f"copy operation does not apply: doc is missing from path: {source}: {_MISSING}"
        )
    try:
        value = _get(*found)
    except _OpError as failure:
        raise _OpError(f"error in copy for from: '{source}': {failure}") from None
    try:
        path = _path(op)
    except _OpError:
        raise _OpError(f"copy operation failed to decode path: {_MISSING}") from None
    target = _find(root, path)
    if target is None:
        raise _OpError(
            f"copy operation does not apply: doc is missing destination path: {path}: {_MISSING}"
        )
    try:
        _add(*target, deep_copy(value))
    except _OpError as failure:
        raise _OpError(f"error while adding value during copy: {failure}") from None
    return root


_OPERATIONS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "add": _op_add,
    "remove": _op_remove,
    "replace": _op_replace,
    "move": _op_move,
    "test": _op_test,
    "copy": _op_copy,
}
