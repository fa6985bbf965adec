"""The probe actions against real sockets on 127.0.0.1: httpGet (status codes,
redirects, timeouts, headers, body limit), tcpSocket, exec through a fake
runtime, and the texts upstream shows for each outcome."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from pyk8s.kubelet.probes import (
    MAX_BODY,
    ProbeError,
    Result,
    exec_probe,
    expand_static,
    format_url,
    grpc_probe,
    http_probe,
    resolve_port,
    tcp_probe,
)


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """An HTTP server on 127.0.0.1 with one route per behaviour; yields its base URL
    and the requests it saw."""
    seen: list[web.Request] = []

    async def ok(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(text="fine")

    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500, text="secret details")

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def away(request: web.Request) -> web.Response:
        port = request.url.port
        return web.Response(
            status=302, headers={"Location": f"http://127.0.0.2:{port}/ok"}, text="moved"
        )

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def big(request: web.Request) -> web.Response:
        return web.Response(text="x" * (3 * MAX_BODY))

    app = web.Application()
    for path, handler in (
        ("/ok", ok),
        ("/fail", fail),
        ("/hop", hop),
        ("/away", away),
        ("/loop", loop),
        ("/slow", slow),
        ("/big", big),
    ):
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_http_2xx_succeeds_with_upstream_headers(server) -> None:
    base, seen = server
    result, output = await http_probe(f"{base}/ok", [("X-Custom", "1")], 1.0)
    assert (result, output) == (Result.SUCCESS, "fine")
    headers = seen[-1].headers
    assert headers["User-Agent"] == "kube-probe/1.32"
    assert headers["Accept"] == "*/*"
    assert headers["X-Custom"] == "1"


async def test_http_headers_the_probe_sets_win(server) -> None:
    base, seen = server
    pairs = [("User-Agent", "mine"), ("Accept", ""), ("Host", "example.test")]
    result, _ = await http_probe(f"{base}/ok", pairs, 1.0)
    assert result is Result.SUCCESS
    headers = seen[-1].headers
    assert headers["User-Agent"] == "mine"
    assert headers["Host"] == "example.test"
    assert "*/*" not in headers.getall("Accept", [])


async def test_http_error_status_fails_without_the_body(server) -> None:
    base, _ = server
    assert await http_probe(f"{base}/fail") == (
        Result.FAILURE,
        "HTTP probe failed with statuscode: 500",
    )


async def test_http_redirect_to_the_same_host_is_followed(server) -> None:
    base, seen = server
    assert await http_probe(f"{base}/hop") == (Result.SUCCESS, "fine")
    assert seen and seen[-1].path == "/ok"


async def test_http_redirect_to_another_host_is_a_warning(server) -> None:
    base, seen = server
    result, output = await http_probe(f"{base}/away")
    assert result is Result.WARNING
    assert output == "Probe terminated redirects, Response body: moved"
    assert not seen  # 127.0.0.2 was not asked


async def test_http_stops_after_ten_redirects(server) -> None:
    base, _ = server
    assert await http_probe(f"{base}/loop") == (
        Result.FAILURE,
        f'Get "{base}/loop": stopped after 10 redirects',
    )


async def test_http_timeout_reads_as_gos_client_timeout(server) -> None:
    base, _ = server
    assert await http_probe(f"{base}/slow", timeout=0.2) == (
        Result.FAILURE,
        f'Get "{base}/slow": context deadline exceeded '
        "(Client.Timeout exceeded while awaiting headers)",
    )


async def test_http_connection_refused() -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/"
    assert await http_probe(url) == (
        Result.FAILURE,
        f'Get "{url}": dial tcp 127.0.0.1:{port}: connect: connection refused',
    )


async def test_http_body_is_read_up_to_10_kib(server) -> None:
    base, _ = server
    result, output = await http_probe(f"{base}/big")
    assert result is Result.SUCCESS and len(output) == MAX_BODY


async def test_tcp_open_and_closed_ports(server) -> None:
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    assert await tcp_probe("127.0.0.1", port, 1.0) == (Result.SUCCESS, "")
    closed = closed_port()
    assert await tcp_probe("127.0.0.1", closed, 1.0) == (
        Result.FAILURE,
        f"dial tcp 127.0.0.1:{closed}: connect: connection refused",
    )


class ExecRuntime:
    """Answers exec_sync with a canned (exit code, output) or exception."""

    def __init__(self, answer: tuple[int, bytes] | BaseException) -> None:
        self.answer = answer
        self.calls: list[tuple[str, list[str], float]] = []

    async def exec_sync(self, cid: str, cmd: list[str], timeout: float) -> tuple[int, bytes]:
        self.calls.append((cid, cmd, timeout))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


async def test_exec_exit_code_decides_and_output_is_kept() -> None:
    runtime = ExecRuntime((0, b"healthy\n"))
    assert await exec_probe(runtime, "c1", ["cat", "/tmp/healthy"], 1.0) == (
        Result.SUCCESS,
        "healthy\n",
    )
    assert runtime.calls == [("c1", ["cat", "/tmp/healthy"], 1.0)]
    runtime.answer = (1, b"cat: can't open '/tmp/healthy': No such file or directory\n")
    assert await exec_probe(runtime, "c1", ["cat", "/tmp/healthy"], 1.0) == (
        Result.FAILURE,
        "cat: can't open '/tmp/healthy': No such file or directory\n",
    )


async def test_exec_timeout_and_runtime_errors() -> None:
    timed_out = ExecRuntime(TimeoutError())
    assert await exec_probe(timed_out, "c1", ["sh", "-c", "sleep 9"], 1.0) == (
        Result.FAILURE,
        'command "sh -c sleep 9" timed out',
    )
    with pytest.raises(ProbeError) as err:
        await exec_probe(ExecRuntime(NotImplementedError("no exec here")), "c1", ["true"], 1.0)
    assert err.value.result is Result.UNKNOWN and str(err.value) == "no exec here"


def test_exec_command_expands_static_env() -> None:
    env = [{"name": "FILE", "value": "/tmp/ok"}, {"name": "SECRET", "valueFrom": {}}]
    assert expand_static(["cat", "$(FILE)", "$(SECRET)", "$$(FILE)", "$(NONE)"], env) == [
        "cat",
        "/tmp/ok",
        "$(SECRET)",
        "$(FILE)",
        "$(NONE)",
    ]


def test_ports_by_number_or_container_port_name() -> None:
    container = {"ports": [{"name": "http", "containerPort": 8080}]}
    assert resolve_port(80, container) == 80
    assert resolve_port("http", container) == 8080
    assert resolve_port("81", container) == 81
    with pytest.raises(ProbeError, match=r'strconv.Atoi: parsing "web": invalid syntax'):
        resolve_port("web", container)
    with pytest.raises(ProbeError, match="invalid port number: 70000"):
        resolve_port(70000, container)


def test_urls_keep_the_query_and_bracket_ipv6() -> None:
    assert format_url("http", "198.18.0.5", 80, "/") == "http://198.18.0.5:80/"
    assert format_url("https", "198.18.0.5", 8443, "healthz?x=1") == (
        "https://198.18.0.5:8443/healthz?x=1"
    )
    assert format_url("http", "fd00::5", 80, "/") == "http://[fd00::5]:80/"


@pytest.fixture
async def grpc_health() -> AsyncIterator[tuple[int, dict[str, int]]]:
    """A grpc.health.v1 server on 127.0.0.1: service name -> status it answers."""
    grpc = pytest.importorskip("grpc")
    statuses = {"": 1, "db": 2}

    async def check(request: bytes, context) -> bytes:
        service = request[2:].decode()  # field 1, length-prefixed (short names)
        if service not in statuses:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return b"\x08" + bytes([statuses[service]])

    handler = grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield port, statuses
    finally:
        await server.stop(0)


async def test_grpc_health_check(grpc_health) -> None:
    port, _ = grpc_health
    assert await grpc_probe("127.0.0.1", port, "", 2.0) == (Result.SUCCESS, "service healthy")
    assert await grpc_probe("127.0.0.1", port, "db", 2.0) == (
        Result.FAILURE,
        'service unhealthy (responded with "NOT_SERVING")',
    )
    result, output = await grpc_probe("127.0.0.1", port, "web", 2.0)
    assert result is Result.FAILURE
    assert output == (
        "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service"
    )


async def test_grpc_nothing_listening_times_out() -> None:
    pytest.importorskip("grpc")
    port = closed_port()
    assert await grpc_probe("127.0.0.1", port, "", 0.3) == (
        Result.FAILURE,
        f'timeout: failed to connect service "127.0.0.1:{port}" within 300ms: '
        "context deadline exceeded",
    )
