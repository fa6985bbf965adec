"""OpenAPI paths and operations of the served resources, in upstream's layout.

Operations are built once in OpenAPI v3 form; `openapi.py` renders them into v3
or, via `to_v2_operation`, Swagger 2.0. Schemas are referenced by definition
name through a `ref(name)` callback, so a document only references definitions
it carries (see `openapi.py`, which collects them from `referenced_definitions`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyk8s.api.resources import ResourceType, Subresource
from pyk8s.api.schema import META, definition_for_kind, definitions

Ref = Callable[[str], dict[str, Any]]

STATUS = META + "Status"
DELETE_OPTIONS = META + "DeleteOptions"
PATCH = META + "Patch"
API_RESOURCE_LIST = META + "APIResourceList"

PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
# Subresources that stream (exec, attach, port-forward, proxy): upstream's "connect" action.
CONNECT = frozenset({"exec", "attach", "portforward", "proxy"})


def _q(name: str, description: str, type_: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": type_, "uniqueItems": True},
    }


PRETTY = _q("pretty", "If 'true', then the output is pretty printed.")
DRY_RUN = _q("dryRun", "When present, modifications are not persisted. Valid value: All.")
FIELD_MANAGER = _q("fieldManager", "Name of the actor making the change, for field management.")
FIELD_VALIDATION = _q(
    "fieldValidation",
    "How the server treats unknown or duplicate fields in the body: Ignore (drop them), "
    "Warn (drop them and return a warning per field) or Strict (fail the request).",
)
FORCE = _q("force", "Force an apply request over conflicts with other managers.", "boolean")
LIST_PARAMS = [
    _q("allowWatchBookmarks", "Ask for BOOKMARK events on a watch.", "boolean"),
    _q("continue", "Continue token from a previous paged list."),
    _q("fieldSelector", "Restrict the list by the objects' fields."),
    _q("labelSelector", "Restrict the list by the objects' labels."),
    _q("limit", "Maximum number of items to return (paged lists).", "integer"),
    _q("resourceVersion", "Which version of the collection to serve (see API conventions)."),
    _q("resourceVersionMatch", "How resourceVersion applies to a list: Exact or NotOlderThan."),
    _q("sendInitialEvents", "Start a watch with synthetic events for existing objects.", "boolean"),
    _q("timeoutSeconds", "Timeout for the list or watch call.", "integer"),
    _q("watch", "Watch for changes instead of listing.", "boolean"),
]
DELETE_PARAMS = [
    DRY_RUN,
    _q("gracePeriodSeconds", "Seconds before the object is deleted; 0 means now.", "integer"),
    _q("orphanDependents", "Deprecated: use propagationPolicy.", "boolean"),
    _q("propagationPolicy", "Garbage collection of dependents: Orphan, Background or Foreground."),
]


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "description": description,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


def group_version_camel(group: str, version: str) -> str:
    """`rbac.authorization.k8s.io` v1 -> `RbacAuthorizationV1` (core: `CoreV1`)."""
    name = group.removesuffix(".k8s.io") if group else "core"
    return (
        "".join(p[:1].upper() + p[1:] for p in name.split(".")) + version[:1].upper() + version[1:]
    )


def tag(group: str, version: str) -> str:
    """`apps_v1`, `core_v1`, `rbacAuthorization_v1`, as upstream tags operations."""
    camel = group_version_camel(group, version)[: -len(version)]
    return f"{camel[:1].lower()}{camel[1:]}_{version}"


def base_path(group: str, version: str) -> str:
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


def _json(ref: Ref, name: str | None) -> dict[str, Any]:
    # `ref.known`: definitions the document carries besides the type schema's.
    if name is None or (name not in definitions() and name not in getattr(ref, "known", ())):
        return {"schema": {"type": "string"}}
    return {"schema": ref(name)}


def _responses(ref: Ref, codes: dict[str, str | None], *, text: bool = False) -> dict[str, Any]:
    names = {"200": "OK", "201": "Created", "202": "Accepted"}
    out: dict[str, Any] = {}
    for code, schema_name in codes.items():
        media = "text/plain" if text else "application/json"
        out[code] = {"description": names[code], "content": {media: _json(ref, schema_name)}}
    out["401"] = {"description": "Unauthorized"}
    return out


class _Ops:
    """Builds the operations of one resource (or subresource) path."""

    def __init__(self, res: ResourceType, ref: Ref) -> None:
        self.res = res
        self.ref = ref
        self.camel = group_version_camel(res.group, res.version)
        self.scope = "Namespaced" if res.namespaced else ""

    def op(
        self,
        verb: str,
        op_id: str,
        action: str,
        gvk: dict[str, str],
        params: list[dict[str, Any]],
        responses: dict[str, Any],
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tags": [tag(self.res.group, self.res.version)],
            "description": f"{verb} {gvk['kind']}",
            "operationId": op_id,
            "parameters": params,
        }
        if body is not None:
            out["requestBody"] = body
        out["responses"] = responses
        out["x-kubernetes-action"] = action
        out["x-kubernetes-group-version-kind"] = gvk
        return out

    def body(self, name: str | None, types: tuple[str, ...] = ("application/json",)) -> dict:
        return {"content": {t: _json(self.ref, name) for t in types}, "required": True}

    def write_ops(self, suffix: str, kind_def: str | None, gvk: dict[str, str], verbs) -> dict:
        """get / put / patch on an item or a status-like subresource."""
        ops: dict[str, Any] = {}
        name = f"{self.camel}{self.scope}{self.res.kind}{suffix}"
        ok = _responses(self.ref, {"200": kind_def})
        if "get" in verbs:
            ops["get"] = self.op("read", "read" + name, "get", gvk, [], ok)
        if "update" in verbs:
            params = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION]
            codes = _responses(self.ref, {"200": kind_def, "201": kind_def})
            ops["put"] = self.op(
                "replace", "replace" + name, "put", gvk, params, codes, self.body(kind_def)
            )
        if "patch" in verbs:
            params = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE]
            codes = _responses(self.ref, {"200": kind_def, "201": kind_def})
            ops["patch"] = self.op(
                "partially update", "patch" + name, "patch", gvk, params, codes,
                self.body(PATCH, PATCH_TYPES),
            )  # fmt: skip
        return ops


def _kind_def(group: str, version: str, kind: str) -> str | None:
    name = definition_for_kind(group, version, kind)
    return name if name in definitions() else None


def resource_paths(res: ResourceType, ref: Ref) -> dict[str, dict[str, Any]]:
    """Every path of one resource: collection, item, all-namespaces list, subresources."""
    b = _Ops(res, ref)
    gvk = _gvk(res.group, res.version, res.kind)
    kind_def = res.definition or _kind_def(res.group, res.version, res.kind)
    list_def = _kind_def(res.group, res.version, res.list_kind)
    if list_def is None and res.definition + "List" in res.openapi_schemas:
        list_def = res.definition + "List"
    ns_part = "/namespaces/{namespace}" if res.namespaced else ""
    coll = f"{base_path(res.group, res.version)}{ns_part}/{res.plural}"
    common = [PRETTY]
    if res.namespaced:
        common = [_path_param("namespace", "object name and auth scope"), PRETTY]
    name_param = _path_param("name", f"name of the {res.kind}")
    paths: dict[str, dict[str, Any]] = {}

    coll_ops: dict[str, Any] = {}
    if "list" in res.verbs:
        coll_ops["get"] = b.op(
            "list", f"list{b.camel}{b.scope}{res.kind}", "list", gvk, list(LIST_PARAMS),
            _responses(ref, {"200": list_def}),
        )  # fmt: skip
    if "create" in res.verbs:
        codes = {"200": kind_def, "201": kind_def, "202": kind_def}
        coll_ops["post"] = b.op(
            "create", f"create{b.camel}{b.scope}{res.kind}", "post", gvk,
            [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION], _responses(ref, codes), b.body(kind_def),
        )  # fmt: skip
    if "deletecollection" in res.verbs:
        coll_ops["delete"] = b.op(
            "delete collection of", f"delete{b.camel}Collection{b.scope}{res.kind}",
            "deletecollection", gvk, DELETE_PARAMS + LIST_PARAMS,
            _responses(ref, {"200": STATUS}), b.body(DELETE_OPTIONS),
        )  # fmt: skip
    if coll_ops:
        paths[coll] = {**coll_ops, "parameters": common}

    item_ops = b.write_ops("", kind_def, gvk, res.verbs)
    if "delete" in res.verbs:
        item_ops["delete"] = b.op(
            "delete", f"delete{b.camel}{b.scope}{res.kind}", "delete", gvk, list(DELETE_PARAMS),
            _responses(ref, {"200": STATUS, "202": STATUS}), b.body(DELETE_OPTIONS),
        )  # fmt: skip
    if item_ops:
        paths[coll + "/{name}"] = {**item_ops, "parameters": [name_param, *common]}

    if res.namespaced and "list" in res.verbs:
        all_ns = f"{base_path(res.group, res.version)}/{res.plural}"
        op = b.op(
            "list", f"list{b.camel}{res.kind}ForAllNamespaces", "list", gvk, list(LIST_PARAMS),
            _responses(ref, {"200": list_def}),
        )  # fmt: skip
        paths[all_ns] = {"get": op, "parameters": [PRETTY]}

    for sub in res.subresources.values():
        ops = _subresource_ops(b, sub)
        if ops:
            paths[f"{coll}/{{name}}/{sub.name}"] = {**ops, "parameters": [name_param, *common]}
    return paths


def _subresource_ops(b: _Ops, sub: Subresource) -> dict[str, Any]:
    gvk = _gvk(sub.group, sub.version, sub.kind)
    suffix = sub.name[:1].upper() + sub.name[1:]
    if sub.name in CONNECT:
        return _connect_ops(b, sub, gvk, suffix)
    if sub.name == "log":
        resp = _responses(b.ref, {"200": None}, text=True)
        return {"get": b.op("read log of", f"read{b.camel}{b.scope}{b.res.kind}Log", "get",
                            gvk, [], resp)}  # fmt: skip
    kind_def = _kind_def(sub.group, sub.version, sub.kind)
    ops = b.write_ops(suffix, kind_def, gvk, sub.verbs)
    if "create" in sub.verbs:
        codes = {"200": kind_def, "201": kind_def, "202": kind_def}
        ops["post"] = b.op(
            "create", f"create{b.camel}{b.scope}{b.res.kind}{suffix}", "post", gvk,
            [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION], _responses(b.ref, codes),
            b.body(kind_def),
        )  # fmt: skip
    return ops


_CONNECT_METHODS = {"get": "get", "create": "post", "update": "put", "patch": "patch"}


def _connect_ops(b: _Ops, sub: Subresource, gvk: dict[str, str], suffix: str) -> dict[str, Any]:
    ops: dict[str, Any] = {}
    for verb in sub.verbs:
        method = _CONNECT_METHODS.get(verb, verb)
        op_id = f"connect{method.capitalize()}{b.camel}{b.scope}{b.res.kind}{suffix}"
        resp = _responses(b.ref, {"200": None}, text=True)
        ops[method] = b.op("connect", op_id, "connect", gvk, [], resp)
    return ops


def resource_list_path(group: str, version: str, ref: Ref) -> dict[str, dict[str, Any]]:
    """`GET /apis/<g>/<v>/`: the group-version's APIResourceList."""
    camel = group_version_camel(group, version)
    op = {
        "tags": [tag(group, version)],
        "description": "get available resources",
        "operationId": f"get{camel}APIResources",
        "responses": _responses(ref, {"200": API_RESOURCE_LIST}),
    }
    return {base_path(group, version) + "/": {"get": op}}


def to_v2_operation(op: dict[str, Any]) -> dict[str, Any]:
    """Swagger 2.0 form of a v3 operation: body parameter, consumes/produces, flat params.

    Schemas are moved as they are: build the operation with a v2 `ref` callback.
    """
    out = {k: v for k, v in op.items() if k not in ("requestBody", "responses", "parameters")}
    params = [to_v2_parameter(p) for p in op.get("parameters", [])]
    body = op.get("requestBody")
    if body is not None:
        media = list(body["content"])
        schema = body["content"][media[0]]["schema"]
        params.insert(0, {"name": "body", "in": "body", "required": True, "schema": schema})
        out["consumes"] = media
    out["parameters"] = params
    produces: list[str] = []
    responses: dict[str, Any] = {}
    for code, resp in op["responses"].items():
        r = {"description": resp["description"]}
        for media, content in resp.get("content", {}).items():
            if media not in produces:
                produces.append(media)
            r["schema"] = content["schema"]
        responses[code] = r
    out["produces"] = produces or ["application/json"]
    out["responses"] = responses
    out["schemes"] = ["https"]
    return out


def to_v2_parameter(p: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in p.items() if k != "schema"}
    out.update(p.get("schema", {}))
    return out
