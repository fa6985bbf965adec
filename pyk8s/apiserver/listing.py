"""LIST: selectors, pagination with continue tokens, consistent reads from the cache."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from pyk8s.api.resources import ResourceType
from pyk8s.apiserver.watchcache import Entry, WatchCache, decode_entry
from pyk8s.machinery import errors, fields, labels
from pyk8s.store.interface import CompactedError, Store

Obj = dict[str, Any]

CONTINUE_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)


def field_values(res: ResourceType, obj: Obj) -> dict[str, str]:
    md = obj.get("metadata", {})
    out = {"metadata.name": md.get("name", "")}
    if res.namespaced:
        out["metadata.namespace"] = md.get("namespace", "")
    for name, getter in res.selectable_fields.items():
        out[name] = getter(obj)
    return out


def supported_fields(res: ResourceType) -> set[str]:
    base = {"metadata.name"} | ({"metadata.namespace"} if res.namespaced else set())
    return base | set(res.selectable_fields)


def make_filter(res: ResourceType, query: Any) -> Callable[[Obj], bool] | None:
    """The object filter for labelSelector and fieldSelector, None when there is none."""
    label_sel = labels.parse_selector(query.get("labelSelector", "") or "")
    field_sel = fields.parse_field_selector(query.get("fieldSelector", "") or "")
    if not field_sel.empty():
        fields.check_supported(field_sel, supported_fields(res), f'"{res.kind}"')
    if label_sel.empty() and field_sel.empty():
        return None

    def matches(obj: Obj) -> bool:
        if not label_sel.empty() and not label_sel.matches(
            obj.get("metadata", {}).get("labels") or {}
        ):
            return False
        return field_sel.empty() or field_sel.matches(field_values(res, obj))

    return matches


def key_prefix(res: ResourceType, namespace: str) -> str:
    return res.store_prefix() + (namespace + "/" if res.namespaced and namespace else "")


def encode_continue(rv: int, start_key: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start_key})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        return int(data["rv"]), str(data["start"])
    except Exception:  # noqa: BLE001 - any malformed token is the client's error
        raise errors.bad_request("continue key is not valid: illegal base64 data") from None


@dataclass
class ListResult:
    entries: list[Entry]
    revision: int
    cont: str = ""
    remaining: int | None = None


async def list_entries(
    store: Store, cache: WatchCache, res: ResourceType, namespace: str, query: Any
) -> ListResult:
    matches = make_filter(res, query)
    limit = _limit(query)
    token = query.get("continue", "")
    prefix = key_prefix(res, namespace)
    if token:
        rv, start = decode_continue(token)
        return await _list_from_store(store, res, prefix, matches, limit, rv, start)
    rv_param = query.get("resourceVersion", "")
    if rv_param not in ("", "0"):
        try:
            wanted = int(rv_param)
        except ValueError:
            raise errors.bad_request(f'invalid resource version "{rv_param}"') from None
        if not await cache.wait_fresh(wanted):
            raise _too_large(wanted, cache.revision)
    elif rv_param == "":
        await cache.wait_fresh()
    revision = cache.revision
    entries = cache.cache(res.store_prefix()).snapshot(prefix)
    if matches is not None:
        entries = [e for e in entries if matches(e.obj)]
    if limit and len(entries) > limit:
        page = entries[:limit]
        return ListResult(
            page, revision, encode_continue(revision, page[-1].key), len(entries) - limit
        )
    return ListResult(entries, revision)


def _limit(query: Any) -> int:
    raw = query.get("limit", "")
    if not raw:
        return 0
    try:
        return max(int(raw), 0)
    except ValueError:
        raise errors.bad_request(f'invalid limit "{raw}"') from None


def _too_large(wanted: int, current: int) -> errors.StatusError:
    return errors.StatusError(
        504,
        "Timeout",
        f"Too large resource version: {wanted}, current: {current}",
        {
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ],
            "retryAfterSeconds": 1,
        },
    )


async def _list_from_store(
    store: Store,
    res: ResourceType,
    prefix: str,
    matches: Callable[[Obj], bool] | None,
    limit: int,
    rv: int,
    start: str,
) -> ListResult:
    """A continued list reads the store as of the first page's revision, for a consistent view."""
    out: list[Entry] = []
    after = start
    batch = max(limit, 500) if limit else 0
    while True:
        try:
            result = await store.range(prefix, start_after=after, limit=batch, revision=rv)
        except CompactedError:
            raise errors.StatusError(410, "Expired", CONTINUE_TOO_OLD) from None
        for kv in result.kvs:
            entry = decode_entry(kv.key, kv.value, kv.mod_revision)
            if matches is None or matches(entry.obj):
                out.append(entry)
                if limit and len(out) == limit:
                    more = result.more or kv is not result.kvs[-1]
                    cont = encode_continue(rv, entry.key) if more else ""
                    return ListResult(out, rv, cont)
        if not result.more or not result.kvs:
            return ListResult(out, rv)
        after = result.kvs[-1].key
