"""Addressing resources: a small ResourceRef, URL paths, and built-in lookup."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

from pyk8s.api.resources import ResourceType, builtin_resources


class ResourceRef(NamedTuple):
    group: str
    version: str
    plural: str
    namespaced: bool
    kind: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


class _HasGVR(Protocol):
    group: str
    version: str
    plural: str
    namespaced: bool


ResourceLike = ResourceRef | ResourceType | _HasGVR | tuple[str, str, str, bool]


def as_ref(res: Any) -> ResourceRef:
    """A ResourceRef from a ResourceRef, a ResourceType (or look-alike) or a 4/5-tuple."""
    if isinstance(res, ResourceRef):
        return res
    if isinstance(res, tuple):
        return ResourceRef(*res)
    return ResourceRef(res.group, res.version, res.plural, res.namespaced, getattr(res, "kind", ""))


def resource_path(ref: ResourceRef, namespace: str = "", name: str = "", sub: str = "") -> str:
    """/api/v1/namespaces/ns/pods/name/status, /apis/apps/v1/deployments, ..."""
    parts = [f"/apis/{ref.group}/{ref.version}" if ref.group else f"/api/{ref.version}"]
    if ref.namespaced and namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(ref.plural)
    if name:
        parts.append(quote(name, safe=""))
        if sub:
            parts.append(sub)
    return "/".join(parts)


@functools.cache
def _builtins() -> tuple[ResourceType, ...]:
    return tuple(builtin_resources())


def find_resource(api_version: str, name: str) -> ResourceType:
    """The built-in resource for an apiVersion and a plural, kind or short name."""
    group, _, version = api_version.rpartition("/")
    lowered = name.lower()
    for res in _builtins():
        if res.group != group or res.version != version:
            continue
        if lowered in (res.plural, res.kind.lower(), res.singular) or lowered in res.short_names:
            return res
    raise KeyError(f"no built-in resource {name!r} in {api_version}")
