"""What one sync can reuse from the last: a Service's ports and an EndpointSlice's
endpoints by the object's resourceVersion, and a service port's rules by their
inputs. With 1,000 services an EndpointSlice change then re-derives one
service's rules instead of all of them. Entries not used by a build are dropped
at its end, so the memo holds exactly the current objects."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from pyk8s.proxy.model import Endpoint, Obj, PortKey, ServicePort, service_ports, slice_endpoints

V = TypeVar("V")


class _Generational(Generic[V]):
    """A dict whose entries survive a round only if they were read or written in it."""

    def __init__(self) -> None:
        self._old: dict[Hashable, V] = {}
        self._new: dict[Hashable, V] = {}

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        if key in self._new:
            return self._new[key]
        value = self._old[key] if key in self._old else make()
        self._new[key] = value
        return value

    def end_round(self) -> None:
        self._old, self._new = self._new, {}


def _version_key(obj: Obj) -> Hashable | None:
    md = obj.get("metadata") or {}
    rv = md.get("resourceVersion")
    if not rv:
        return None  # not from a server (unit tests): nothing to key on
    return (md.get("uid") or f"{md.get('namespace')}/{md.get('name')}", rv)


class Memo:
    def __init__(self) -> None:
        self._ports: _Generational[list[ServicePort]] = _Generational()
        self._slices: _Generational[dict[PortKey, list[Endpoint]]] = _Generational()
        self._fragments: _Generational[Any] = _Generational()

    def service_ports(self, svc: Obj) -> list[ServicePort]:
        key = _version_key(svc)
        return (
            service_ports(svc) if key is None else self._ports.get(key, lambda: service_ports(svc))
        )

    def slice_endpoints(self, es: Obj) -> dict[PortKey, list[Endpoint]]:
        key = _version_key(es)
        return (
            slice_endpoints(es)
            if key is None
            else self._slices.get(key, lambda: slice_endpoints(es))
        )

    def fragment(self, key: Hashable, make: Callable[[], V]) -> V:
        return self._fragments.get(key, make)

    def end_round(self) -> None:
        for table in (self._ports, self._slices, self._fragments):
            table.end_round()
