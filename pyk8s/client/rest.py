"""The async API client: JSON dicts in and out, one method per verb.

    async with Client.from_kubeconfig(path) as c:
        deploy = c.resource("apps/v1", "deployments")
        obj = await c.get(deploy, "web", "default")
        async for ev_type, pod in c.watch(c.resource("v1", "pods"), "default"):
            ...

Resources are addressed by anything with `group`, `version`, `plural` and
`namespaced` attributes: an `api.resources.ResourceType`, or a `ResourceRef`.
Non-2xx answers raise `ApiError`, a `StatusError` carrying the server's Status
(`.code`, `.reason`, `.message`), so callers write `if e.code == 409`.

Every request goes through `_request` (and watches through `_stream`), which
hand bytes to a `Transport`: swap the transport to drive a server in-process.
"""

from __future__ import annotations

import ssl as ssl_module
from collections.abc import AsyncIterator
from typing import Any

import orjson

from pyk8s.api.resources import ResourceType
from pyk8s.client import kubeconfig
from pyk8s.client.errors import ApiError, error_from_response
from pyk8s.client.resource import ResourceLike, ResourceRef, as_ref, find_resource, resource_path
from pyk8s.client.transport import AiohttpTransport, Transport
from pyk8s.client.watchstream import WatchEvent, iter_events

PATCH_CONTENT_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}

Obj = dict[str, Any]


