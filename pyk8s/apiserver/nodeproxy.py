"""pods/log, pods/exec, pods/attach and pods/portforward: served by the pod's kubelet,
which the API server reaches over HTTPS and relays.

The kubelet is found from its Node: the first InternalIP, ExternalIP or Hostname
address and status.daemonEndpoints.kubeletEndpoint.Port. The API server presents its
kubelet client certificate (CN kube-apiserver-kubelet-client) and, as kube-apiserver
without --kubelet-certificate-authority, does not verify the kubelet's serving
certificate (kubelets sign their own).

Logs are relayed as a chunked text/plain stream, each chunk as it comes (so `logs -f`
shows lines at once). Exec, attach and port-forward are WebSocket relays: the kubelet is
offered the client's subprotocols, the client gets the one the kubelet chose, and
frames pass unchanged both ways until either side closes. When the kubelet refuses an
exec or attach, the client's WebSocket is still accepted and gets the error as a Status
on channel 3, as upstream's stream translator reports it
(`Internal error occurred: unable to upgrade connection: container not found ("c")`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
from aiohttp import web

from pyk8s.apiserver import request as rq
from pyk8s.apiserver import streamopts
from pyk8s.machinery import errors, wsrelay

if TYPE_CHECKING:
    from pyk8s.apiserver.server import APIServer

log = logging.getLogger(__name__)
Obj = dict[str, Any]

DEFAULT_KUBELET_PORT = 10250
ADDRESS_TYPES = ("InternalIP", "ExternalIP", "Hostname")
# Subprotocols whose channel 3 carries a v4-style Status (errors can be reported in-band).
STATUS_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
CONNECT_TIMEOUT = 10.0
WATCH_CLIENT = 1.0  # how often a quiet log stream checks that its client is still there


def kubelet_ssl_context(cert_file: Path | None, key_file: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    # Kubelets serve self-signed certificates; see the module docstring.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert_file and key_file and cert_file.exists() and key_file.exists():
        ctx.load_cert_chain(cert_file, key_file)
    else:
        log.warning("no kubelet client certificate: kubelets will refuse log/exec requests")
    return ctx


def kubelet_address(node: Obj) -> tuple[str, int]:
    status = node.get("status") or {}
    addresses = status.get("addresses") or []
    for kind in ADDRESS_TYPES:
        for a in addresses:
            if a.get("type") == kind and a.get("address"):
                endpoint = (status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}
                return a["address"], int(endpoint.get("Port") or DEFAULT_KUBELET_PORT)
    raise errors.internal(f"no preferred addresses found; known addresses: {addresses}")


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _kubelet_message(body: bytes) -> str:
    """The kubelet's error text (plain text, or a Status's message)."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        with contextlib.suppress(ValueError, AttributeError):
            return str(orjson.loads(text).get("message") or text)
    return text


def _kubelet_error(status: int, body: bytes, name: str) -> errors.StatusError:
    """A kubelet's error answer as the client sees it (upstream's response checker)."""
    message = _kubelet_message(body)
    if status == 400:
        return errors.bad_request(message)
    if status == 500:
        return errors.internal(message)
    if status == 404:
        return errors.StatusError(404, "NotFound", message, {"name": name, "kind": "pods"})
    return errors.StatusError(status, "", message)


def dial_error(e: Exception) -> str:
    """A connection failure in Go's words (`dial tcp 127.0.0.1:1: connect: connection
    refused`), as kubectl users know them."""
    os_error = getattr(e, "os_error", None)
    if isinstance(e, aiohttp.ClientConnectorError) and getattr(os_error, "errno", None):
        return f"dial tcp {e.host}:{e.port}: connect: {os.strerror(os_error.errno).lower()}"
    return str(e)


def in_band_status(message: str) -> bytes:
    """An InternalError Status for channel 3 (upstream's NewInternalError form)."""
    status = {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {message}",
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    }
    return bytes([3]) + orjson.dumps(status)


