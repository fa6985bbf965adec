"""The informer's local cache: objects by "namespace/name" key, plus secondary indexes.

An index is a function from an object to the values it is filed under (a pod under
its node name, a replica set under its owner's uid); `by_index(name, value)` answers
"which objects have this value" without scanning the cache. The "namespace" index
is always there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], list[str]]

NAMESPACE_INDEX = "namespace"


def object_key(obj: Obj) -> str:
    """ "namespace/name", or "name" for a cluster-scoped object (client-go's MetaNamespaceKeyFunc)."""
    md = obj.get("metadata") or {}
    ns, name = md.get("namespace") or "", md.get("name") or ""
    return f"{ns}/{name}" if ns else name


def split_key(key: str) -> tuple[str, str]:
    """The (namespace, name) of a key; namespace is "" for cluster-scoped keys."""
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else ("", key)


def namespace_index(obj: Obj) -> list[str]:
    ns = (obj.get("metadata") or {}).get("namespace")
    return [ns] if ns else []


class Indexer:
    def __init__(self) -> None:
        self._items: dict[str, Obj] = {}
        self._index_fns: dict[str, IndexFunc] = {}
        # index name -> value -> keys filed under that value
        self._indices: dict[str, dict[str, set[str]]] = {}
        # (index name, value) -> its keys sorted, until a key is filed or unfiled there:
        # controllers ask for the same 1,000 pods of an owner at every sync.
        self._sorted: dict[tuple[str, str], tuple[str, ...]] = {}
        self.add_index(NAMESPACE_INDEX, namespace_index)

    def add_index(self, name: str, fn: IndexFunc) -> None:
        """Register an index; objects already cached are filed at once."""
        if name in self._index_fns:
            raise ValueError(f"index {name!r} already exists")
        self._index_fns[name] = fn
        self._indices[name] = {}
        for key, obj in self._items.items():
            self._file(name, key, obj)

    def set(self, key: str, obj: Obj) -> Obj | None:
        """Store `obj` under `key`; returns the object it replaced."""
        old = self._items.get(key)
        self._items[key] = obj
        for name, fn in self._index_fns.items():
            values = fn(obj)
            if old is not None:
                old_values = fn(old)
                if old_values == values:
                    continue  # most updates leave an object's index values alone
                self._unfile(name, key, old_values)
            self._file_values(name, key, values)
        return old

    def pop(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unfile_all(key, old)
        return old

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def list(self) -> list[Obj]:
        return list(self._items.values())

    def keys(self) -> list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def by_index(self, name: str, value: str) -> list[Obj]:
        items = self._items
        return [items[k] for k in self._sorted_keys(name, value)]

    def index_keys(self, name: str, value: str) -> list[str]:
        """Keys filed under `value` in index `name`, sorted for stable output."""
        return list(self._sorted_keys(name, value))

    def _sorted_keys(self, name: str, value: str) -> tuple[str, ...]:
        keys = self._sorted.get((name, value))
        if keys is None:
            try:
                index = self._indices[name]
            except KeyError:
                raise KeyError(f"no index named {name!r}") from None
            keys = tuple(sorted(index.get(value, ())))
            if keys:
                self._sorted[(name, value)] = keys
        return keys

    def index_values(self, name: str) -> list[str]:
        return sorted(self._indices[name])

    def _file(self, name: str, key: str, obj: Obj) -> None:
        self._file_values(name, key, self._index_fns[name](obj))

    def _file_values(self, name: str, key: str, values: list[str]) -> None:
        index = self._indices[name]
        for value in values:
            index.setdefault(value, set()).add(key)
            self._sorted.pop((name, value), None)

    def _unfile(self, name: str, key: str, values: list[str]) -> None:
        index = self._indices[name]
        for value in values:
            keys = index.get(value)
            if keys is None:
                continue
            keys.discard(key)
            self._sorted.pop((name, value), None)
            if not keys:
                del index[value]

    def _unfile_all(self, key: str, obj: Obj) -> None:
        for name, fn in self._index_fns.items():
            self._unfile(name, key, fn(obj))
