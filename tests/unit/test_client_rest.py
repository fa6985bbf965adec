"""The REST client against a recording fake transport: paths, queries, bodies, errors, watch parsing."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from pyk8s.client import ApiError, Client, ResourceRef, StreamResponse, find_resource, resource_path
from pyk8s.client.errors import is_already_exists, is_conflict, is_gone, is_not_found
from pyk8s.client.transport import Response
from pyk8s.client.watchstream import LineSplitter
from pyk8s.machinery.errors import StatusError

DEPLOY = find_resource("apps/v1", "deployments")
PODS = find_resource("v1", "pods")
NODES = find_resource("v1", "nodes")


class FakeTransport:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply = Response(200, b'{"kind": "Thing"}', "application/json")
        self.chunks: list[bytes] = []
        self.stream_status = 200
        self.closed = False

    async def request(self, method, path, query, body, headers) -> Response:
        self.requests.append(
            dict(method=method, path=path, query=query, body=body, headers=headers)
        )
        return self.reply

    @asynccontextmanager
    async def stream(self, method, path, query, headers) -> AsyncIterator[StreamResponse]:
        self.requests.append(
            dict(method=method, path=path, query=query, body=None, headers=headers)
        )

        async def gen() -> AsyncIterator[bytes]:
            for c in self.chunks:
                yield c

        yield StreamResponse(self.stream_status, gen())

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def client(fake: FakeTransport) -> Client:
    return Client(token="s3cret", transport=fake, namespace="team")


def body_of(req: dict[str, Any]) -> Any:
    return orjson.loads(req["body"])


def test_resource_lookup_and_paths() -> None:
    assert find_resource("apps/v1", "Deployment") is DEPLOY
    assert find_resource("v1", "po") is PODS
    assert Client.resource("v1", "node") is NODES
    with pytest.raises(KeyError):
        find_resource("apps/v1", "pods")
    assert resource_path(ResourceRef("", "v1", "pods", True), "ns", "p", "status") == (
        "/api/v1/namespaces/ns/pods/p/status"
    )
    assert (
        resource_path(ResourceRef("apps", "v1", "deployments", True)) == "/apis/apps/v1/deployments"
    )
    assert (
        resource_path(ResourceRef("", "v1", "nodes", False), "ignored", "n1") == "/api/v1/nodes/n1"
    )


async def test_get_and_list(client: Client, fake: FakeTransport) -> None:
    assert await client.get(DEPLOY, "web", "ns1") == {"kind": "Thing"}
    await client.list(
        PODS, label_selector="app=web", limit=5, continue_="tok", resource_version="0"
    )
    get, lst = fake.requests
    assert (get["method"], get["path"], get["query"]) == (
        "GET",
        "/apis/apps/v1/namespaces/ns1/deployments/web",
        {},
    )
    assert get["headers"]["Authorization"] == "Bearer s3cret"
    assert get["headers"]["Accept"] == "application/json"
    assert lst["path"] == "/api/v1/pods"
    assert lst["query"] == {
        "labelSelector": "app=web",
        "limit": "5",
        "continue": "tok",
        "resourceVersion": "0",
    }


async def test_single_object_calls_need_a_namespace(client: Client) -> None:
    with pytest.raises(ValueError, match="namespace"):
        await client.get(PODS, "p")
    with pytest.raises(ValueError, match="name"):
        await client.get(NODES, "")


async def test_create_takes_namespace_from_object_then_client(
    client: Client, fake: FakeTransport
) -> None:
    await client.create(PODS, {"metadata": {"name": "a", "namespace": "objns"}})
    await client.create(PODS, {"metadata": {"name": "b"}})
    await client.create(PODS, {"metadata": {"name": "c", "namespace": "objns"}}, namespace="argns")
    await client.create(NODES, {"metadata": {"name": "n1"}}, dry_run=True, field_manager="me")
    paths = [r["path"] for r in fake.requests]
    assert paths == [
        "/api/v1/namespaces/objns/pods",
        "/api/v1/namespaces/team/pods",
        "/api/v1/namespaces/argns/pods",
        "/api/v1/nodes",
    ]
    assert fake.requests[0]["method"] == "POST"
    assert fake.requests[0]["headers"]["Content-Type"] == "application/json"
    assert body_of(fake.requests[0])["metadata"]["name"] == "a"
    assert fake.requests[3]["query"] == {"dryRun": "All", "fieldManager": "me"}


async def test_update_and_status(client: Client, fake: FakeTransport) -> None:
    obj = {"metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7"}}
    await client.update(DEPLOY, obj)
    await client.update_status(DEPLOY, obj)
    assert [(r["method"], r["path"]) for r in fake.requests] == [
        ("PUT", "/apis/apps/v1/namespaces/ns/deployments/web"),
        ("PUT", "/apis/apps/v1/namespaces/ns/deployments/web/status"),
    ]
    assert body_of(fake.requests[0])["metadata"]["resourceVersion"] == "7"


@pytest.mark.parametrize(
    ("patch_type", "content_type"),
    [
        ("strategic", "application/strategic-merge-patch+json"),
        ("merge", "application/merge-patch+json"),
        ("json", "application/json-patch+json"),
    ],
)
async def test_patch_types(
    client: Client, fake: FakeTransport, patch_type: str, content_type: str
) -> None:
    await client.patch(DEPLOY, "web", {"spec": {"replicas": 3}}, "ns", patch_type)
    req = fake.requests[0]
    assert (req["method"], req["path"]) == ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/web")
    assert req["headers"]["Content-Type"] == content_type
    assert body_of(req) == {"spec": {"replicas": 3}}


async def test_patch_subresource_scale_and_apply(client: Client, fake: FakeTransport) -> None:
    await client.patch_scale(DEPLOY, "web", {"spec": {"replicas": 2}}, "ns")
    await client.patch(DEPLOY, "web", "spec: {}", "ns", "apply", field_manager="me", force=True)
    scale, apply = fake.requests
    assert scale["path"].endswith("/deployments/web/scale")
    assert scale["headers"]["Content-Type"] == "application/merge-patch+json"
    assert apply["headers"]["Content-Type"] == "application/apply-patch+yaml"
    assert apply["body"] == b"spec: {}"
    assert apply["query"] == {"fieldManager": "me", "force": "true"}
    with pytest.raises(ValueError):
        await client.patch(DEPLOY, "web", {}, "ns", "bogus")


async def test_delete_options(client: Client, fake: FakeTransport) -> None:
    await client.delete(PODS, "p", "ns")
    await client.delete(
        PODS,
        "p",
        "ns",
        propagation_policy="Foreground",
        grace_period_seconds=0,
        preconditions={"uid": "u1"},
    )
    plain, opts = fake.requests
    assert plain["method"] == "DELETE" and plain["body"] is None
    assert body_of(opts) == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": "Foreground",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u1"},
    }


async def test_subresources(client: Client, fake: FakeTransport) -> None:
    binding = {"apiVersion": "v1", "kind": "Binding", "target": {"kind": "Node", "name": "n1"}}
    await client.create_subresource(PODS, "p", "binding", binding, "ns")
    await client.get_scale(DEPLOY, "web", "ns")
    await client.update_scale(DEPLOY, "web", {"spec": {"replicas": 1}}, "ns")
    assert [(r["method"], r["path"]) for r in fake.requests] == [
        ("POST", "/api/v1/namespaces/ns/pods/p/binding"),
        ("GET", "/apis/apps/v1/namespaces/ns/deployments/web/scale"),
        ("PUT", "/apis/apps/v1/namespaces/ns/deployments/web/scale"),
    ]
    assert body_of(fake.requests[0]) == binding


async def test_errors_carry_the_status(client: Client, fake: FakeTransport) -> None:
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": 'pods "p" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "p", "kind": "pods"},
        "code": 409,
    }
    fake.reply = Response(409, orjson.dumps(status))
    with pytest.raises(ApiError) as info:
        await client.create(PODS, {"metadata": {"name": "p"}})
    err = info.value
    assert isinstance(err, StatusError)
    assert (err.code, err.reason, err.message) == (409, "AlreadyExists", 'pods "p" already exists')
    assert err.details == {"name": "p", "kind": "pods"} and err.body == status
    assert is_already_exists(err) and not is_conflict(err) and not is_not_found(err)
    fake.reply = Response(404, b"404 page not found")
    with pytest.raises(ApiError) as info:
        await client.get(NODES, "x")
    assert (info.value.code, info.value.reason, info.value.message) == (
        404,
        "NotFound",
        "404 page not found",
    )


async def test_watch_parses_lines_split_across_chunks(client: Client, fake: FakeTransport) -> None:
    events = [
        {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "5"}}},
        {
            "type": "MODIFIED",
            "object": {"metadata": {"name": "a", "resourceVersion": "6"}, "x": "é" * 50},
        },
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}},
    ]
    wire = b"".join(orjson.dumps(e) + b"\n" for e in events)
    # Chunks of 7 bytes cut through lines and even through a multi-byte character.
    fake.chunks = [wire[i : i + 7] for i in range(0, len(wire), 7)]
    got = [ev async for ev in client.watch(PODS, "ns", resource_version="4", timeout_seconds=30)]
    assert [(t, o["metadata"]["resourceVersion"]) for t, o in got] == [
        ("ADDED", "5"),
        ("MODIFIED", "6"),
        ("BOOKMARK", "9"),
    ]
    assert got[1].object["x"] == "é" * 50
    req = fake.requests[0]
    assert req["path"] == "/api/v1/namespaces/ns/pods"
    assert req["query"] == {
        "watch": "true",
        "resourceVersion": "4",
        "timeoutSeconds": "30",
        "allowWatchBookmarks": "true",
    }


async def test_watch_error_event_raises_gone(client: Client, fake: FakeTransport) -> None:
    gone = {
        "kind": "Status",
        "status": "Failure",
        "reason": "Expired",
        "message": "too old resource version: 1 (40)",
    }
    fake.chunks = [
        orjson.dumps({"type": "ADDED", "object": {"metadata": {"name": "a"}}}) + b"\n",
        orjson.dumps({"type": "ERROR", "object": gone}),  # last line, no newline
    ]
    seen = []
    with pytest.raises(ApiError) as info:
        async for ev in client.watch(PODS):
            seen.append(ev.type)
    assert seen == ["ADDED"]
    assert info.value.code == 410 and is_gone(info.value)
    assert "too old resource version" in info.value.message


async def test_watch_refused_raises(client: Client, fake: FakeTransport) -> None:
    fake.stream_status = 400
    fake.chunks = [b'{"kind":"Status","code":400,"reason":"BadRequest","message":"bad selector"}']
    with pytest.raises(ApiError) as info:
        async for _ in client.watch(PODS, label_selector="==="):
            pass
    assert (info.value.code, info.value.message) == (400, "bad selector")


def test_line_splitter_keeps_partial_lines() -> None:
    s = LineSplitter()
    assert s.feed(b'{"a":') == []
    assert s.feed(b'1}\n{"b"') == [b'{"a":1}']
    assert s.feed(b":2}\n\n") == [b'{"b":2}']
    assert s.feed(b"  ") == []
    assert s.flush() == b""


async def test_client_closes_its_transport(fake: FakeTransport) -> None:
    async with Client(transport=fake) as c:
        assert c.transport is fake
    assert fake.closed
    with pytest.raises(ValueError):
        Client()


def test_from_kubeconfig(tmp_path: Path) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    ca_pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "token").write_text("from-file\n")
    config = {
        "clusters": [
            {
                "name": "c1",
                "cluster": {
                    "server": "https://127.0.0.1:1",
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            },
            {
                "name": "c2",
                "cluster": {"server": "https://127.0.0.1:2", "insecure-skip-tls-verify": True},
            },
        ],
        "users": [
            {"name": "u1", "user": {"token": "t1"}},
            {"name": "u2", "user": {"tokenFile": "token"}},
        ],
        "contexts": [
            {"name": "one", "context": {"cluster": "c1", "user": "u1"}},
            {"name": "two", "context": {"cluster": "c2", "user": "u2", "namespace": "dev"}},
        ],
        "current-context": "one",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    one = Client.from_kubeconfig(str(path))
    assert (one.base_url, one.token, one.namespace) == ("https://127.0.0.1:1", "t1", "default")
    two = Client.from_kubeconfig(str(path), context="two")
    assert (two.base_url, two.token, two.namespace) == ("https://127.0.0.1:2", "from-file", "dev")
    with pytest.raises(ValueError, match="context"):
        Client.from_kubeconfig(str(path), context="three")
