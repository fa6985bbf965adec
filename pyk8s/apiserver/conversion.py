"""Serving one storage in several versions (custom resources, conversion strategy None).

Objects are stored in the storage version; a read through another version gets the
same object with its apiVersion rewritten, as upstream's "None" converter does. Only
resources whose strategy is `convertible` pay for this.
"""

from __future__ import annotations

import re
from typing import Any

from pyk8s.api.resources import ResourceType
from pyk8s.apiserver.watchcache import Entry

Obj = dict[str, Any]

# Stored objects start with their apiVersion (registry.encode_for_store).
_HEAD = re.compile(rb'^\{"apiVersion":"[^"\\]*"')


def converts(res: ResourceType) -> bool:
    return res.strategy.convertible


def served_raw(res: ResourceType, raw: bytes) -> bytes:
    """Stored bytes as served through `res`'s version."""
    if not res.strategy.convertible:
        return raw
    head = b'{"apiVersion":"' + res.api_version.encode() + b'"'
    out, n = _HEAD.subn(head, raw, count=1)
    return out if n else raw


def served(res: ResourceType, obj: Obj) -> Obj:
    """A (shallow) copy of a stored object as served through `res`'s version."""
    if not res.strategy.convertible or obj.get("apiVersion") == res.api_version:
        return obj
    return {**obj, "apiVersion": res.api_version}


def served_entry(res: ResourceType, entry: Entry) -> Entry:
    if not res.strategy.convertible:
        return entry
    return Entry(entry.key, None, served_raw(res, entry.raw), entry.rv)


def stored(res: ResourceType, obj: Obj) -> Obj:
    """The object as it is written: in the storage version."""
    version = res.strategy.storage_api_version
    if not res.strategy.convertible or not version or obj.get("apiVersion") == version:
        return obj
    return {**obj, "apiVersion": version}
