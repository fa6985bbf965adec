"""PATCH bodies applied as kube-apiserver applies them.

- `apply_json_patch`: application/json-patch+json (RFC 6902)
- `apply_merge_patch`: application/merge-patch+json (RFC 7386)
- `apply_strategic_merge_patch`: application/strategic-merge-patch+json

Each returns a new, fully independent document (the caller may mutate it freely) and
never changes its arguments; failures are StatusErrors with upstream's codes and texts.
"""

from .jsonpatch import MAX_OPERATIONS, apply_json_patch
from .mergepatch import apply_merge_patch, merge_patch
from .schema import SchemaNode
from .strategic import apply_strategic_merge_patch

__all__ = [
    "MAX_OPERATIONS",
    "SchemaNode",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
    "merge_patch",
]
