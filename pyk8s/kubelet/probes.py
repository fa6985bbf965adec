"""The probe actions, as upstream's pkg/probe runs them: httpGet, tcpSocket, exec
and grpc, each answering (result, output) with upstream's output texts.

A network failure is a probe *failure* whose output is what Go's net/http or
net.Dial would have said (`Get "http://198.18.0.5:80/": dial tcp 198.18.0.5:80:
connect: connection refused`), because that text is what users see in the
"Liveness probe failed: ..." events. A probe that cannot run at all (an unknown
named port, a runtime that cannot exec) raises ProbeError: upstream throws such
results away and only records a "probe errored" event.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno as errnos
import json
import os
import re
import socket
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import yarl
from multidict import CIMultiDict

from pyk8s.kubelet.backoff import go_duration

Obj = dict[str, Any]

#: The Kubernetes version this kubelet reports in probe User-Agents ("kube-probe/1.32").
KUBE_VERSION = "1.32"
USER_AGENT = f"kube-probe/{KUBE_VERSION}"
MAX_BODY = 10 * 1024  # upstream reads at most 10 KiB of a probe's response body
MAX_EXEC_OUTPUT = 10 * 1024  # ... and keeps at most 10 KiB of an exec probe's output
MAX_REDIRECTS = 10
# A runtime answers an exec that outlives its timeout itself (CRI ExecSync); this
# is the kubelet's own guard on top, as upstream adds its runtime request timeout.
EXEC_GUARD = 120.0
REDIRECT_CODES = (301, 302, 303, 307, 308)


class Result(enum.Enum):
    """probe.Result; the value is how upstream prints it."""

    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"
    UNKNOWN = "unknown"


Outcome = tuple[Result, str]


class ProbeError(Exception):
    """The probe could not be run; `result` is what upstream reports with it."""

    def __init__(self, message: str, result: Result = Result.UNKNOWN) -> None:
        super().__init__(message)
        self.result = result


# -- Go's texts ---------------------------------------------------------------------


def go_quote(text: str) -> str:
    """Go's %q for the strings probes print (URLs, commands)."""
    return json.dumps(text, ensure_ascii=False)


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def errno_text(code: int | None) -> str:
    """Go prints syscall errors in lower case ("connection refused")."""
    if not code:
        return "unknown error"
    text = os.strerror(code)
    return text[:1].lower() + text[1:]


