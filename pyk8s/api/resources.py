"""The resource table: every kind's group/version/resource, scope and behaviour.

One entry per resource drives routing, discovery, OpenAPI, printing and the store
layout. The table can grow at run time (`ResourceTable.add`), which is how custom
resources will arrive without a redesign.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pyk8s.api.strategy import Strategy

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Subresource:
    name: str
    # The kind the subresource accepts/returns (group, version, kind).
    group: str
    version: str
    kind: str
    verbs: tuple[str, ...]


@dataclass
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    verbs: list[str] = field(default_factory=lambda: list(ALL_VERBS))
    subresources: dict[str, Subresource] = field(default_factory=dict)
    # OpenAPI definition name, e.g. io.k8s.api.apps.v1.Deployment.
    definition: str = ""
    strategy: Strategy = field(default_factory=Strategy)
    # Extra field selectors beyond metadata.name / metadata.namespace: name -> getter.
    selectable_fields: dict[str, Callable[[dict[str, Any]], str]] = field(default_factory=dict)
    # Names that differ from the kind's defaults (custom resources choose their own).
    singular_name: str = ""
    list_kind_name: str = ""
    # OpenAPI v3 schemas this resource brings itself (definition name -> schema), for
    # kinds the type schema does not know (custom resources).
    openapi_schemas: dict[str, Any] = field(default_factory=dict)

    @property
    def singular(self) -> str:
        return self.singular_name or self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.list_kind_name or self.kind + "List"

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def store_prefix(self) -> str:
        """Keys are /registry/<group>/<plural>/<namespace>/<name> (core group: "core")."""
        return f"/registry/{self.group or 'core'}/{self.plural}/"

    def key(self, namespace: str, name: str) -> str:
        if self.namespaced:
            return f"{self.store_prefix()}{namespace}/{name}"
        return f"{self.store_prefix()}{name}"


def builtin_resources() -> list[ResourceType]:
    """Every built-in resource (the table itself is in pyk8s/api/builtin.py)."""
    from pyk8s.api.builtin import builtin_resources as table

    return table()


class ResourceTable:
    """All served resources, indexed for routing and discovery."""

    def __init__(self, resources: list[ResourceType] | None = None) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._listeners: list[Callable[[], None]] = []
        for res in resources if resources is not None else builtin_resources():
            self.add(res, notify=False)

    def add(self, res: ResourceType, notify: bool = True) -> None:
        self._by_gvr[(res.group, res.version, res.plural)] = res
        if notify:
            for cb in self._listeners:
                cb()

    def remove(self, group: str, version: str, plural: str) -> None:
        self._by_gvr.pop((group, version, plural), None)
        for cb in self._listeners:
            cb()

    def on_change(self, cb: Callable[[], None]) -> None:
        self._listeners.append(cb)

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        for res in self._by_gvr.values():
            if res.group == group and res.version == version and res.kind == kind:
                return res
        return None

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._by_gvr.values()))

    def groups(self) -> dict[str, list[str]]:
        """group -> versions, in table order (the core group is "")."""
        out: dict[str, list[str]] = {}
        for res in self._by_gvr.values():
            versions = out.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)
        return out