class NodeProxy:
    """APIServer.node_proxy: called with (request, info, pod) for the streaming
    subresources of pods."""

    def __init__(
        self,
        server: APIServer,
        client_cert: Path | None = None,
        client_key: Path | None = None,
    ) -> None:
        self.server = server
        self.client_cert = client_cert
        self.client_key = client_key
        self._session: aiohttp.ClientSession | None = None
        # Bodies of refused WebSocket handshakes, by the request's Sec-WebSocket-Key
        # (aiohttp's handshake error does not carry the body).
        self._refusals: dict[str, bytes] = {}

    async def __call__(
        self, request: web.Request, info: rq.RequestInfo, pod: Obj
    ) -> web.StreamResponse:
        sub = info.subresource
        if sub == "log":
            if request.method not in ("GET", "HEAD"):
                raise errors.method_not_allowed(request.method.lower(), "pods/log")
            return await self._logs(request, pod)
        if sub in ("exec", "attach"):
            return await self._remote_command(request, pod, sub)
        if sub == "portforward":
            return await self._port_forward(request, pod)
        raise errors.bad_request(f"{sub} is not supported for pods")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- kubelet connection -----------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            trace = aiohttp.TraceConfig()
            trace.on_request_end.append(self._keep_refusal)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    ssl=kubelet_ssl_context(self.client_cert, self.client_key)
                ),
                trace_configs=[trace],
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
            )
        return self._session

    async def _keep_refusal(self, session: Any, ctx: SimpleNamespace, params: Any) -> None:
        key = params.headers.get("Sec-WebSocket-Key")
        if key and params.response.status != 101:
            with contextlib.suppress(Exception):
                self._refusals[key] = await params.response.read()

    async def _kubelet_url(self, pod: Obj, path: str) -> str:
        nodes = self.server.table.get("", "v1", "nodes")
        assert nodes is not None
        node = await self.server.registry.get(nodes, "", pod["spec"]["nodeName"])
        address, port = kubelet_address(node)
        md = pod["metadata"]
        return f"https://{_host(address)}:{port}/{path}/{md['namespace']}/{md['name']}"

    # -- logs ---------------------------------------------------------------------------

    async def _logs(self, request: web.Request, pod: Obj) -> web.StreamResponse:
        name = pod["metadata"]["name"]
        opts = streamopts.log_request(request.query, name)
        container = streamopts.validate_container(opts.container, pod)
        if not (pod.get("spec") or {}).get("nodeName"):
            # Upstream answers an empty log for a pod that is not scheduled yet.
            return web.Response(body=b"", content_type="text/plain")
        why = streamopts.log_status_error(pod, container, opts.previous)
        if why is not None:
            raise errors.bad_request(why)
        url = f"{await self._kubelet_url(pod, 'containerLogs')}/{container}"
        try:
            upstream = await self._client().get(url, params=opts.kubelet_query())
        except (aiohttp.ClientError, OSError) as e:
            raise errors.StatusError(500, "", f'Get "{url}": {dial_error(e)}') from e
        async with upstream:
            if upstream.status != 200:
                raise _kubelet_error(upstream.status, await upstream.read(), name)
            resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            await self._copy(upstream, resp, request)
            await resp.write_eof()
            return resp

    async def _copy(
        self, upstream: aiohttp.ClientResponse, resp: web.StreamResponse, request: web.Request
    ) -> None:
        """Forward each chunk as it arrives; stop when the client goes away."""
        while True:
            try:
                chunk = await asyncio.wait_for(upstream.content.readany(), WATCH_CLIENT)
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    return
                continue
            except aiohttp.ClientError:
                return  # the kubelet went away mid-stream: end the log there
            if not chunk:
                return
            await resp.write(chunk)

    # -- exec, attach, port-forward -----------------------------------------------------

    async def _remote_command(
        self, request: web.Request, pod: Obj, verb: str
    ) -> web.StreamResponse:
        opts = streamopts.exec_request(request.query)
        container = streamopts.validate_container(opts.container, pod)
        self._require_node(pod)
        if request.headers.get("Upgrade", "").lower() != "websocket":
            raise errors.bad_request("Upgrade request required")
        url = f"{await self._kubelet_url(pod, verb)}/{container}"
        return await self._relay(request, url, opts.kubelet_query(), in_band=True)

    async def _port_forward(self, request: web.Request, pod: Obj) -> web.StreamResponse:
        self._require_node(pod)
        query = streamopts.portforward_query(request.query)
        if request.headers.get("Upgrade", "").lower() != "websocket":
            raise errors.bad_request("Upgrade request required")
        url = await self._kubelet_url(pod, "portForward")
        return await self._relay(request, url, query, in_band=False)

    @staticmethod
    def _require_node(pod: Obj) -> None:
        if not (pod.get("spec") or {}).get("nodeName"):
            raise errors.bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")

    async def _relay(
        self, request: web.Request, url: str, query: list[tuple[str, str]], in_band: bool
    ) -> web.StreamResponse:
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        offered = [p for p in offered if p]
        try:
            kubelet = await self._client().ws_connect(
                url, params=query, protocols=offered, max_msg_size=0
            )
        except aiohttp.WSServerHandshakeError as e:
            key = e.request_info.headers.get("Sec-WebSocket-Key", "")
            body = self._refusals.pop(key, b"")
            if not in_band:
                # As upstream's upgrade-aware proxy: the kubelet's answer, as it is.
                raise _kubelet_error(e.status, body, url.rsplit("/", 1)[-1]) from e
            why = f"unable to upgrade connection: {_kubelet_message(body) or e.status}"
            return await self._refuse(request, offered, why)
        except (aiohttp.ClientError, OSError) as e:
            if not in_band:
                raise errors.internal(f"error dialing backend: {dial_error(e)}") from e
            return await self._refuse(request, offered, f"error dialing backend: {dial_error(e)}")
        try:
            client = web.WebSocketResponse(
                protocols=[kubelet.protocol] if kubelet.protocol else (), max_msg_size=0
            )
            await client.prepare(request)
            await wsrelay.relay(client, kubelet)
            return client
        finally:
            await kubelet.close()

    async def _refuse(
        self, request: web.Request, offered: list[str], why: str
    ) -> web.StreamResponse:
        """Report an exec/attach failure as upstream's stream translator does: accept the
        WebSocket and send the error as a Status on channel 3."""
        protocol = next((p for p in offered if p in STATUS_PROTOCOLS), None)
        if protocol is None:
            raise errors.internal(why)
        ws = web.WebSocketResponse(protocols=[protocol])
        await ws.prepare(request)
        await ws.send_bytes(in_band_status(why))
        await ws.close()
        return ws
