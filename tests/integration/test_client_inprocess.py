"""The in-process transport against HTTPS: the same client tests pass both ways, and the
same requests get the same answers (statuses, headers, bodies, watch events).

Each test runs its own API server on the test's event loop (the in-process
transport needs the server in the caller's loop), listening on an ephemeral
127.0.0.1 port with TLS for the HTTPS side.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent))

import test_client as http_suite  # noqa: E402  # its test bodies, run here with our clients

from pyk8s.apiserver.credentials import Credentials, ensure_credentials, write_kubeconfig
from pyk8s.apiserver.server import APIServer, open_store
from pyk8s.client import ApiError, Backoff, Client, Informer
from pyk8s.client.inprocess import InProcessTransport

CM = Client.resource("v1", "configmaps")
NAMESPACES = Client.resource("v1", "namespaces")
TRANSPORTS = ["https", "inprocess"]


@dataclass
class Served:
    """One API server in this loop, reachable over HTTPS and in-process."""

    server: APIServer
    creds: Credentials
    url: str
    kubeconfig: str

    @property
    def token(self) -> str:
        return self.creds.token

    def client(self, transport: str, token: str | None = None) -> Client:
        token = self.token if token is None else token
        if transport == "inprocess":
            return Client.in_process(self.server, token)
        return Client(self.url, token=token, ca_file=str(self.creds.ca_file))


@contextlib.asynccontextmanager
async def serving(data_dir: Path, creds: Credentials) -> AsyncIterator[Served]:
    server = APIServer(
        open_store(data_dir, durable=False), tokens=[creds.token], compact_interval=0
    )
    await server.start("127.0.0.1", 0, ssl_context=creds.ssl_context())
    url = f"https://127.0.0.1:{server.port}"
    kubeconfig = data_dir / "kubeconfig.yaml"
    write_kubeconfig(kubeconfig, creds, url)
    try:
        yield Served(server, creds, url, str(kubeconfig))
    finally:
        await server.stop()


@pytest.fixture(scope="session")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    return ensure_credentials(tmp_path_factory.mktemp("inprocess-creds"))


@pytest.fixture
async def served(tmp_path: Path, creds: Credentials) -> AsyncIterator[Served]:
    async with serving(tmp_path / "server", creds) as s:
        yield s


@pytest.fixture(params=TRANSPORTS)
async def client(request: pytest.FixtureRequest, served: Served) -> AsyncIterator[Client]:
    async with served.client(request.param) as c:
        yield c


@pytest.fixture
async def ns(client: Client) -> str:
    await client.create(NAMESPACES, {"metadata": {"name": "suite"}})
    return "suite"


# -- test_client.py's bodies, over both transports ----------------------------------

SHARED_BODIES = [
    http_suite.test_create_get_list_delete,
    http_suite.test_update_is_compare_and_swap,
    http_suite.test_three_patch_types,
    http_suite.test_delete_with_preconditions,
    http_suite.test_status_scale_and_binding,
    http_suite.test_watch_resumes_from_a_resource_version,
    http_suite.test_watch_without_version_starts_with_current_state,
    http_suite.test_informer_follows_changes_from_both_sides,
    http_suite.test_shared_factory_against_server,
]


@pytest.mark.parametrize("body", SHARED_BODIES, ids=lambda f: f.__name__.removeprefix("test_"))
async def test_client_suite(
    body: Callable[..., Awaitable[None]], client: Client, ns: str, served: Served
) -> None:
    available = {"client": client, "ns": ns, "api_server": served}
    await body(**{name: available[name] for name in inspect.signature(body).parameters})


# -- identical answers ----------------------------------------------------------------


def cm(name: str, **data: str) -> dict[str, Any]:
    return http_suite.cm(name, **data)


async def _outcome(call: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """The object returned, or the Status of the error raised."""
    try:
        return await call
    except ApiError as e:
        return {"raised": e.code, **e.body}


async def _scenario(client: Client) -> list[Any]:
    """A run of requests whose every answer is recorded, errors included."""
    ns = "same"
    out: list[Any] = [await client.create(NAMESPACES, {"metadata": {"name": ns}})]
    first = await client.create(CM, cm("a", v="0", w="1"), ns)
    out += [
        first,
        await _outcome(client.create(CM, cm("a"), ns)),  # 409 AlreadyExists
        await client.update(CM, {**first, "data": {"v": "1"}}),
        await _outcome(client.update(CM, {**first, "data": {"v": "stale"}})),  # 409 Conflict
        await client.patch(CM, "a", {"data": {"w": None, "m": "2"}}, ns, "merge"),
        await client.patch(CM, "a", {"metadata": {"labels": {"k": "v"}}}, ns, "strategic"),
        await client.patch(
            CM, "a", [{"op": "replace", "path": "/data/v", "value": "3"}], ns, "json"
        ),
        await _outcome(
            client.patch(CM, "a", [{"op": "test", "path": "/data/v", "value": "x"}], ns, "json")
        ),  # 422
        await _outcome(client.get(CM, "missing", ns)),  # 404
        await _outcome(client.create(CM, {"metadata": {"name": "Bad_Name"}}, ns)),  # 422
        await client.create(CM, cm("b"), ns),
        await client.list(CM, ns, limit=1),
        await client.delete(CM, "b", ns),
    ]
    events = []
    stream = client.watch(CM, ns, resource_version=first["metadata"]["resourceVersion"])
    async with contextlib.aclosing(stream):
        async for event in stream:
            events.append(event)
            if event[0] == "DELETED":
                break
    out.append(events)
    return out


def _normalise(value: Any, *also: str) -> Any:
    """Blank what differs between two servers by nature: uids, timestamps, continue tokens."""
    blank = {"uid", "creationTimestamp", "continue", "time", *also}
    if isinstance(value, dict):
        return {k: "*" if k in blank else _normalise(v, *also) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v, *also) for v in value]
    return value


async def test_same_answers_both_ways(tmp_path: Path, creds: Credentials) -> None:
    results = {}
    for transport in TRANSPORTS:
        async with serving(tmp_path / transport, creds) as served:
            async with served.client(transport) as client:
                results[transport] = await asyncio.wait_for(_scenario(client), 20)
    https, inprocess = (_normalise(results[t]) for t in TRANSPORTS)
    assert inprocess == https
    # The scenario did exercise what it claims to.
    raised = [r.get("raised") for r in results["inprocess"] if isinstance(r, dict)]
    assert raised.count(409) == 2 and raised.count(422) == 2 and 404 in raised
    assert [t for t, _ in results["inprocess"][-1]] == ["MODIFIED"] * 4 + ["ADDED", "DELETED"]


async def _raw_https(served: Served, method: str, path: str, **kw: Any) -> tuple:
    ctx = ssl.create_default_context(cafile=str(served.creds.ca_file))
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, served.url + path, ssl=ctx, **kw) as resp,
    ):
        return resp.status, resp.headers.copy(), await resp.read()


async def _raw_inprocess(served: Served, method: str, path: str, **kw: Any) -> tuple:
    transport = InProcessTransport(served.server)
    try:
        resp = await transport.request(
            method, path, kw.get("params", {}), kw.get("data"), kw.get("headers", {})
        )
    finally:
        await transport.close()
    return resp.status, resp.headers, resp.body


@pytest.mark.parametrize(
    ("method", "path", "kw"),
    [
        (  # 201 with a Warning header per unknown field
            "POST",
            "/api/v1/namespaces/default/configmaps",
            {
                "params": {"fieldValidation": "Warn"},
                "data": b'{"metadata":{"name":"w"},"bogus":1,"other":{"x":1}}',
            },
        ),
        ("GET", "/api/v1/namespaces/default/configmaps/nope", {}),  # 404 Status
        ("GET", "/version", {"auth": False}),  # public, text of its own
        ("GET", "/api/v1/namespaces", {"auth": False}),  # 401 without a token
        ("GET", "/api", {"headers": {"Accept": "application/json;g=apidiscovery.k8s.io;v=v2"}}),
        ("DELETE", "/api/v1/namespaces/default/configmaps/nope", {}),
        ("PUT", "/api/v1/namespaces/default/configmaps/x", {"data": b"{not json"}),
    ],
    ids=["warning", "404", "version", "401", "aggregated-discovery", "delete-404", "bad-json"],
)
async def test_same_status_headers_and_body(
    served: Served, method: str, path: str, kw: dict[str, Any]
) -> None:
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if kw.pop("auth", True):
        headers["Authorization"] = f"Bearer {served.token}"
    kw["headers"] = headers | kw.get("headers", {})
    h_status, h_headers, h_body = await _raw_https(served, method, path, **kw)
    if method == "POST":  # the same object again, so that both create it
        async with served.client("inprocess") as c:
            await c.delete(CM, "w", "default")
    i_status, i_headers, i_body = await _raw_inprocess(served, method, path, **kw)

    assert i_status == h_status
    for name in ("Content-Type", "Warning", "Cache-Control"):
        assert i_headers.getall(name, []) == h_headers.getall(name, []), name
    assert _normalise(_json(i_body), "resourceVersion") == _normalise(
        _json(h_body), "resourceVersion"
    )
    if method == "POST":
        assert len(i_headers.getall("Warning")) == 2


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body


# -- watches: incremental delivery, hanging up, 410 and relist --------------------------


async def test_watch_events_arrive_one_by_one(served: Served) -> None:
    async with served.client("inprocess") as client:
        stream = client.watch(CM, "default", timeout_seconds=30)
        async with contextlib.aclosing(stream):
            for i in range(3):
                await client.create(CM, cm(f"n{i}"), "default")
                ev_type, obj = await asyncio.wait_for(anext(stream), 5)
                assert (ev_type, obj["metadata"]["name"]) == ("ADDED", f"n{i}")


async def test_closing_a_watch_stops_its_handler(served: Served) -> None:
    watchers = served.server.cache.cache(CM.store_prefix()).watchers
    async with served.client("inprocess") as client:
        await client.create(CM, cm("x"), "default")
        stream = client.watch(CM, "default")  # no timeout: only a hang-up ends it
        async with contextlib.aclosing(stream):
            await asyncio.wait_for(anext(stream), 5)
            assert len(watchers) == 1
        # No event came after the close: the handler was stopped, not left waiting.
        assert len(watchers) == 0
        transport = client.transport
        assert isinstance(transport, InProcessTransport) and not transport._tasks


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_gone_after_compaction_and_informer_relist(served: Served, transport: str) -> None:
    """test_client.py's relist test, with the server in this loop."""
    async with served.client(transport) as client:
        ns = "relist"
        await client.create(NAMESPACES, {"metadata": {"name": ns}})
        for name in ("keep", "change", "drop"):
            await client.create(CM, cm(name, v="0"), ns)
        informer = Informer(client, CM, namespace=ns, backoff=Backoff(0.05, 0.5))
        events: list[tuple[str, str]] = []
        informer.add_handler(
            on_add=lambda o: events.append(("add", o["metadata"]["name"])),
            on_update=lambda old, new: events.append(("update", new["metadata"]["name"])),
            on_delete=lambda o: events.append(("delete", o["metadata"]["name"])),
        )
        informer.start()
        await asyncio.wait_for(informer.wait_synced(), 10)
        synced_at = informer.resource_version
        await informer.stop()
        events.clear()

        await client.create(CM, cm("new"), ns)
        await client.patch(CM, "change", {"data": {"v": "1"}}, ns, "merge")
        await client.delete(CM, "drop", ns)
        current = int((await client.list(CM, ns))["metadata"]["resourceVersion"])
        await served.server.compact(current)

        with pytest.raises(ApiError) as info:
            stream = client.watch(CM, ns, resource_version=synced_at, timeout_seconds=5)
            async with contextlib.aclosing(stream):
                async for _ in stream:
                    pass
        assert (info.value.code, info.value.reason) == (410, "Expired"), info.value

        informer.start()
        try:
            await http_suite.wait_for(lambda: informer.lists == 2, 10)
            assert sorted(events) == [("add", "new"), ("delete", "drop"), ("update", "change")]
            assert sorted(informer.keys()) == [f"{ns}/change", f"{ns}/keep", f"{ns}/new"]
            await client.patch(CM, "keep", {"data": {"v": "9"}}, ns, "merge")
            await http_suite.wait_for(lambda: informer.get(f"{ns}/keep")["data"] == {"v": "9"})
        finally:
            await informer.stop()


