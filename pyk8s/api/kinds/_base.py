"""The base every kind strategy here builds on.

`validate()` covers the kind's own fields only: the API server validates metadata
itself. A strategy still says which name rule its kind follows (`name_validator`)
and offers `validate_meta()` for callers that want upstream's full ValidateObjectMeta.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api.kinds import _names
from pyk8s.api.strategy import Obj, Strategy
from pyk8s.machinery.errors import Cause
from pyk8s.machinery.validation import NameValidator


class KindStrategy(Strategy):
    namespaced: bool = True
    # Most kinds' names are DNS-1123 subdomains; Namespace and Service override this.
    name_validator: NameValidator = staticmethod(_names.name_is_dns_subdomain)  # type: ignore[assignment]

    def validate_meta(self, obj: Obj) -> list[Cause]:
        """Upstream's ValidateObjectMeta with this kind's scope and name rule."""
        return _names.object_meta(obj, self.namespaced, self.name_validator)


def spec_of(obj: Obj) -> dict[str, Any]:
    """obj["spec"], created when absent so defaulting can fill it."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec
