"""OpenAPI documents of the served API: v3 per group-version (what kubectl reads for
validation, apply and explain) and one Swagger 2.0 document.

Schemas come from the type schema (`schema.py`), paths from the resource table
(`openapi_paths.py`). Building is slow-ish, so `OpenAPICache` builds each
document once per table version and keeps its serialized bytes and hash.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterable
from typing import Any

import orjson

from pyk8s.api import openapi_paths as op
from pyk8s.api.resources import ResourceTable, ResourceType
from pyk8s.api.schema import META, definition_for_kind, definitions, schema_for

V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"
DEFAULT_INFO_VERSION = "v1.32.4"

# The synthetic scalar definitions, rendered as upstream publishes them: v2 has a
# single type; v3 lists the union (kube-openapi's OpenAPIV3OneOfTypes).
_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "int-or-string": {"type": "string", "format": "int-or-string"},
    "quantity": {"type": "string"},
    "time": {"type": "string", "format": "date-time"},
    "any": {"type": "object"},
}
_SCALAR_SCHEMAS_V3: dict[str, dict[str, Any]] = {
    **_SCALAR_SCHEMAS,
    "int-or-string": {
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "format": "int-or-string",
    },
    "quantity": {"oneOf": [{"type": "string"}, {"type": "number"}]},
}
_SECURITY = {
    "BearerToken": {
        "type": "apiKey",
        "description": "Bearer Token authentication",
        "name": "authorization",
        "in": "header",
    }
}


# ---------------------------------------------------------------- schemas


def _refs_of(prop: dict[str, Any]) -> Iterable[str]:
    if "ref" in prop:
        yield prop["ref"]
    if "items" in prop:
        yield from _refs_of(prop["items"])


def closure(roots: Iterable[str]) -> list[str]:
    """Every definition reachable from `roots`, sorted."""
    defs = definitions()
    seen: set[str] = set()
    stack = [r for r in roots if r in defs]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for prop in defs[name].get("properties", {}).values():
            stack.extend(r for r in _refs_of(prop) if r not in seen)
    return sorted(seen)


def _type_schema(prop: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A value's schema without description: $ref, array, map or scalar."""
    if "ref" in prop:
        return {"$ref": prefix + prop["ref"]}
    t = prop.get("type", "any")
    if t == "array":
        return {"type": "array", "items": _type_schema(prop["items"], prefix)}
    if t == "map":
        return {"type": "object", "additionalProperties": _type_schema(prop["items"], prefix)}
    if t == "any":
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    out = {"type": t}
    if "format" in prop:
        out["format"] = prop["format"]
    return out


def _property_schema(owner: str, field: str, prop: dict[str, Any], v3: bool) -> dict[str, Any]:
    node = schema_for(owner).property(field)
    assert node is not None
    prefix = V3_PREFIX if v3 else V2_PREFIX
    schema = _type_schema(prop, prefix)
    if "$ref" in schema and v3:
        # OpenAPI 3.0 ignores siblings of $ref: upstream wraps it in allOf.
        schema = {"allOf": [schema]}
    # Only the field's own text: explain prints the referenced type's description
    # after it, so falling back to that here would print it twice.
    if prop.get("description"):
        schema["description"] = prop["description"]
    if node.patch_strategy:
        schema["x-kubernetes-patch-strategy"] = node.patch_strategy
    if node.patch_merge_key:
        schema["x-kubernetes-patch-merge-key"] = node.patch_merge_key
    return schema


def render_definition(name: str, v3: bool, gvks: list[dict[str, str]] | None = None) -> dict:
    raw = definitions()[name]
    t = raw.get("type", "object")
    out: dict[str, Any] = {"description": raw.get("description", "")}
    if t in _SCALAR_SCHEMAS:
        out.update((_SCALAR_SCHEMAS_V3 if v3 else _SCALAR_SCHEMAS)[t])
        return out
    out["type"] = "object"
    props = raw.get("properties", {})
    if props:
        out["properties"] = {
            field: _property_schema(name, field, prop, v3) for field, prop in props.items()
        }
    if raw.get("required"):
        out["required"] = list(raw["required"])
    if gvks:
        out["x-kubernetes-group-version-kind"] = gvks
    return out


# ---------------------------------------------------------------- facts per group-version


def _gv_resources(table: ResourceTable, group: str, version: str) -> list[ResourceType]:
    return [r for r in table if r.group == group and r.version == version]


def _add_gvk(gvks: dict[str, list[dict[str, str]]], name: str | None, g: str, v: str, k: str):
    if name and name in definitions():
        entry = {"group": g, "kind": k, "version": v}
        if entry not in gvks.setdefault(name, []):
            gvks[name].append(entry)


def _kind_gvks(resources: list[ResourceType]) -> dict[str, list[dict[str, str]]]:
    """Definition -> x-kubernetes-group-version-kind for kinds, lists, subresource bodies."""

    gvks: dict[str, list[dict[str, str]]] = {}
    for r in resources:
        _add_gvk(gvks, r.definition or definition_for_kind(r.group, r.version, r.kind),
                 r.group, r.version, r.kind)  # fmt: skip
        _add_gvk(gvks, definition_for_kind(r.group, r.version, r.list_kind),
                 r.group, r.version, r.list_kind)  # fmt: skip
        for s in r.subresources.values():
            _add_gvk(gvks, definition_for_kind(s.group, s.version, s.kind),
                     s.group, s.version, s.kind)  # fmt: skip
        for meta_kind in ("DeleteOptions", "WatchEvent"):
            _add_gvk(gvks, META + meta_kind, r.group, r.version, meta_kind)
    _add_gvk(gvks, META + "Status", "", "v1", "Status")
    return gvks


class _Refs:
    """A `ref` callback that remembers what the paths reference."""

    def __init__(self, prefix: str, known: set[str] | None = None) -> None:
        self.prefix = prefix
        self.names: set[str] = set()
        # Definitions outside the type schema that the document carries (custom resources).
        self.known: set[str] = known or set()

    def __call__(self, name: str) -> dict[str, Any]:
        self.names.add(name)
        return {"$ref": self.prefix + name}


def _schemas(roots: Iterable[str], gvks: dict[str, list[dict[str, str]]], v3: bool) -> dict:
    return {n: render_definition(n, v3, gvks.get(n)) for n in closure(roots)}


# ---------------------------------------------------------------- v3 documents


def _v3(info_version: str, paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": info_version},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": _SECURITY},
        "security": [{"BearerToken": []}],
    }


def openapi_v3_document(
    table: ResourceTable, group: str, version: str, info_version: str = DEFAULT_INFO_VERSION
) -> dict[str, Any]:
    """The OpenAPI 3.0 document of one group-version (`/openapi/v3/apis/<g>/<v>`)."""
    resources = _gv_resources(table, group, version)
    custom = {name: s for r in resources for name, s in r.openapi_schemas.items()}
    refs = _Refs(V3_PREFIX, set(custom))
    paths = op.resource_list_path(group, version, refs)
    for res in resources:
        paths.update(op.resource_paths(res, refs))
    gvks = _kind_gvks(resources)
    roots = refs.names | set(gvks)
    if custom:
        # Custom resource schemas reference the standard metadata types.
        roots |= {META + "ObjectMeta", META + "ListMeta"}
    return _v3(info_version, paths, {**_schemas(roots, gvks, True), **custom})


def _get_op(op_id: str, tag: str, ref: _Refs, schema: str) -> dict[str, Any]:
    content = {"application/json": {"schema": ref(schema)}}
    return {
        "get": {
            "tags": [tag],
            "description": "get available API versions" if "Versions" in op_id else "get info",
            "operationId": op_id,
            "responses": {
                "200": {"description": "OK", "content": content},
                "401": {"description": "Unauthorized"},
            },
        }
    }


def _root_document(path: str, info_version: str) -> dict[str, Any]:
    """`api`, `apis` or `apis/<group>`: the small discovery documents."""
    refs = _Refs(V3_PREFIX)
    if path == "api":
        paths = {"/api/": _get_op("getCoreAPIVersions", "core", refs, META + "APIVersions")}
    elif path == "apis":
        paths = {"/apis/": _get_op("getAPIVersions", "apis", refs, META + "APIGroupList")}
    else:
        group = path.split("/", 1)[1]
        camel = op.group_version_camel(group, "v")[:-1]
        tag = camel[:1].lower() + camel[1:]
        paths = {f"/{path}/": _get_op(f"get{camel}APIGroup", tag, refs, META + "APIGroup")}
    return _v3(info_version, paths, _schemas(refs.names, {}, True))


def document_paths(table: ResourceTable) -> list[str]:
    """The index's keys: `api`, `api/v1`, `apis`, `apis/<g>`, `apis/<g>/<v>`."""
    out = ["api", "apis"]
    for group, versions in table.groups().items():
        if group:
            out.append(f"apis/{group}")
        out.extend(op.base_path(group, v).lstrip("/") for v in versions)
    return out


