"""The local registry (pyk8s.images.registry) over archives built here, checked
with a plain HTTP client the way containerd's resolver and fetcher ask."""

from __future__ import annotations

import base64
import gzip
import json
import tarfile
import tomllib
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from registry_helpers import (
    OCI_MANIFEST,
    TinyImage,
    add_member,
    sha,
    text_image,
    write_oci_archive,
)

from pyk8s.images.registry import LocalRegistry, hosts_toml, write_mirror_config


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, dict[str, TinyImage]]:
    path = tmp_path / "images.tar"
    made = write_oci_archive(
        path,
        {
            "docker.io/library/tiny:1": text_image(b"one\n"),
            "docker.io/library/tiny:1.1": text_image(b"one point one\n"),
            "quay.io/team/app:2": text_image(b"two\n"),
        },
    )
    return path, made


@pytest.fixture
async def registry(archive: tuple[Path, dict[str, TinyImage]]) -> AsyncIterator[LocalRegistry]:
    reg = LocalRegistry([archive[0]])
    await reg.start()
    try:
        yield reg
    finally:
        await reg.stop()
        reg.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_api_version_check(registry: LocalRegistry, http: aiohttp.ClientSession) -> None:
    async with http.get(registry.url + "/v2/") as resp:
        assert resp.status == 200
        assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"
        assert await resp.json() == {}


async def test_manifest_by_tag_with_mirror_namespace(
    registry: LocalRegistry, http: aiohttp.ClientSession, archive: tuple[Path, dict[str, TinyImage]]
) -> None:
    want = archive[1]["docker.io/library/tiny:1"].manifest
    url = registry.url + "/v2/library/tiny/manifests/1?ns=docker.io"
    async with http.get(url) as resp:
        body = await resp.read()
        assert resp.status == 200
        assert body == want
        assert resp.headers["Content-Type"] == OCI_MANIFEST
        assert resp.headers["Docker-Content-Digest"] == sha(body)
        assert int(resp.headers["Content-Length"]) == len(body)


async def test_manifest_by_digest_and_head(
    registry: LocalRegistry, http: aiohttp.ClientSession, archive: tuple[Path, dict[str, TinyImage]]
) -> None:
    manifest = archive[1]["docker.io/library/tiny:1.1"].manifest
    url = f"{registry.url}/v2/library/tiny/manifests/{sha(manifest)}"
    async with http.get(url) as resp:
        assert resp.status == 200
        assert await resp.read() == manifest
        assert resp.headers["Docker-Content-Digest"] == sha(manifest)
    async with http.head(url) as resp:
        assert resp.status == 200
        assert await resp.read() == b""
        assert int(resp.headers["Content-Length"]) == len(manifest)
        assert resp.headers["Docker-Content-Digest"] == sha(manifest)
        assert resp.headers["Content-Type"] == OCI_MANIFEST


async def test_blob_by_digest_head_and_range(
    registry: LocalRegistry, http: aiohttp.ClientSession, archive: tuple[Path, dict[str, TinyImage]]
) -> None:
    layer = archive[1]["quay.io/team/app:2"].layer
    url = f"{registry.url}/v2/team/app/blobs/{sha(layer)}?ns=quay.io"
    async with http.get(url) as resp:
        body = await resp.read()
        assert resp.status == 200
        assert body == layer and sha(body) == resp.headers["Docker-Content-Digest"]
    async with http.head(url) as resp:
        assert resp.status == 200
        assert int(resp.headers["Content-Length"]) == len(layer)
        assert await resp.read() == b""
    async with http.get(url, headers={"Range": "bytes=10-"}) as resp:
        assert resp.status == 206
        assert await resp.read() == layer[10:]
        assert resp.headers["Content-Range"] == f"bytes 10-{len(layer) - 1}/{len(layer)}"


async def test_unknown_tag_name_and_blob(
    registry: LocalRegistry, http: aiohttp.ClientSession
) -> None:
    async with http.get(registry.url + "/v2/library/tiny/manifests/2?ns=docker.io") as resp:
        assert resp.status == 404
        errors = (await resp.json())["errors"]
        assert errors[0]["code"] == "MANIFEST_UNKNOWN"
        assert errors[0]["message"] == "manifest unknown"
    # quay.io's image is not docker.io's: the namespace is honoured.
    async with http.get(registry.url + "/v2/team/app/manifests/2?ns=docker.io") as resp:
        assert resp.status == 404
        assert (await resp.json())["errors"][0]["code"] == "NAME_UNKNOWN"
    missing = sha(b"nothing")
    async with http.get(f"{registry.url}/v2/library/tiny/blobs/{missing}") as resp:
        assert resp.status == 404
        assert (await resp.json())["errors"][0]["code"] == "BLOB_UNKNOWN"


async def test_without_namespace_unambiguous_path_is_served(
    registry: LocalRegistry, http: aiohttp.ClientSession, archive: tuple[Path, dict[str, TinyImage]]
) -> None:
    async with http.get(registry.url + "/v2/team/app/manifests/2") as resp:
        assert resp.status == 200
        assert await resp.read() == archive[1]["quay.io/team/app:2"].manifest


async def test_same_path_under_two_hosts_needs_namespace(tmp_path: Path) -> None:
    path = tmp_path / "two.tar"
    made = write_oci_archive(
        path,
        {
            "docker.io/library/web:1": text_image(b"hub\n"),
            "ghcr.io/library/web:1": text_image(b"ghcr\n"),
        },
    )
    async with LocalRegistry([path]) as reg, aiohttp.ClientSession() as http:
        async with http.get(reg.url + "/v2/library/web/manifests/1") as resp:
            assert resp.status == 404
            detail = (await resp.json())["errors"][0]["detail"]
            assert detail["hosts"] == ["docker.io", "ghcr.io"]
        async with http.get(reg.url + "/v2/library/web/manifests/1?ns=ghcr.io") as resp:
            assert await resp.read() == made["ghcr.io/library/web:1"].manifest


