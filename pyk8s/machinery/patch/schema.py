"""The schema view strategic merge patch needs: per-field patch strategy and merge key.

`pyk8s.api.schema` implements it from the built-in types; the patch code only reads it.
"""

from __future__ import annotations

from typing import Protocol


class SchemaNode(Protocol):
    """Describes one field's value; the patch metadata is that of the field pointing to it.

    type: "object" | "array" | "map" | "string" | "integer" | "number" | "boolean" | "any" ...
    patch_strategy: x-kubernetes-patch-strategy of the field: "merge", "replace",
        "retainKeys", "merge,retainKeys", or None.
    patch_merge_key: x-kubernetes-patch-merge-key of the field ("name", "containerPort", ...).
    """

    type: str
    patch_strategy: str | None
    patch_merge_key: str | None

    # `items` is declared before `property` so the builtin decorator is still in scope.
    @property
    def items(self) -> SchemaNode | None:
        """For "array": the element's node; for "map": the value's node."""
        ...

    def property(self, name: str) -> SchemaNode | None:
        """For "object": the named field's node, None when the field is unknown."""
        ...