def openapi_v3_path_document(
    table: ResourceTable, path: str, info_version: str = DEFAULT_INFO_VERSION
) -> dict[str, Any] | None:
    """The document behind one index key, or None if the table has no such path."""
    if path not in document_paths(table):
        return None
    parts = path.split("/")
    if path == "api/v1" or len(parts) == 3:
        group = "" if parts[0] == "api" else parts[1]
        return openapi_v3_document(table, group, parts[-1], info_version)
    return _root_document(path, info_version)


def serialize(doc: dict[str, Any]) -> tuple[bytes, str]:
    """Stable bytes and upstream-style hash (uppercase hex SHA-512) of a document."""
    body = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    return body, hashlib.sha512(body).hexdigest().upper()


def openapi_v3_index(table: ResourceTable, info_version: str = DEFAULT_INFO_VERSION) -> dict:
    """`GET /openapi/v3`: each document's URL, with a content hash for caching."""
    paths = {}
    for path in document_paths(table):
        doc = openapi_v3_path_document(table, path, info_version)
        _, digest = serialize(doc or {})
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


# ---------------------------------------------------------------- v2


def openapi_v2(table: ResourceTable, info_version: str = DEFAULT_INFO_VERSION) -> dict[str, Any]:
    """One Swagger 2.0 document for the whole API (JSON; kubectl only asks for protobuf)."""
    refs = _Refs(V2_PREFIX)
    paths: dict[str, Any] = {}
    resources = list(table)
    for group, versions in table.groups().items():
        for version in versions:
            paths.update(op.resource_list_path(group, version, refs))
    for res in resources:
        paths.update(op.resource_paths(res, refs))
    for item in paths.values():
        for method, operation in list(item.items()):
            if method == "parameters":
                item[method] = [op.to_v2_parameter(p) for p in operation]
            else:
                item[method] = op.to_v2_operation(operation)
    gvks = _kind_gvks(resources)
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": info_version},
        "paths": paths,
        "definitions": _schemas(refs.names | set(gvks), gvks, False),
        "securityDefinitions": _SECURITY,
        "security": [{"BearerToken": []}],
    }


# ---------------------------------------------------------------- cache


class OpenAPICache:
    """Serialized documents, built on first request and dropped when the table changes."""

    def __init__(self, table: ResourceTable, info_version: str = DEFAULT_INFO_VERSION) -> None:
        self.table = table
        self.info_version = info_version
        self._docs: dict[str, tuple[bytes, str] | None] = {}
        self._index: bytes | None = None
        self._v2: bytes | None = None
        table.on_change(self.invalidate)

    def invalidate(self) -> None:
        self._docs.clear()
        self._index = None
        self._v2 = None

    def document(self, path: str) -> tuple[bytes, str] | None:
        """(JSON bytes, hash) of `/openapi/v3/<path>`, or None when not served."""
        path = path.strip("/")
        if path not in self._docs:
            doc = openapi_v3_path_document(self.table, path, self.info_version)
            self._docs[path] = serialize(doc) if doc is not None else None
        return self._docs[path]

    def index(self) -> bytes:
        if self._index is None:
            paths = {}
            for path in document_paths(self.table):
                entry = self.document(path)
                assert entry is not None
                paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={entry[1]}"}
            self._index = orjson.dumps({"paths": paths})
        return self._index

    def v2(self) -> bytes:
        if self._v2 is None:
            self._v2 = orjson.dumps(openapi_v2(self.table, self.info_version))
        return self._v2


# One cache per table, for callers that hold only the table (the HTTP layer).
_CACHES: weakref.WeakKeyDictionary[ResourceTable, OpenAPICache] = weakref.WeakKeyDictionary()


def cache_for(table: ResourceTable) -> OpenAPICache:
    cache = _CACHES.get(table)
    if cache is None:
        cache = _CACHES[table] = OpenAPICache(table)
    return cache


def openapi_v3_index_bytes(table: ResourceTable) -> bytes:
    """Serialized `GET /openapi/v3`."""
    return cache_for(table).index()


def openapi_v3_path_bytes(table: ResourceTable, path: str) -> bytes | None:
    """Serialized `GET /openapi/v3/<path>` for any index key (`api`, `apis/apps/v1`, ...)."""
    entry = cache_for(table).document(path)
    return entry[0] if entry is not None else None


def openapi_v3_document_bytes(table: ResourceTable, group: str, version: str) -> bytes | None:
    """Serialized group-version document, or None when the table serves no such version."""
    return openapi_v3_path_bytes(table, op.base_path(group, version))


def openapi_v2_bytes(table: ResourceTable) -> bytes:
    return cache_for(table).v2()
