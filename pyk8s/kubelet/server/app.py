"""The kubelet API (HTTPS): container logs, exec, attach and port-forward, for the API
server only.

Paths as upstream's kubelet serves them:
  GET  /healthz
  GET  /containerLogs/{namespace}/{pod}/{container}?follow&previous&tailLines&...
  WS   /exec/{namespace}/{pod}[/{uid}]/{container}?command=..&input=1&output=1&error=1&tty=1
  WS   /attach/{namespace}/{pod}[/{uid}]/{container}?input=1&output=1&error=1&tty=1
  WS   /portForward/{namespace}/{pod}[/{uid}]?port=80,443
Errors are plain text with upstream's status codes and messages; the API server turns
them into a Status for the client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from pyk8s.kubelet.server import crilog, remotecommand, tls
from pyk8s.kubelet.server.backend import ContainerRef, PodRef, StreamingBackend

log = logging.getLogger(__name__)

PortForwardHandler = Callable[[web.Request, PodRef], Awaitable[web.StreamResponse]]
OPEN_PATHS = {"/healthz"}


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message, content_type="text/plain")


class KubeletServer:
    """The node's kubelet API on host:port, backed by the node's container runtime."""

    def __init__(
        self,
        backend: StreamingBackend,
        ca_cert_pem: bytes,
        host: str = "0.0.0.0",
        port: int = 10250,
        *,
        hostnames: list[str] | None = None,
    ) -> None:
        self.backend = backend
        self.host = host
        self.port = port
        cert_pem, key_pem = tls.self_signed(hostnames or tls.default_hosts(host))
        self.ssl_context = tls.server_context(cert_pem, key_pem, ca_cert_pem)
        # Set by the port-forward module; 501 until then.
        self.port_forward_handler: PortForwardHandler | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Listen; returns the bound port (port 0 picks a free one)."""
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._logs)
        for verb in ("exec", "attach"):
            handler = self._exec if verb == "exec" else self._attach
            for path in (
                f"/{verb}/{{namespace}}/{{pod}}/{{container}}",
                f"/{verb}/{{namespace}}/{{pod}}/{{uid}}/{{container}}",
            ):
                app.router.add_route("*", path, handler)
        for path in ("/portForward/{namespace}/{pod}", "/portForward/{namespace}/{pod}/{uid}"):
            app.router.add_route("*", path, self._port_forward)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- authentication -----------------------------------------------------------

    @web.middleware
    async def _auth(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        transport = request.transport
        cn = tls.peer_common_name(transport.get_extra_info("peercert") if transport else None)
        if cn is None:
            return _text(401, "Unauthorized")
        if cn != tls.API_SERVER_CN:
            verb = "get" if request.method == "GET" else "create"
            return _text(
                403, f"Forbidden (user={cn}, verb={verb}, resource=nodes, subresource=proxy)"
            )
        return await handler(request)

    # -- handlers -----------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        return _text(200, "ok")

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        ns, pod, name = (request.match_info[k] for k in ("namespace", "pod", "container"))
        try:
            opts = log_options(request.query)
        except ValueError as e:
            return _text(400, str(e))
        previous = request.query.get("previous") in ("1", "true")
        if self.backend.pod_ref(ns, pod) is None:
            return _text(404, f'pod "{pod}" does not exist')
        ref = self.backend.find_container(ns, pod, name, previous)
        if ref is None:
            if previous:
                return _text(
                    400, f'previous terminated container "{name}" in pod "{pod}" not found'
                )
            return _text(400, f'container "{name}" in pod "{pod}" is not available')
        try:
            reader = crilog.LogReader(
                ref.log_path,
                opts,
                running=lambda: self._still_running(ns, pod, name, ref),
                alive=lambda: request.transport is not None and not request.transport.is_closing(),
            )
        except OSError as e:
            why = e.strerror.lower() if e.strerror else str(e)
            path = ref.log_path
            return _text(400, f'failed to open log file "{path}": open {path}: {why}')
        try:
            resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            async for chunk in reader.chunks():
                await resp.write(chunk)
            await resp.write_eof()
            return resp
        finally:
            reader.close()

    def _still_running(self, ns: str, pod: str, name: str, ref: ContainerRef) -> bool:
        if not ref.running:
            return False
        now = self.backend.find_container(ns, pod, name, False)
        return now is not None and now.container_id == ref.container_id and now.running

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        return await self._remote_command(request, attach=False)

    async def _attach(self, request: web.Request) -> web.StreamResponse:
        return await self._remote_command(request, attach=True)

    async def _remote_command(self, request: web.Request, attach: bool) -> web.StreamResponse:
        ns, pod, name = (request.match_info[k] for k in ("namespace", "pod", "container"))
        try:
            opts = remotecommand.stream_options(request.query)
        except ValueError as e:
            return _text(400, str(e))
        if not remotecommand.is_websocket(request):
            return _text(400, "Upgrade request required")
        offered = remotecommand.offered_protocols(request)
        protocol = remotecommand.negotiate(offered)
        if protocol is None:
            return _text(
                400,
                f"requested protocol(s) are not supported: {offered}; "
                f"supports {list(remotecommand.SUPPORTED_PROTOCOLS)}",
            )
        if self.backend.pod_ref(ns, pod) is None:
            return _text(404, "pod does not exist")
        ref = self.backend.find_container(ns, pod, name, False)
        if ref is None or not ref.running:
            return _text(500, f'container not found ("{name}")')
        o = opts
        try:
            if attach:
                url = await self.backend.attach_url(
                    ref.container_id, o.tty, o.stdin, o.stdout, o.stderr
                )
            else:
                cmd = request.query.getall("command", [])
                url = await self.backend.exec_url(
                    ref.container_id, cmd, o.tty, o.stdin, o.stdout, o.stderr
                )
        except Exception as e:  # noqa: BLE001 - the runtime's error is the client's answer
            return _text(500, str(e))
        try:
            return await remotecommand.serve(request, url, protocol, opts)
        except remotecommand.RuntimeDialError as e:
            return _text(500, str(e))

    async def _port_forward(self, request: web.Request) -> web.StreamResponse:
        ns, pod = request.match_info["namespace"], request.match_info["pod"]
        ref = self.backend.pod_ref(ns, pod)
        if ref is None:
            return _text(404, "pod does not exist")
        if self.port_forward_handler is None:
            return web.json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": "port forwarding is not implemented by this node agent",
                    "code": 501,
                },
                status=501,
            )
        return await self.port_forward_handler(request, ref)


_UNDECODABLE = '{"message": "Unable to decode query."}'


def _int(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(_UNDECODABLE) from None


def log_options(query: Mapping[str, str]) -> crilog.LogOptions:
    """PodLogOptions from the kubelet URL (the API server's parameters)."""
    tail = _int(query, "tailLines")
    if tail is None and query.get("tail") not in (None, "", "all"):
        tail = _int(query, "tail")  # the kubelet's older spelling
    limit = _int(query, "limitBytes")
    try:
        since = crilog.since_ns(_int(query, "sinceSeconds"), query.get("sinceTime"))
    except ValueError:
        raise ValueError(_UNDECODABLE) from None
    return crilog.LogOptions(
        tail=-1 if tail is None else tail,
        since_ns=since,
        limit_bytes=-1 if limit is None else limit,
        timestamps=query.get("timestamps") in ("1", "true"),
        follow=query.get("follow") in ("1", "true"),
        stream=query.get("stream") or "All",
    )