async def test_wrong_token_is_401_in_process(served: Served) -> None:
    async with served.client("inprocess", token="wrong") as client:
        with pytest.raises(ApiError) as info:
            await client.get(NAMESPACES, "default")
    assert (info.value.code, info.value.reason) == (401, "Unauthorized")


# -- connection semantics, on a small application of our own ---------------------------


def _app(routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]):
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    return app


async def test_a_caller_that_gives_up_does_not_cancel_the_handler() -> None:
    finished = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        finished.set()
        return web.Response(text="done")

    transport = InProcessTransport(_app({"/slow": slow}), request_timeout=0.05)
    try:
        with pytest.raises(TimeoutError):
            await transport.request("GET", "/slow", {}, None, {})
        await asyncio.wait_for(finished.wait(), 2)  # the handler ran to its end
    finally:
        await transport.close()


async def test_broken_handlers_look_as_over_http() -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    async def half(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"partial")
        raise RuntimeError("cut short")

    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound(text="no such thing")

    transport = InProcessTransport(_app({"/boom": boom, "/half": half, "/missing": missing}))
    try:
        resp = await transport.request("GET", "/boom", {}, None, {})
        assert (resp.status, resp.content_type) == (500, "text/plain")
        assert resp.body.startswith(b"500 Internal Server Error")
        resp = await transport.request("GET", "/missing", {}, None, {})
        assert (resp.status, resp.body) == (404, b"no such thing")
        resp = await transport.request("GET", "/nowhere", {}, None, {})
        assert resp.status == 404
        with pytest.raises(aiohttp.ClientPayloadError):
            await transport.request("GET", "/half", {}, None, {})
        with pytest.raises(aiohttp.ClientPayloadError):
            async with transport.stream("GET", "/half", {}, {}) as stream:
                assert stream.status == 200
                await stream.read()
    finally:
        await transport.close()


async def test_a_fast_writer_waits_for_a_slow_reader() -> None:
    wrote: list[int] = []

    async def firehose(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(64):
            await resp.write(b"x" * 16384)
            wrote.append(1)
        await resp.write_eof()
        return resp

    transport = InProcessTransport(_app({"/firehose": firehose}))
    try:
        async with transport.stream("GET", "/firehose", {}, {}) as stream:
            first = await anext(stream.chunks)
            await asyncio.sleep(0.05)
            assert len(wrote) < 16, "the writer ran ahead of the reader unbounded"
            rest = b"".join([c async for c in stream.chunks])
        assert len(first) + len(rest) == 64 * 16384
    finally:
        await transport.close()