def dial_error(host: str, addr: str, err: BaseException) -> str:
    """net.Dial's error text for a failed TCP connect."""
    if isinstance(err, TimeoutError):
        return f"dial tcp {addr}: i/o timeout"
    if isinstance(err, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    if isinstance(err, OSError) and err.errno:
        return f"dial tcp {addr}: connect: {errno_text(err.errno)}"
    return f"dial tcp {addr}: {err}"


# -- ports and URLs -----------------------------------------------------------------


def resolve_port(port: Any, container: Obj) -> int:
    """probe.ResolveContainerPort: a number, or the name of one of the container's ports."""
    if isinstance(port, bool) or not isinstance(port, int | str):
        raise ProbeError(f"intOrString had no kind: {port!r}")
    value = port
    if isinstance(port, str):
        named = [p for p in container.get("ports") or [] if p.get("name") == port]
        if named:
            value = int(named[0].get("containerPort") or 0)
        elif re.fullmatch(r"[+-]?\d+", port):
            value = int(port)
        else:
            raise ProbeError(f'strconv.Atoi: parsing "{port}": invalid syntax')
    assert isinstance(value, int)
    if 0 < value < 65536:
        return value
    raise ProbeError(f"invalid port number: {value}")


def format_url(scheme: str, host: str, port: int, path: str) -> str:
    """scheme://host:port + the path as given (it may carry a query string)."""
    parts = urlsplit(path)
    tail = parts.path
    if tail and not tail.startswith("/"):
        tail = "/" + tail
    if parts.query:
        tail += "?" + parts.query
    return f"{scheme}://{join_host_port(host, port)}{tail}"


def probe_headers(pairs: Sequence[tuple[str, str]]) -> CIMultiDict[str]:
    """The request headers: the probe's own, plus User-Agent and Accept unless it set
    them (an Accept set to "" removes the header)."""
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in pairs:
        headers.add(name, value)
    if "User-Agent" not in headers:
        headers["User-Agent"] = USER_AGENT
    if "Accept" not in headers:
        headers["Accept"] = "*/*"
    elif not headers.get("Accept"):
        del headers["Accept"]
    return headers


# -- tcpSocket ----------------------------------------------------------------------


async def tcp_probe(host: str, port: int, timeout: float) -> Outcome:
    """Success when a TCP connection opens within the timeout."""
    addr = join_host_port(host, port)
    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as err:
        return Result.FAILURE, dial_error(host, addr, err)
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(timeout):
            await writer.wait_closed()
    return Result.SUCCESS, ""


# -- httpGet ------------------------------------------------------------------------


def new_http_session() -> aiohttp.ClientSession:
    """No keep-alive (upstream disables it for probes), no proxies from the environment."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True, limit=0, ssl=False),
        trust_env=False,
    )


async def http_probe(
    url: str,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    timeout: float = 1.0,
    session: aiohttp.ClientSession | None = None,
) -> Outcome:
    """GET `url`: 200-299 succeed, 300-399 answered without a redirect to follow are a
    warning, anything else fails. Redirects are followed only to the same host."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    own = session is None
    session = session or new_http_session()
    try:
        return await _http_exchange(session, url, probe_headers(pairs), timeout)
    finally:
        if own:
            await session.close()


async def _http_exchange(
    session: aiohttp.ClientSession, url: str, headers: CIMultiDict[str], timeout: float
) -> Outcome:
    host_header = headers.pop("Host", "")
    first_host = urlsplit(url).hostname
    current, reading = url, False
    try:
        async with asyncio.timeout(timeout):
            for hop in range(MAX_REDIRECTS):
                sent = CIMultiDict(headers)
                if host_header:
                    sent["Host"] = host_header
                sent.setdefault("Accept-Encoding", "gzip")  # as Go's transport asks
                try:
                    resp = await session.get(
                        yarl.URL(current, encoded=True),
                        headers=sent,
                        allow_redirects=False,
                        skip_auto_headers=("Accept",),  # only the probe's own, or */*
                    )
                except aiohttp.ClientError as err:
                    return Result.FAILURE, f"Get {go_quote(current)}: {_client_error(current, err)}"
                target = _redirect_target(current, resp)
                if target is None or urlsplit(target).hostname != first_host:
                    reading = True
                    body = await _read_at_most(resp, MAX_BODY)
                    return _judge(resp.status, body)
                resp.close()
                if hop == MAX_REDIRECTS - 1:
                    return Result.FAILURE, f"Get {go_quote(target)}: stopped after 10 redirects"
                if host_header and urlsplit(resp.headers["Location"]).scheme:
                    host_header = ""  # Go keeps a custom Host only across relative redirects
                current = target
    except TimeoutError:
        if reading:
            raise ProbeError(
                "context deadline exceeded (Client.Timeout or context cancellation while "
                "reading body)",
                Result.FAILURE,
            ) from None
        return (
            Result.FAILURE,
            f"Get {go_quote(current)}: context deadline exceeded "
            "(Client.Timeout exceeded while awaiting headers)",
        )
    except aiohttp.ClientError as err:  # while reading the body
        raise ProbeError(_client_error(current, err), Result.FAILURE) from err
    raise AssertionError("unreachable")


def _redirect_target(current: str, resp: aiohttp.ClientResponse) -> str | None:
    location = resp.headers.get("Location")
    if resp.status not in REDIRECT_CODES or not location:
        return None
    return urljoin(current, location)


async def _read_at_most(resp: aiohttp.ClientResponse, limit: int) -> str:
    chunks, left = [], limit
    try:
        while left > 0:
            chunk = await resp.content.read(left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        resp.close()  # the rest of a long body is not read (upstream closes too)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _judge(status: int, body: str) -> Outcome:
    if 200 <= status < 400:
        if status >= 300:
            return Result.WARNING, f"Probe terminated redirects, Response body: {body}"
        return Result.SUCCESS, body
    # Upstream never shows the body of a failed probe (it may hold secrets).
    return Result.FAILURE, f"HTTP probe failed with statuscode: {status}"


def _client_error(url: str, err: aiohttp.ClientError) -> str:
    """What Go's http client says for the same failure."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    addr = join_host_port(host, port)
    if isinstance(err, aiohttp.ClientConnectorError):
        return dial_error(host, addr, err.os_error)
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return "EOF"
    if isinstance(err, aiohttp.ClientOSError) and err.errno == errnos.ECONNRESET:
        return f"read tcp {addr}: read: connection reset by peer"
    if isinstance(err, aiohttp.ClientResponseError):
        return f"net/http: HTTP/1.x transport connection broken: malformed HTTP response: {err.message}"
    return str(err) or type(err).__name__


# -- exec ---------------------------------------------------------------------------


_EXPANSION = re.compile(r"\$\$|\$\(([^)]*)\)")


def expand_static(command: Sequence[str], env: Sequence[Obj]) -> list[str]:
    """$(VAR) from the container's literal env values ($$ escapes a $); references to
    anything else are left as written, as the kubelet expands exec probe commands."""
    values = {e.get("name"): e.get("value", "") for e in env if "valueFrom" not in e}

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    return [_EXPANSION.sub(one, part) for part in command]


async def exec_probe(
    runtime: Any, container_id: str, command: list[str], timeout: float
) -> Outcome:
    """Exit code 0 succeeds; the output (stdout then stderr, at most 10 KiB) is the text."""
    try:
        code, output = await asyncio.wait_for(
            runtime.exec_sync(container_id, command, timeout), timeout + EXEC_GUARD
        )
    except TimeoutError:
        return Result.FAILURE, f"command {go_quote(' '.join(command))} timed out"
    except Exception as err:  # noqa: BLE001 - the runtime's failure is the probe's error
        raise ProbeError(str(err) or type(err).__name__) from err
    text = bytes(output[:MAX_EXEC_OUTPUT]).decode("utf-8", errors="replace")
    return (Result.SUCCESS if code == 0 else Result.FAILURE), text


# -- grpc ---------------------------------------------------------------------------

_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
_SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _health_request(service: str) -> bytes:
    """grpc.health.v1.HealthCheckRequest{service}, encoded by hand (one string field)."""
    raw = service.encode()
    return (b"\x0a" + _varint(len(raw)) + raw) if raw else b""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _health_status(body: bytes) -> int:
    """The `status` (field 1, varint) of a HealthCheckResponse; 0 when absent."""
    i = 0
    while i < len(body):
        key, i = _read_varint(body, i)
        if key == 0x08:
            return _read_varint(body, i)[0]
        wire = key & 7
        if wire == 0:
            i = _read_varint(body, i)[1]
        elif wire == 2:
            size, i = _read_varint(body, i)
            i += size
        else:
            break
    return 0


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while i < len(data):
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value, i


async def grpc_probe(host: str, port: int, service: str, timeout: float) -> Outcome:
    """grpc.health.v1.Health/Check: SERVING succeeds, anything else fails."""
    addr = join_host_port(host, port)
    try:
        import grpc  # noqa: PLC0415 - optional: only pods with grpc probes need it
    except ImportError:
        return Result.FAILURE, "error: grpc probes are unsupported on this node (no grpcio)"
    options = [("grpc.primary_user_agent", USER_AGENT)]
    async with grpc.aio.insecure_channel(addr, options=options) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout)
        except TimeoutError:
            return (
                Result.FAILURE,
                f"timeout: failed to connect service {go_quote(addr)} within "
                f"{go_duration(timeout)}: context deadline exceeded",
            )
        check = channel.unary_unary(
            _HEALTH_CHECK, request_serializer=None, response_deserializer=None
        )
        try:
            body = await check(_health_request(service), timeout=timeout)
        except grpc.aio.AioRpcError as err:
            return Result.FAILURE, _grpc_error(grpc, err, timeout)
    status = _health_status(body)
    if status != 1:
        name = _SERVING_STATUS.get(status, str(status))
        return Result.FAILURE, f"service unhealthy (responded with {go_quote(name)})"
    return Result.SUCCESS, "service healthy"


def _grpc_error(grpc: Any, err: Any, timeout: float) -> str:
    code = err.code()
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return (
            "error: this server does not implement the grpc health protocol "
            f"(grpc.health.v1.Health): {err.details()}"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"timeout: health rpc did not complete within {go_duration(timeout)}"
    name = "".join(w.capitalize() for w in code.name.split("_"))
    return f"error: health rpc probe failed: rpc error: code = {name} desc = {err.details()}"
