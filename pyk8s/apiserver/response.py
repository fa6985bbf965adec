"""Writing responses: objects, lists from cached bytes, Tables, Status errors, warnings."""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from pyk8s.api import printers
from pyk8s.api.resources import ResourceType
from pyk8s.apiserver.watchcache import Entry
from pyk8s.machinery.errors import StatusError

JSON_CT = "application/json"


def json_response(
    body: Any, status: int = 200, content_type: str = JSON_CT, warnings: list[str] | None = None
) -> web.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    resp = web.Response(body=raw, status=status, content_type=content_type.split(";")[0])
    if ";" in content_type:
        resp.headers["Content-Type"] = content_type
    add_warnings(resp, warnings)
    return resp


def add_warnings(resp: web.StreamResponse, warnings: list[str] | None) -> None:
    for w in warnings or []:
        escaped = w.replace("\\", "\\\\").replace('"', '\\"')
        resp.headers.add("Warning", f'299 - "{escaped}"')


def status_response(err: StatusError) -> web.Response:
    resp = json_response(err.status(), status=err.code)
    for k, v in err.headers.items():
        resp.headers[k] = v
    return resp


def success_status(res: ResourceType, name: str, uid: str = "") -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": res.plural}
    if res.group:
        details["group"] = res.group
    if uid:
        details["uid"] = uid
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def list_bytes(
    res: ResourceType, entries: list[Entry], rv: int, cont: str = "", remaining: int | None = None
) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if cont:
        meta["continue"] = cont
        if remaining is not None:
            meta["remainingItemCount"] = remaining
    head = orjson.dumps({"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta})
    return head[:-1] + b',"items":[' + b",".join(e.raw for e in entries) + b"]}"


def partial_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def partial_metadata_list(entries: list[Entry], rv: int, cont: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if cont:
        meta["continue"] = cont
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "items": [partial_metadata(e.obj) for e in entries],
    }


def include_object(query: Any) -> str:
    return query.get("includeObject", "Metadata") or "Metadata"


def table(
    res: ResourceType,
    objs: list[dict[str, Any]],
    rv: int,
    query: Any,
    cont: str = "",
    with_columns: bool = True,
) -> dict[str, Any]:
    return printers.to_table(
        res.group,
        res.kind,
        objs,
        time.time(),
        include_object=include_object(query),
        resource_version=str(rv),
        continue_token=cont,
        with_columns=with_columns,
    )


TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io"
