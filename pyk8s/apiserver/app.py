"""The HTTP application: authentication, error framing, and the non-resource paths
(health, version, discovery, OpenAPI), ahead of the resource handlers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from pyk8s.api import openapi
from pyk8s.apiserver import discovery, handlers, response
from pyk8s.apiserver import request as rq
from pyk8s.machinery import errors

if TYPE_CHECKING:
    from pyk8s.apiserver.server import APIServer

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Readable without credentials, as upstream's system:public-info-viewer role allows.
SERVER_KEY: web.AppKey = web.AppKey("server")
# /cacerts: the CA bundle agents fetch to join (k3s serves it the same way); they
# trust it only once its hash matches their join token's.
PUBLIC_PATHS = {"/version", "/version/", "/healthz", "/livez", "/readyz", "/cacerts"}


def make_app(server: APIServer) -> web.Application:
    app = web.Application(
        middlewares=[_errors_middleware, _auth_middleware(server)],
        client_max_size=rq.MAX_BODY + 1,
        handler_args={"max_field_size": 65536},
    )
    app[SERVER_KEY] = server
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app


@web.middleware
async def _errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.StatusError as e:
        return response.status_response(e)
    except web.HTTPException:
        raise
    except Exception as e:  # noqa: BLE001 - the client gets a Status, the server stays up
        log.exception("internal error serving %s %s", request.method, request.path)
        return response.status_response(errors.internal(str(e)))


def _auth_middleware(server: APIServer) -> Callable:
    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in PUBLIC_PATHS and not _authenticated(server, request):
            return response.status_response(errors.unauthorized())
        return await handler(request)

    return auth


def _authenticated(server: APIServer, request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    token = header[7:].strip()
    return any(secrets.compare_digest(token, t) for t in server.tokens)


async def _dispatch(request: web.Request) -> web.StreamResponse:
    server: APIServer = request.app[SERVER_KEY]
    path = request.path
    special = _NON_RESOURCE.get(path.rstrip("/") or "/")
    if special is not None:
        if request.method not in ("GET", "HEAD"):
            raise errors.method_not_allowed(request.method, path)
        return await special(server, request)
    if path.startswith("/openapi/v3/"):
        return _openapi_v3_doc(server, request)
    info = rq.resolve(server.table, request.method, path, request.query)
    if info is None and await server.cache.wait_fresh():
        # A resource created a moment ago (a CRD's) is served once the cache has it.
        info = rq.resolve(server.table, request.method, path, request.query)
    if info is None:
        return _discovery_or_404(server, request)
    return await handlers.handle_resource(server, request, info)


async def _ok(server: APIServer, request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok", content_type="text/plain")


async def _version(server: APIServer, request: web.Request) -> web.StreamResponse:
    return response.json_response(discovery.version_info())


async def _api(server: APIServer, request: web.Request) -> web.StreamResponse:
    agg = discovery.negotiate_aggregated(request.headers.get("Accept", ""))
    if agg:
        api_version = "apidiscovery.k8s.io/" + ("v2beta1" if "v2beta1" in agg else "v2")
        return response.json_response(
            discovery.aggregated(server.table, True, api_version), content_type=agg
        )
    return response.json_response(discovery.api_versions(server.advertise_address))


async def _apis(server: APIServer, request: web.Request) -> web.StreamResponse:
    agg = discovery.negotiate_aggregated(request.headers.get("Accept", ""))
    if agg:
        api_version = "apidiscovery.k8s.io/" + ("v2beta1" if "v2beta1" in agg else "v2")
        return response.json_response(
            discovery.aggregated(server.table, False, api_version), content_type=agg
        )
    return response.json_response(discovery.api_group_list(server.table))


async def _openapi_v2(server: APIServer, request: web.Request) -> web.StreamResponse:
    accept = request.headers.get("Accept", "")
    if "protobuf" in accept and "json" not in accept:
        # kubectl asks for the protobuf form only; it falls back to OpenAPI v3.
        raise errors.not_acceptable("application/json")
    return response.json_response(openapi.openapi_v2_bytes(server.table))


async def _openapi_v3_index(server: APIServer, request: web.Request) -> web.StreamResponse:
    return response.json_response(openapi.openapi_v3_index_bytes(server.table))


def _openapi_v3_doc(server: APIServer, request: web.Request) -> web.StreamResponse:
    body = openapi.openapi_v3_path_bytes(
        server.table, request.path[len("/openapi/v3/") :].strip("/")
    )
    if body is None:
        raise errors.not_found_path()
    resp = response.json_response(body)
    resp.headers["Cache-Control"] = (
        "public, immutable" if request.query.get("hash") else "no-cache, private"
    )
    return resp


def _discovery_or_404(server: APIServer, request: web.Request) -> web.StreamResponse:
    """GET /api/v1, /apis/<group>, /apis/<group>/<version>; anything else is 404."""
    seg = [s for s in request.path.split("/") if s]
    if request.method == "GET":
        doc = None
        if len(seg) == 2 and seg[0] == "api":
            doc = discovery.resource_list(server.table, "", seg[1])
        elif len(seg) == 2 and seg[0] == "apis":
            doc = discovery.api_group(server.table, seg[1])
        elif len(seg) == 3 and seg[0] == "apis":
            doc = discovery.resource_list(server.table, seg[1], seg[2])
        if doc is not None:
            return response.json_response(doc)
    raise errors.not_found_path()


async def _cacerts(server: APIServer, request: web.Request) -> web.StreamResponse:
    if not server.ca_pem:
        raise errors.not_found_path()
    return web.Response(body=server.ca_pem, content_type="text/plain")


_NON_RESOURCE = {
    "/cacerts": _cacerts,
    "/healthz": _ok,
    "/livez": _ok,
    "/readyz": _ok,
    "/version": _version,
    "/api": _api,
    "/apis": _apis,
    "/openapi/v2": _openapi_v2,
    "/openapi/v3": _openapi_v3_index,
}
