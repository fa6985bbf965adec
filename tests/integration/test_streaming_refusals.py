"""Streaming refusals and the port-forward hook: what the API server answers itself
(no WebSocket, no node, an unreachable kubelet), the kubelet's client-certificate
check, and the protocol-agnostic relay to the kubelet's port-forward handler."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from streaming_helpers import Node, fake_node, make_pod, namespace, node_status, running_status

from pyk8s.apiserver import credentials
from pyk8s.apiserver.credentials import ensure_credentials
from pyk8s.machinery import certs

pytestmark = pytest.mark.kubectl


@pytest.fixture(scope="module")
def node(api_server, tmp_path_factory) -> Iterator[Node]:
    with fake_node(api_server, tmp_path_factory.mktemp("pod-logs"), "refusing-node") as n:
        yield n


# -- port-forward and the kubelet's own checks -------------------------------------------


async def _ws_status(url: str, token: str, ca: str, protocol: str) -> int:
    ctx = ssl.create_default_context(cafile=ca)
    async with aiohttp.ClientSession() as s:
        try:
            async with s.ws_connect(
                url, protocols=[protocol], ssl=ctx, headers={"Authorization": f"Bearer {token}"}
            ):
                return 101
        except aiohttp.WSServerHandshakeError as e:
            return e.status


def test_port_forward_without_a_handler_is_501(api_server, node: Node) -> None:
    ns = namespace(node, "pf")
    node.backend.add_container(ns, "pf", "c", [])
    make_pod(node, ns, "pf", ["c"])
    url = f"{api_server.url}/api/v1/namespaces/{ns}/pods/pf/portforward?ports=80"
    status = api_server.call(
        _ws_status(url, api_server.token, api_server.ca_file, "v4.channel.k8s.io")
    )
    assert status == 501


def test_port_forward_relays_to_the_registered_handler(api_server, node: Node) -> None:
    """The relay is protocol-agnostic: whatever the kubelet's handler speaks passes."""
    from aiohttp import web

    ns = namespace(node, "pf-hook")
    node.backend.add_container(ns, "pf", "c", [])
    make_pod(node, ns, "pf", ["c"])
    seen = {}

    async def handler(request: web.Request, pod) -> web.StreamResponse:
        seen["port"] = request.query.get("port")
        seen["sandbox"] = pod.sandbox_id
        ws = web.WebSocketResponse(protocols=["SPDY/3.1+portforward.k8s.io"])
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_bytes(b"echo:" + msg.data)
        return ws

    async def talk() -> tuple[str | None, bytes]:
        ctx = ssl.create_default_context(cafile=api_server.ca_file)
        url = f"{api_server.url}/api/v1/namespaces/{ns}/pods/pf/portforward?ports=8080,9090"
        async with (
            aiohttp.ClientSession() as s,
            s.ws_connect(
                url,
                protocols=["SPDY/3.1+portforward.k8s.io"],
                ssl=ctx,
                headers={"Authorization": f"Bearer {api_server.token}"},
            ) as ws,
        ):
            await ws.send_bytes(b"\x80\x03")
            msg = await ws.receive()
            return ws.protocol, msg.data

    node.kubelet.port_forward_handler = handler
    try:
        protocol, data = api_server.call(talk())
    finally:
        node.kubelet.port_forward_handler = None
    assert protocol == "SPDY/3.1+portforward.k8s.io"
    assert data == b"echo:\x80\x03"
    assert seen == {"port": "8080,9090", "sandbox": f"sandbox-{ns}-pf"}


def test_kubelet_requires_the_api_servers_client_certificate(
    api_server, node: Node, tmp_path: Path
) -> None:
    base = f"https://127.0.0.1:{node.kubelet.port}"

    async def get(path: str, cert: tuple[str, str] | None) -> int:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        if cert:
            ctx.load_cert_chain(*cert)
        async with aiohttp.ClientSession() as s, s.get(base + path, ssl=ctx) as r:
            return r.status

    creds = ensure_credentials(api_server.data_dir)
    kubelet_cert = (str(creds.kubelet_client_cert_file), str(creds.kubelet_client_key_file))
    # Another client identity signed by the same CA.
    ca_key, ca_cert = credentials._load_ca(creds)
    key, cert = credentials._make_client(ca_key, ca_cert, "system:node:intruder", "system:nodes")
    other = (str(tmp_path / "other.crt"), str(tmp_path / "other.key"))
    Path(other[0]).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    Path(other[1]).write_bytes(certs.pem_key(key))
    path = "/containerLogs/x/y/z"
    assert api_server.call(get("/healthz", None)) == 200
    assert api_server.call(get(path, None)) == 401
    assert api_server.call(get(path, other)) == 403
    assert api_server.call(get(path, kubelet_cert)) == 404  # allowed; no such pod here


# -- the API server's own answers ----------------------------------------------------------


async def _raw(api_server, method: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
    ctx = ssl.create_default_context(cafile=api_server.ca_file)
    headers = {"Authorization": f"Bearer {api_server.token}", **headers}
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, api_server.url + path, headers=headers, ssl=ctx) as r,
    ):
        return r.status, await r.text()


def test_exec_without_websocket_and_without_node(api_server, node: Node) -> None:
    ns = namespace(node, "exec-refusals")
    node.backend.add_container(ns, "p", "c", [])
    make_pod(node, ns, "p", ["c"])
    node.core.create_namespaced_pod(
        ns, {"metadata": {"name": "unbound"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    )
    spdy = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1"}
    path = f"/api/v1/namespaces/{ns}/pods/p/exec?command=ls&stdout=true"
    status, body = api_server.call(_raw(api_server, "POST", path, spdy))
    assert status == 400 and "Upgrade request required" in body
    path = f"/api/v1/namespaces/{ns}/pods/unbound/exec?command=ls&stdout=true"
    status, body = api_server.call(_raw(api_server, "POST", path, spdy))
    assert status == 400 and "pod unbound does not have a host assigned" in body
    # Upstream answers an unscheduled pod's log with an empty body.
    assert node.core.read_namespaced_pod_log("unbound", ns) == ""


def test_unreachable_kubelet(kubectl, ns, node: Node) -> None:
    dead = f"dead-node-{kubectl.label.replace('.', '')}"
    node.core.create_node({"metadata": {"name": dead}})
    try:
        node.core.patch_node_status(dead, node_status(1))  # nothing listens on port 1
        node.core.create_namespaced_pod(
            ns,
            {
                "metadata": {"name": "lost"},
                "spec": {"nodeName": dead, "containers": [{"name": "c", "image": "x"}]},
            },
        )
        node.core.patch_namespaced_pod_status("lost", ns, {"status": running_status(["c"])})
        r = kubectl.run("exec", "-n", ns, "lost", "--", "echo", "x", check=False)
        assert r.returncode == 1
        assert "error dialing backend: dial tcp 127.0.0.1:1: connect: connection refused" in (
            r.stderr
        )
        r = kubectl.run("logs", "-n", ns, "lost", check=False)
        assert r.returncode == 1
        assert "/containerLogs/" + ns + "/lost/c" in r.stderr and "connection refused" in r.stderr
    finally:
        node.core.delete_node(dead)
