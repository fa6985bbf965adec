"""Bad requests get the right 4xx Status, quickly; the server stays up and stored
objects are unchanged."""

from __future__ import annotations

import ssl

import orjson
import pytest
import requests

CM = "/api/v1/namespaces/default/configmaps"
DEP = "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture(scope="module")
def http(api_server):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {api_server.token}"
    base = api_server.url

    def call(method: str, path: str, **kw) -> requests.Response:
        # Per request: REQUESTS_CA_BUNDLE in the environment would override Session.verify.
        return s.request(method, base + path, timeout=10, verify=api_server.ca_file, **kw)

    call.base = base  # type: ignore[attr-defined]
    return call


@pytest.fixture(scope="module")
def baseline(http):
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "keepme"},
        "data": {"a": "1"},
    }
    r = http("POST", CM, json=body)
    assert r.status_code in (201, 409)
    return http("GET", f"{CM}/keepme").json()


def _deployment(**spec_extra) -> dict:
    spec = {
        "selector": {"matchLabels": {"app": "x"}},
        "template": {
            "metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
    }
    spec.update(spec_extra)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bad"},
        "spec": spec,
    }


def _bomb() -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    prev = "a"
    for i in range(12):
        name = f"l{i}"
        lines.append(
            f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]"
        )
        prev = name
    return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\n" + "\n".join(lines) + "\n"


CASES = [
    (
        "malformed json",
        "POST",
        CM,
        {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
        400,
        "BadRequest",
    ),
    (
        "json array body",
        "POST",
        CM,
        {"data": b"[1,2]", "headers": {"Content-Type": "application/json"}},
        400,
        "BadRequest",
    ),
    (
        "oversized body",
        "POST",
        CM,
        {
            "data": b'{"a":"' + b"x" * (3 * 1024 * 1024 + 10) + b'"}',
            "headers": {"Content-Type": "application/json"},
        },
        413,
        "RequestEntityTooLarge",
    ),
    (
        "wrongly typed replicas",
        "POST",
        DEP,
        {"json": _deployment(replicas="three")},
        400,
        "BadRequest",
    ),
    (
        "unknown field strict",
        "POST",
        DEP + "?fieldValidation=Strict",
        {"json": _deployment(replicax=3)},
        400,
        "BadRequest",
    ),
    (
        "bad name",
        "POST",
        CM,
        {"json": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}},
        422,
        "Invalid",
    ),
    (
        "missing name",
        "POST",
        CM,
        {"json": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}},
        422,
        "Invalid",
    ),
    ("bad label selector", "GET", CM + "?labelSelector=a%20in%20(", {}, 400, "BadRequest"),
    ("bad field selector", "GET", CM + "?fieldSelector=spec.nope%3Dx", {}, 400, "BadRequest"),
    (
        "yaml alias bomb",
        "POST",
        CM,
        {"data": _bomb().encode(), "headers": {"Content-Type": "application/yaml"}},
        400,
        "BadRequest",
    ),
    (
        "deeply nested",
        "POST",
        CM,
        {
            "data": b'{"a":' * 5000 + b"1" + b"}" * 5000,
            "headers": {"Content-Type": "application/json"},
        },
        400,
        "BadRequest",
    ),
    (
        "truncated protobuf",
        "POST",
        DEP,
        {
            "data": b"k8s\x00\x0a\x10\x0a\x07apps/v1",
            "headers": {"Content-Type": "application/vnd.kubernetes.protobuf"},
        },
        400,
        "BadRequest",
    ),
    ("unknown resource", "GET", "/api/v1/namespaces/default/nothings", {}, 404, "NotFound"),
    ("wrong verb", "POST", f"{CM}/keepme", {"json": {}}, 405, "MethodNotAllowed"),
    (
        "missing namespace",
        "POST",
        "/api/v1/namespaces/nowhere/configmaps",
        {"json": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}},
        404,
        "NotFound",
    ),
    (
        "wrong kind",
        "POST",
        CM,
        {"json": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}},
        400,
        "BadRequest",
    ),
    (
        "apply patch not yet served",
        "PATCH",
        f"{CM}/keepme",
        {"data": b"{}", "headers": {"Content-Type": "application/apply-patch+yaml"}},
        415,
        "UnsupportedMediaType",
    ),
    (
        "stale update",
        "PUT",
        f"{CM}/keepme",
        {
            "json": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "keepme", "resourceVersion": "1"},
                "data": {"a": "2"},
            }
        },
        409,
        "Conflict",
    ),
    (
        "bad json patch",
        "PATCH",
        f"{CM}/keepme",
        {
            "data": b'[{"op":"remove","path":"/data/nope"}]',
            "headers": {"Content-Type": "application/json-patch+json"},
        },
        422,
        "Invalid",
    ),
    ("no token", "GET", CM, {"headers": {"Authorization": ""}}, 401, "Unauthorized"),
]


@pytest.mark.parametrize("what,method,path,kw,code,reason", CASES, ids=[c[0] for c in CASES])
def test_bad_request_gets_status(http, baseline, what, method, path, kw, code, reason):
    r = http(method, path, **kw)
    assert r.status_code == code, r.text[:500]
    status = r.json()
    assert status["kind"] == "Status" and status["status"] == "Failure"
    assert status["code"] == code and status["reason"] == reason
    assert status["message"]
    assert r.elapsed.total_seconds() < 5
    # The server is up and the stored object untouched.
    after = http("GET", f"{CM}/keepme").json()
    assert after == baseline


def test_unknown_field_messages(http):
    r = http("POST", DEP + "?fieldValidation=Strict", json=_deployment(replicax=3))
    assert r.json()["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: '
        'strict decoding error: unknown field "spec.replicax"'
    )
    r = http("POST", DEP + "?fieldValidation=Warn&dryRun=All", json=_deployment(replicax=3))
    assert r.status_code == 201
    assert r.headers.get("Warning") == '299 - "unknown field \\"spec.replicax\\""'
    assert "replicax" not in r.json()["spec"]


def test_ssl_required_and_versions_public(api_server):
    ctx = ssl.create_default_context(cafile=api_server.ca_file)
    assert ctx  # the CA verifies the serving certificate (requests above use it)
    r = requests.get(api_server.url + "/version", verify=api_server.ca_file, timeout=5)
    info = r.json()
    assert info["major"] == "1" and info["minor"] == "32"
    r2 = requests.get(api_server.url + "/version/", verify=api_server.ca_file, timeout=5)
    assert orjson.loads(r2.content) == info