async def test_tags_list_and_catalog(registry: LocalRegistry, http: aiohttp.ClientSession) -> None:
    async with http.get(registry.url + "/v2/library/tiny/tags/list?ns=docker.io") as resp:
        assert await resp.json() == {"name": "library/tiny", "tags": ["1", "1.1"]}
    async with http.get(registry.url + "/v2/_catalog") as resp:
        assert await resp.json() == {"repositories": ["library/tiny", "team/app"]}


async def test_writes_are_refused(registry: LocalRegistry, http: aiohttp.ClientSession) -> None:
    for method, path in [
        ("POST", "/v2/library/tiny/blobs/uploads/"),
        ("PUT", "/v2/library/tiny/manifests/3"),
        ("DELETE", "/v2/library/tiny/manifests/1"),
    ]:
        async with http.request(method, registry.url + path, data=b"x") as resp:
            assert resp.status == 405, (method, path)
            assert (await resp.json())["errors"][0]["code"] == "UNSUPPORTED"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_basic_auth(archive: tuple[Path, dict[str, TinyImage]]) -> None:
    async with LocalRegistry([archive[0]], auth=("puller", "s3cret")) as reg:
        url = reg.url + "/v2/library/tiny/manifests/1?ns=docker.io"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as resp:
                assert resp.status == 401
                assert resp.headers["WWW-Authenticate"] == 'Basic realm="pyk8s"'
                assert (await resp.json())["errors"][0]["code"] == "UNAUTHORIZED"
            async with http.get(url, headers=basic("puller", "wrong")) as resp:
                assert resp.status == 401
            async with http.get(url, headers=basic("puller", "s3cret")) as resp:
                assert resp.status == 200
                assert await resp.read() == archive[1]["docker.io/library/tiny:1"].manifest
            garbage = {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}
            async with http.get(url, headers=garbage) as resp:
                assert resp.status == 401


async def test_bare_tag_archive_needs_a_name(tmp_path: Path) -> None:
    path = tmp_path / "skopeo.tar"
    made = write_oci_archive(path, {"x/y:7": text_image(b"seven\n")}, annotate="tag")
    reg = LocalRegistry()
    assert reg.add_archive(path) == []  # a bare tag alone names no repository
    assert reg.add_archive(path, name="registry.example/apps/seven") == [
        "registry.example/apps/seven:7"
    ]
    async with reg, aiohttp.ClientSession() as http:
        url = reg.url + "/v2/apps/seven/manifests/7?ns=registry.example"
        async with http.get(url) as resp:
            assert await resp.read() == made["x/y:7"].manifest


async def test_docker_archive(tmp_path: Path) -> None:
    image = text_image(b"from docker save\n")
    layer, config = image.layer, image.config
    path = tmp_path / "docker.tar"
    with tarfile.open(path, "w") as tar:
        add_member(tar, "abc123/layer.tar", layer)
        add_member(tar, "cfg.json", config)
        manifest = [
            {"Config": "cfg.json", "RepoTags": ["nginx:1.16.0"], "Layers": ["abc123/layer.tar"]}
        ]
        add_member(tar, "manifest.json", json.dumps(manifest).encode())
    async with LocalRegistry([path]) as reg, aiohttp.ClientSession() as http:
        assert reg.refs == ["docker.io/library/nginx:1.16.0"]
        async with http.get(reg.url + "/v2/library/nginx/manifests/1.16.0?ns=docker.io") as resp:
            made = json.loads(await resp.read())
            assert resp.headers["Content-Type"] == OCI_MANIFEST
        assert made["config"]["digest"] == sha(config)
        assert made["layers"][0]["digest"] == sha(layer)
        async with http.get(f"{reg.url}/v2/library/nginx/blobs/{sha(layer)}") as resp:
            assert await resp.read() == layer


async def test_gzipped_archive(tmp_path: Path, archive: tuple[Path, dict[str, TinyImage]]) -> None:
    gz = tmp_path / "images.tar.gz"
    gz.write_bytes(gzip.compress(archive[0].read_bytes()))
    reg = LocalRegistry([gz])
    try:
        assert "quay.io/team/app:2" in reg.refs
    finally:
        reg.close()


def test_thread_runner_for_sync_code(archive: tuple[Path, dict[str, TinyImage]]) -> None:
    with LocalRegistry([archive[0]]).run_in_thread() as handle:
        assert handle.port > 0
        with urllib.request.urlopen(handle.url + "/v2/library/tiny/tags/list") as resp:
            assert json.loads(resp.read())["tags"] == ["1", "1.1"]
        seen = [(r.method, r.path, r.status) for r in handle.registry.requests]
        assert seen == [("GET", "/v2/library/tiny/tags/list", 200)]


def test_mirror_config_layout(tmp_path: Path) -> None:
    url = "http://127.0.0.1:5123"
    write_mirror_config(tmp_path, url, ["docker.io", "quay.io"], catch_all=True)
    dirs = sorted(p.name for p in tmp_path.iterdir())
    assert dirs == ["127.0.0.1:5123", "_default", "docker.io", "quay.io"]
    text = (tmp_path / "docker.io" / "hosts.toml").read_text()
    assert text == hosts_toml(url)
    doc = tomllib.loads(text)
    assert doc["server"] == url
    # The [host] table is not decoration: containerd 1.6 rejects a hosts.toml
    # without one and then pulls from the real registry.
    assert doc["host"] == {url: {"capabilities": ["pull", "resolve"]}}
    with pytest.raises(ValueError):
        hosts_toml("127.0.0.1:5000")
