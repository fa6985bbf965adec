"""HTTP handlers for resource paths: one entry point that resolves the path against the
resource table and runs the verb."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from pyk8s.api import schema
from pyk8s.api.fieldcheck import check_and_prune
from pyk8s.api.resources import ResourceType
from pyk8s.apiserver import conversion, listing, response, subresources
from pyk8s.apiserver import request as rq
from pyk8s.apiserver.registry import Context
from pyk8s.apiserver.watch import serve_watch
from pyk8s.machinery import errors, patch

if TYPE_CHECKING:
    from pyk8s.apiserver.server import APIServer

Obj = dict[str, Any]
FIELD_VALIDATION = ("Strict", "Warn", "Ignore")


def _context(request: web.Request) -> Context:
    return Context(
        dry_run=rq.dry_run(request.query), field_manager=request.query.get("fieldManager", "")
    )


def _field_validation(query: Any) -> str:
    mode = query.get("fieldValidation", "") or "Warn"
    if mode not in FIELD_VALIDATION:
        raise errors.bad_request(
            f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{mode}"'
        )
    return mode


def check_fields(res: ResourceType, obj: Obj, mode: str, ctx: Context) -> None:
    """Unknown fields: refused (Strict), warned about (Warn) or dropped (Ignore), as upstream.

    Upstream decodes into typed structs, which drops unknown fields in every mode; wrongly
    typed values fail decoding whatever the mode.
    """
    node = schema.schema_for_kind(res.group, res.version, res.kind)
    if node is None:
        # Kinds with a schema of their own (custom resources) prune themselves and
        # report what they dropped; type errors are theirs to report on validation.
        prune = getattr(res.strategy, "prune_unknown", None)
        if prune is not None:
            _report_unknown(res, prune(obj), mode, ctx)
        return
    # One walk: type errors, unknown fields, and those fields pruned.
    problems, unknown = check_and_prune(obj, node)
    if problems:
        raise errors.bad_request(
            f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: {problems[0]}'
        )
    _report_unknown(res, unknown, mode, ctx)


def _report_unknown(res: ResourceType, unknown: list[str], mode: str, ctx: Context) -> None:
    if not unknown:
        return
    texts = [f'unknown field "{p}"' for p in unknown]
    if mode == "Strict":
        raise errors.bad_request(
            f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
            f"strict decoding error: {', '.join(texts)}"
        )
    if mode == "Warn":
        ctx.warnings.extend(texts)


async def handle_resource(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    res = info.res
    if info.subresource:
        return await subresources.handle(server, request, info)
    verb = info.verb
    if verb not in res.verbs and not (verb == "watch" and "watch" in res.verbs):
        raise errors.method_not_allowed(verb, res.kind)
    handler = _VERBS.get(verb)
    if handler is None:
        raise errors.method_not_allowed(verb, res.kind)
    return await handler(server, request, info)


async def _get(server: APIServer, request: web.Request, info: rq.RequestInfo) -> web.StreamResponse:
    entry = await server.registry.get_entry(info.res, info.namespace, info.name)
    accept = request.headers.get("Accept", "")
    if rq.wants_table(accept):
        return response.json_response(
            response.table(info.res, [entry.obj], entry.rv, request.query),
            content_type=response.TABLE_CT,
        )
    if rq.wants_partial_metadata(accept):
        return response.json_response(response.partial_metadata(entry.obj))
    return response.json_response(conversion.served_raw(info.res, entry.raw))


async def _list(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    result = await listing.list_entries(
        server.store, server.cache, info.res, info.namespace, request.query
    )
    accept = request.headers.get("Accept", "")
    if rq.wants_table(accept):
        body = response.table(
            info.res,
            [e.obj for e in result.entries],
            result.revision,
            request.query,
            cont=result.cont,
        )
        return response.json_response(body, content_type=response.TABLE_CT)
    if rq.wants_partial_metadata(accept):
        return response.json_response(
            response.partial_metadata_list(result.entries, result.revision, result.cont)
        )
    entries = result.entries
    if conversion.converts(info.res):
        entries = [conversion.served_entry(info.res, e) for e in entries]
    return response.json_response(
        response.list_bytes(info.res, entries, result.revision, result.cont, result.remaining)
    )


async def _watch(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    return await serve_watch(request, server.cache, info.res, info.namespace, info.name)


async def _create(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    if info.name:
        raise errors.method_not_allowed("create", info.res.kind)
    ctx = _context(request)
    mode = _field_validation(request.query)
    body = await rq.read_body(request)
    content_type = rq.media_type(request)
    obj = rq.decode_object(body, content_type)
    if content_type == rq.PROTOBUF:
        _omit_go_zero_values(info.res, obj)
    check_fields(info.res, obj, mode, ctx)
    created = await server.registry.create(info.res, info.namespace, obj, ctx)
    return response.json_response(created, status=201, warnings=ctx.warnings)


def _omit_go_zero_values(res: ResourceType, obj: Obj) -> None:
    node = schema.schema_for_kind(res.group, res.version, res.kind)
    if node is not None:
        schema.omit_empty(obj, node)


async def _update(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    ctx = _context(request)
    mode = _field_validation(request.query)
    body = await rq.read_body(request)
    content_type = rq.media_type(request)
    obj = rq.decode_object(body, content_type)
    if content_type == rq.PROTOBUF:
        _omit_go_zero_values(info.res, obj)
    check_fields(info.res, obj, mode, ctx)
    updated = await update_object(server, info, obj, ctx)
    return response.json_response(updated, warnings=ctx.warnings)


async def update_object(server: APIServer, info: rq.RequestInfo, obj: Obj, ctx: Context) -> Obj:
    return await server.registry.replace(
        info.res, info.namespace, info.name, obj, ctx, subresource=info.subresource
    )


def decode_patch(request: web.Request, body: bytes) -> tuple[str, Any]:
    kind = rq.media_type(request)
    if kind not in (rq.JSON_PATCH, rq.MERGE_PATCH, rq.STRATEGIC_PATCH):
        raise errors.unsupported_media_type(
            f"{rq.JSON_PATCH}, {rq.MERGE_PATCH}, {rq.STRATEGIC_PATCH}"
        )
    return kind, rq.decode_json(body, "")


def apply_patch(res: ResourceType, kind: str, doc: Obj, body: Any) -> Obj:
    if kind == rq.JSON_PATCH:
        return patch.apply_json_patch(doc, body)
    if kind == rq.MERGE_PATCH:
        return patch.apply_merge_patch(doc, body)
    return patch.apply_strategic_merge_patch(
        doc, body, schema.schema_for_kind(res.group, res.version, res.kind)
    )


async def _patch(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    ctx = _context(request)
    mode = _field_validation(request.query)
    body = await rq.read_body(request)
    kind, patch_body = decode_patch(request, body)
    res = info.res

    def mutate(current: Obj) -> Obj:
        result = apply_patch(res, kind, current, patch_body)
        if not isinstance(result, dict):
            raise errors.bad_request("the patch did not produce an object")
        check_fields(res, result, mode, ctx)
        return result

    updated = await server.registry.update(
        res, info.namespace, info.name, mutate, ctx, subresource=info.subresource
    )
    return response.json_response(updated, warnings=ctx.warnings)


async def delete_options(request: web.Request) -> Obj:
    body = await rq.read_body(request)
    options: Obj = {}
    if body.strip():
        ct = rq.media_type(request)
        options = rq.decode_object(body, ct) if ct == rq.PROTOBUF else rq.decode_json(body)
        if not isinstance(options, dict):
            raise errors.bad_request("DeleteOptions must be a JSON object")
    q = request.query
    if "gracePeriodSeconds" in q:
        options["gracePeriodSeconds"] = rq.int_param(q, "gracePeriodSeconds")
    if "propagationPolicy" in q:
        options["propagationPolicy"] = q["propagationPolicy"]
    if "orphanDependents" in q:
        options["orphanDependents"] = rq.bool_param(q, "orphanDependents")
    policy = options.get("propagationPolicy")
    if policy not in (None, "Orphan", "Background", "Foreground"):
        raise errors.invalid(
            "DeleteOptions",
            "",
            "",
            [
                errors.field_unsupported(
                    "propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"]
                )
            ],
        )
    return options


async def _delete(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    ctx = _context(request)
    options = await delete_options(request)
    res = info.res
    obj, deleted = await server.registry.delete(res, info.namespace, info.name, options, ctx)
    if not deleted or (res.group, res.kind) in _RETURNS_OBJECT:
        return response.json_response(conversion.served(res, obj))
    return response.json_response(
        response.success_status(res, info.name, obj["metadata"].get("uid", ""))
    )


_RETURNS_OBJECT = {("", "Pod"), ("", "Namespace"), ("", "Service")}


async def _delete_collection(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    ctx = _context(request)
    options = await delete_options(request)
    result = await listing.list_entries(
        server.store, server.cache, info.res, info.namespace, request.query
    )
    deleted = []
    for entry in result.entries:
        md = entry.obj["metadata"]
        try:
            obj, _ = await server.registry.delete(
                info.res, md.get("namespace", ""), md["name"], options, ctx
            )
            deleted.append(obj)
        except errors.StatusError as e:
            if e.code != 404:
                raise
    body = {
        "kind": info.res.list_kind,
        "apiVersion": info.res.api_version,
        "metadata": {"resourceVersion": str(server.cache.revision)},
        "items": deleted,
    }
    return response.json_response(body)


_VERBS = {
    "get": _get,
    "list": _list,
    "watch": _watch,
    "create": _create,
    "update": _update,
    "patch": _patch,
    "delete": _delete,
    "deletecollection": _delete_collection,
}
