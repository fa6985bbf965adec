"""Element order of merged lists in strategic merge patch.

Upstream's rule (design proposal "preserve order in strategic merge patch"): split the
merged list into the items the patch (or its `$setElementOrder` list) names and the
server-only items; sort the first by the patch's order and the second by the live list's
order, then interleave them. An item of the patch that the live list lacks goes before
any server-only item it meets, so `kubectl patch` with a new container and no
`$setElementOrder` puts the new container first: upstream's documented behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._common import (
    PatchFailure,
    bad_arg_type,
    go_eq,
    go_fmt,
    go_kind,
    no_merge_key,
    scalar_key,
)

MAP = "map"
DIRECTIVE = "$patch"


def identity_of(item: Any, merge_key: str, kind: str) -> Any:
    """What two list elements are matched by: the merge key's value, or the item itself."""
    if kind != MAP:
        return item
    return item.get(merge_key) if isinstance(item, dict) else None


def find_by_key(items: list[Any], merge_key: str, value: Any) -> int:
    """Index of the first map whose merge key equals value, -1 when none does."""
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise PatchFailure(f"value for key {index} is not a map.")
        if merge_key in item and go_eq(item[merge_key], value):
            return index
    return -1


def merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return go_eq(left, right)
    for item in (left, right):
        if not isinstance(item, dict):
            raise bad_arg_type("map[string]interface {}", item)
        if merge_key not in item:
            raise no_merge_key(item, merge_key)
    return go_eq(left[merge_key], right[merge_key])


def partition(merged: list[Any], named: list[Any], merge_key: str) -> tuple[list, list]:
    """Split merged into (items present in named, server-only items), keeping order."""
    if not merge_key:
        wanted = {scalar_key(v) for v in named}
        inside = [v for v in merged if scalar_key(v) in wanted]
        return inside, [v for v in merged if scalar_key(v) not in wanted]
    inside: list[Any] = []
    outside: list[Any] = []
    for item in merged:
        if not isinstance(item, dict):
            raise bad_arg_type("map[string]interface {}", item)
        if merge_key not in item:
            raise no_merge_key(item, merge_key)
        found = find_by_key(named, merge_key, item[merge_key]) >= 0
        (inside if found else outside).append(item)
    return inside, outside


def normalize(
    named: list[Any],
    server_only: list[Any],
    named_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    kind: str,
) -> list[Any]:
    """Sort both parts by their own reference order, then interleave them."""
    named = _sort_by(named, named_order, merge_key, kind)
    server_only = _sort_by(server_only, server_order, merge_key, kind)

    def key(item: Any) -> Any:
        return scalar_key(identity_of(item, merge_key, kind))

    return _interleave(server_only, named, _positions(server_order, merge_key, kind), key)


def _positions(order: list[Any], merge_key: str, kind: str) -> dict[Any, int]:
    positions: dict[Any, int] = {}
    for index, item in enumerate(order):
        positions.setdefault(scalar_key(identity_of(item, merge_key, kind)), index)
    return positions


def _sort_by(items: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    to_delete: list[Any] = []
    if kind == MAP:
        for item in (*items, *order):
            if not isinstance(item, dict):
                raise bad_arg_type("map[string]interface {}", item)
            if merge_key not in item:
                raise no_merge_key(item, merge_key)
        to_delete = [i for i in items if i.get(DIRECTIVE) == "delete"]
        items = [i for i in items if i.get(DIRECTIVE) != "delete"]
    positions = _positions(order, merge_key, kind)
    missing = len(order)  # upstream's comparator is undefined there; keep such items last

    def rank(item: Any) -> int:
        return positions.get(scalar_key(identity_of(item, merge_key, kind)), missing)

    return sorted(items, key=rank) + to_delete


def _interleave(
    left: list[Any], right: list[Any], positions: dict[Any, int], key: Callable[[Any], Any]
) -> list[Any]:
    """Merge two sorted lists; left wins only when both are in the live list and it comes first.

    left holds server-only items, right the patch's items; positions index the live list.
    """
    merged: list[Any] = []
    i = j = 0
    while i < len(left) and j < len(right):
        left_at = positions.get(key(left[i]))
        right_at = positions.get(key(right[j]))
        if left_at is not None and right_at is not None and left_at < right_at:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged + left[i:] + right[j:]


def element_kind(*lists: list[Any]) -> str:
    """The common Go kind of all elements (upstream's sliceElementType)."""
    found: str | None = None
    for items in lists:
        for item in items:
            kind = go_kind(item)
            if kind == "slice":
                raise PatchFailure("lists of lists are not supported", "unprocessable")
            if found is None:
                found = kind
            elif kind != found:
                raise PatchFailure(f"list element types are not identical: {go_fmt(list(lists))}")
    if found is None:
        raise PatchFailure("no elements in any of the given slices")
    return found