class Client:
    def __init__(
        self,
        base_url: str = "",
        *,
        token: str | None = None,
        ca_file: str | None = None,
        ca_data: str | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        namespace: str = "default",
        transport: Transport | None = None,
        request_timeout: float = 60.0,
        user_agent: str = "pyk8s-client",
    ) -> None:
        """`ssl=False` skips certificate checks; `ca_file`/`ca_data` trust a private CA."""
        if transport is None:
            if not base_url:
                raise ValueError("Client needs a base_url or a transport")
            transport = AiohttpTransport(
                base_url, _ssl_setting(ssl, ca_file, ca_data), request_timeout=request_timeout
            )
        self.base_url = base_url
        self.transport = transport
        self.token = token
        self.namespace = namespace
        self.user_agent = user_agent

    @classmethod
    def from_kubeconfig(
        cls, path: str | None = None, context: str | None = None, **kwargs: Any
    ) -> Client:
        """A client for a kubeconfig's current (or named) context."""
        cfg = kubeconfig.load(path, context)
        return cls(cfg.server, token=cfg.token, ssl=cfg.ssl, namespace=cfg.namespace, **kwargs)

    @classmethod
    def in_process(cls, server: Any, token: str, **kwargs: Any) -> Client:
        """A client served by `server` (a started APIServer) in this event loop, no sockets.

        Same pipeline as over HTTPS (authentication included: `token` must be one
        the server accepts); see pyk8s.client.inprocess.
        """
        from pyk8s.client.inprocess import InProcessTransport

        # No per-request timer by default: in process, a request cannot be lost on a wire.
        timeout = kwargs.pop("request_timeout", None)
        transport = InProcessTransport(server, request_timeout=timeout)
        return cls(token=token, transport=transport, request_timeout=timeout or 60.0, **kwargs)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.transport.close()

    @staticmethod
    def resource(api_version: str, name: str) -> ResourceType:
        """The built-in ResourceType for ("apps/v1", "deployments" | "Deployment")."""
        return find_resource(api_version, name)

    # -- reads ----------------------------------------------------------------

    async def get(self, res: ResourceLike, name: str, namespace: str = "") -> Obj:
        return await self._request("GET", self._object_path(res, name, namespace))

    async def list(
        self,
        res: ResourceLike,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
        resource_version: str = "",
    ) -> Obj:
        """The List object; namespace "" lists across all namespaces."""
        query = _query(
            labelSelector=label_selector,
            fieldSelector=field_selector,
            limit=str(limit) if limit else "",
            resourceVersion=resource_version,
            **{"continue": continue_},
        )
        return await self._request("GET", resource_path(as_ref(res), namespace), query)

    # -- writes ---------------------------------------------------------------

    async def create(
        self,
        res: ResourceLike,
        obj: Obj,
        namespace: str | None = None,
        *,
        dry_run: bool = False,
        field_manager: str = "",
    ) -> Obj:
        """POST; the namespace defaults to the object's, then the client's."""
        ref = as_ref(res)
        ns = ""
        if ref.namespaced:
            ns = namespace or obj.get("metadata", {}).get("namespace") or self.namespace
        query = _write_query(dry_run, field_manager)
        return await self._request("POST", resource_path(ref, ns), query, obj)

    async def update(
        self, res: ResourceLike, obj: Obj, *, dry_run: bool = False, field_manager: str = ""
    ) -> Obj:
        """PUT the whole object (its metadata.resourceVersion makes it a compare-and-swap)."""
        path = self._path_of(res, obj)
        return await self._request("PUT", path, _write_query(dry_run, field_manager), obj)

    async def update_status(
        self, res: ResourceLike, obj: Obj, *, dry_run: bool = False, field_manager: str = ""
    ) -> Obj:
        path = self._path_of(res, obj, "status")
        return await self._request("PUT", path, _write_query(dry_run, field_manager), obj)

    async def patch(
        self,
        res: ResourceLike,
        name: str,
        patch: Any,
        namespace: str = "",
        patch_type: str = "strategic",
        subresource: str = "",
        *,
        dry_run: bool = False,
        field_manager: str = "",
        force: bool | None = None,
    ) -> Obj:
        """PATCH with "strategic", "merge", "json" (a list of ops) or "apply" (server-side)."""
        try:
            content_type = PATCH_CONTENT_TYPES[patch_type]
        except KeyError:
            raise ValueError(f"unknown patch type {patch_type!r}") from None
        query = _write_query(dry_run, field_manager)
        if force is not None:
            query["force"] = "true" if force else "false"
        path = self._object_path(res, name, namespace, subresource)
        return await self._request("PATCH", path, query, patch, content_type)

    async def delete(
        self,
        res: ResourceLike,
        name: str,
        namespace: str = "",
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: dict[str, str] | None = None,
        *,
        dry_run: bool = False,
    ) -> Obj:
        """DELETE; returns the object (still terminating, or as deleted) or a Status."""
        body = _delete_options(propagation_policy, grace_period_seconds, preconditions, dry_run)
        path = self._object_path(res, name, namespace)
        return await self._request("DELETE", path, None, body)

    async def delete_collection(
        self,
        res: ResourceLike,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        propagation_policy: str | None = None,
    ) -> Obj:
        query = _query(labelSelector=label_selector, fieldSelector=field_selector)
        body = _delete_options(propagation_policy, None, None, False)
        return await self._request("DELETE", resource_path(as_ref(res), namespace), query, body)

    async def create_subresource(
        self, res: ResourceLike, name: str, sub: str, body: Obj, namespace: str = ""
    ) -> Obj:
        """POST to a subresource: pods/binding, pods/eviction, ..."""
        return await self._request("POST", self._object_path(res, name, namespace, sub), None, body)

    async def get_scale(self, res: ResourceLike, name: str, namespace: str = "") -> Obj:
        return await self._request("GET", self._object_path(res, name, namespace, "scale"))

    async def update_scale(
        self, res: ResourceLike, name: str, scale: Obj, namespace: str = ""
    ) -> Obj:
        return await self._request(
            "PUT", self._object_path(res, name, namespace, "scale"), None, scale
        )

    async def patch_scale(
        self,
        res: ResourceLike,
        name: str,
        patch: Any,
        namespace: str = "",
        patch_type: str = "merge",
    ) -> Obj:
        return await self.patch(res, name, patch, namespace, patch_type, "scale")

    # -- watch ----------------------------------------------------------------

    async def watch(
        self,
        res: ResourceLike,
        namespace: str = "",
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """(type, object) events until the server ends the stream.

        An ERROR event raises ApiError (code 410 when the resourceVersion is too old).
        Close the iterator (contextlib.aclosing) to drop the connection early.
        """
        query = _query(
            watch="true",
            resourceVersion=resource_version,
            labelSelector=label_selector,
            fieldSelector=field_selector,
            timeoutSeconds="" if timeout_seconds is None else str(timeout_seconds),
            allowWatchBookmarks="true" if allow_bookmarks else "",
        )
        path = resource_path(as_ref(res), namespace)
        async with self.transport.stream("GET", path, query, self._headers()) as resp:
            if not 200 <= resp.status < 300:
                raise error_from_response(resp.status, await resp.read())
            async for event in iter_events(resp.chunks):
                yield event

    # -- plumbing -------------------------------------------------------------

    async def discover(self, api_version: str) -> Obj:
        """The APIResourceList of a group-version ("v1" or "example.com/v1")."""
        path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        return await self._request("GET", path)

    async def _request(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        body: Any = None,
        content_type: str | None = None,
    ) -> Obj:
        """The one place a non-streaming request is made: encode, send, decode, raise."""
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else _encode(body)
            content_type = content_type or "application/json"
        resp = await self.transport.request(
            method, path, query or {}, data, self._headers(content_type)
        )
        if not 200 <= resp.status < 300:
            raise error_from_response(resp.status, resp.body)
        return orjson.loads(resp.body) if resp.body else {}

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def _object_path(self, res: ResourceLike, name: str, namespace: str, sub: str = "") -> str:
        ref = as_ref(res)
        if not name:
            raise ValueError("a resource name is required")
        if ref.namespaced and not namespace:
            raise ValueError(f"{ref.plural} are namespaced: a namespace is required")
        return resource_path(ref, namespace if ref.namespaced else "", name, sub)

    def _path_of(self, res: ResourceLike, obj: Obj, sub: str = "") -> str:
        md = obj.get("metadata") or {}
        return self._object_path(res, md.get("name", ""), md.get("namespace", ""), sub)


def _ssl_setting(
    ssl: ssl_module.SSLContext | bool | None, ca_file: str | None, ca_data: str | None
) -> ssl_module.SSLContext | bool:
    if ssl is not None and not isinstance(ssl, bool):
        return ssl
    if ssl is False:
        return False
    if ca_file or ca_data:
        return ssl_module.create_default_context(cafile=ca_file, cadata=ca_data)
    return True


def _encode(body: Any) -> bytes:
    return body.encode() if isinstance(body, str) else orjson.dumps(body)


def _query(**params: str) -> dict[str, str]:
    """Drop empty parameters: the server treats absent and empty alike, and URLs stay short."""
    return {k: v for k, v in params.items() if v}


def _write_query(dry_run: bool, field_manager: str) -> dict[str, str]:
    return _query(dryRun="All" if dry_run else "", fieldManager=field_manager)


def _delete_options(
    propagation_policy: str | None,
    grace_period_seconds: int | None,
    preconditions: dict[str, str] | None,
    dry_run: bool,
) -> Obj | None:
    opts: Obj = {}
    if propagation_policy is not None:
        opts["propagationPolicy"] = propagation_policy
    if grace_period_seconds is not None:
        opts["gracePeriodSeconds"] = grace_period_seconds
    if preconditions:
        opts["preconditions"] = preconditions
    if dry_run:
        opts["dryRun"] = ["All"]
    if not opts:
        return None
    return {"kind": "DeleteOptions", "apiVersion": "v1", **opts}


__all__ = ["ApiError", "Client", "ResourceRef", "WatchEvent"]
