"""Reading a request: which resource and verb a path names, and the body's object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from pyk8s.api.resources import ResourceTable, ResourceType
from pyk8s.machinery import errors

MAX_BODY = 3 * 1024 * 1024  # upstream's default request body limit
MAX_NODES = 1_000_000  # a YAML alias bomb expands past this
MAX_DEPTH = 200

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


@dataclass
class RequestInfo:
    res: ResourceType
    namespace: str
    name: str
    subresource: str
    verb: str  # get list watch create update patch delete deletecollection


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def resolve(table: ResourceTable, method: str, path: str, query: Any) -> RequestInfo | None:
    """Map a resource path to its RequestInfo; None when it names no resource."""
    seg = _segments(path)
    if len(seg) >= 2 and seg[0] == "api":
        group, version, rest = "", seg[1], seg[2:]
    elif len(seg) >= 3 and seg[0] == "apis":
        group, version, rest = seg[1], seg[2], seg[3:]
    else:
        return None
    watch_path = False
    if rest and rest[0] == "watch":  # the deprecated /watch/ paths
        watch_path, rest = True, rest[1:]
    if not rest:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns_res = table.get(group, version, rest[2])
        if ns_res is not None and ns_res.namespaced:
            namespace, rest = rest[1], rest[2:]
    res = table.get(group, version, rest[0])
    if res is None or len(rest) > 3:
        return None
    if res.namespaced and not namespace and len(rest) > 1:
        return None  # a namespaced object needs its namespace in the path
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in res.subresources:
        return None
    return RequestInfo(res, namespace, name, sub, _verb(method, bool(name), watch_path, query))


def _verb(method: str, has_name: bool, watch_path: bool, query: Any) -> str:
    if method == "GET":
        if watch_path or query.get("watch") in ("1", "true", "True"):
            return "watch"
        return "get" if has_name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    return method.lower()


def media_type(request: web.Request) -> str:
    ct = request.headers.get("Content-Type", "")
    return ct.split(";", 1)[0].strip().lower() or JSON


async def read_body(request: web.Request) -> bytes:
    if request.content_length is not None:
        if request.content_length > MAX_BODY:
            raise errors.request_entity_too_large(MAX_BODY)
        return await request.read()
    chunks = []
    total = 0
    async for chunk in request.content.iter_chunked(65536):
        total += len(chunk)
        if total > MAX_BODY:
            raise errors.request_entity_too_large(MAX_BODY)
        chunks.append(chunk)
    return b"".join(chunks)


def _check_size(value: Any) -> None:
    """Bound the expanded size and depth of a decoded document (YAML aliases share nodes)."""
    count = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise errors.bad_request("the request body is too large once expanded")
        if depth > MAX_DEPTH:
            raise errors.bad_request("the request body is nested too deeply")
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v)


def decode_json(body: bytes, what: str = "") -> Any:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        prefix = f"{what} " if what else ""
        raise errors.bad_request(
            f"{prefix}couldn't get version/kind; json parse error: {e}"
        ) from None
    # A JSON document has no aliases: it can only exceed the limits with more bytes
    # than MAX_NODES or more brackets than MAX_DEPTH (two C-speed counts, where the
    # walk costs ~0.1 ms for a pod).
    if len(body) > MAX_NODES or body.count(b"{") + body.count(b"[") > MAX_DEPTH:
        _check_size(value)
    return value


class _NoDatesLoader(yaml.SafeLoader):
    """YAML 1.1 timestamps stay strings, as Kubernetes' YAML decoding keeps them."""


_NoDatesLoader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def decode_yaml(body: bytes) -> Any:
    try:
        value = yaml.load(body, Loader=_NoDatesLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        raise errors.bad_request(f"error converting YAML to JSON: {e}") from None
    except RecursionError:
        raise errors.bad_request("the request body is nested too deeply") from None
    _check_size(value)
    return value


def decode_object(body: bytes, content_type: str) -> dict[str, Any]:
    """The object in a create/update body, JSON, YAML or Kubernetes protobuf."""
    if not body:
        raise errors.bad_request("the request body is empty; an object is required")
    if content_type == PROTOBUF:
        from pyk8s.machinery.protobuf import decode_object as decode_pb

        return decode_pb(body)
    if content_type in (JSON, "", "*/*", "text/plain"):
        obj = decode_json(body)
    elif content_type in (YAML, "application/x-yaml", "text/yaml"):
        obj = decode_yaml(body)
    else:
        raise errors.unsupported_media_type(f"{JSON}, {YAML}, {PROTOBUF}")
    if not isinstance(obj, dict):
        raise errors.bad_request("the body of the request was not a JSON object")
    return obj


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def wants_partial_metadata(accept: str) -> bool:
    return "as=PartialObjectMetadata" in accept


def bool_param(query: Any, name: str) -> bool:
    return query.get(name, "") in ("1", "true", "True")


def int_param(query: Any, name: str, default: int = 0) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(f'invalid value for {name}: "{raw}"') from None


def dry_run(query: Any) -> bool:
    values = query.getall("dryRun", [])
    for v in values:
        if v != "All":
            raise errors.bad_request(f'Invalid dry run value: "{v}". Only "All" is supported')
    return bool(values)
