"""`kubectl port-forward` end to end: the real kubectl (1.32 and 1.37) talks to the
API server, which relays the websocket ("SPDY/3.1+portforward.k8s.io") to a real
KubeletServer over HTTPS with its kubelet client certificate; the kubelet's
port-forward handler dials the pod.

The node is registered by hand (addresses and daemonEndpoints point at the
kubelet server on 127.0.0.1) and the pod is bound to it and marked Running, so
no container runtime is needed: "the pod" is an HTTP server on an ephemeral
loopback port and PodRef.pod_ip is 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from servers import Kubectl, ThreadedServer

from pyk8s.kubelet.server import portforward
from pyk8s.kubelet.server.app import KubeletServer
from pyk8s.kubelet.server.backend import PodRef

pytestmark = pytest.mark.kubectl

MIB = 1024 * 1024
BIG = bytes(range(256)) * (MIB // 256)
GUARD = 60.0  # turns a hang into a failure; no test asserts on time


class FakeBackend:
    """The kubelet server's view of the node: one pod sandbox."""

    def __init__(self, namespace: str, pod: str, ref: PodRef) -> None:
        self._key, self._ref = (namespace, pod), ref

    def pod_ref(self, namespace: str, pod: str) -> PodRef | None:
        return self._ref if (namespace, pod) == self._key else None

    def find_container(self, *args: object) -> None:
        return None


async def _pod_app() -> tuple[web.AppRunner, int]:
    async def index(request: web.Request) -> web.Response:
        return web.Response(text="hello from the pod\n")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=BIG)

    async def digest(request: web.Request) -> web.Response:
        return web.Response(text=hashlib.sha256(await request.read()).hexdigest())

    app = web.Application(client_max_size=4 * MIB)
    app.router.add_get("/", index)
    app.router.add_get("/big", big)
    app.router.add_post("/digest", digest)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@dataclass
class Cluster:
    namespace: str
    pod: str
    pod_port: int
    ref: PodRef


def _api(server: ThreadedServer):  # the official client, for objects kubectl cannot set
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(server.kubeconfig))


def _register(server: ThreadedServer, node: str, kubelet_port: int, ns: str, pod: str) -> None:
    api = _api(server)
    api.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}})
    api.patch_node_status(node, {"status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
    }})
    api.create_namespaced_pod(ns, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod},
        "spec": {"nodeName": node, "containers": [{"name": "web", "image": "nginx"}]},
    })
    api.patch_namespaced_pod_status(pod, ns, {"status": {
        "phase": "Running", "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}],
    }})


def _unregister(server: ThreadedServer, node: str, ns: str, pod: str) -> None:
    api = _api(server)
    with contextlib.suppress(Exception):
        api.delete_namespaced_pod(pod, ns, grace_period_seconds=0)
    with contextlib.suppress(Exception):
        api.delete_node(node)


@pytest.fixture
def node_name(kubectl: Kubectl) -> Iterator[str]:
    yield f"pf-node-k{kubectl.label.replace('.', '')}"


@pytest.fixture
async def cluster(api_server: ThreadedServer, ns: str, node_name: str) -> AsyncIterator[Cluster]:
    ref = PodRef(sandbox_id="0f" * 32, pod_ip="127.0.0.1", netns="/var/run/netns/cni-pf-test")
    kubelet = KubeletServer(FakeBackend(ns, "web", ref),
                            Path(api_server.ca_file).read_bytes(), host="127.0.0.1", port=0)
    portforward.install(kubelet)
    pod_runner, pod_port = await _pod_app()
    try:
        kubelet_port = await kubelet.start()
        await asyncio.to_thread(_register, api_server, node_name, kubelet_port, ns, "web")
        yield Cluster(ns, "web", pod_port, ref)
    finally:
        await asyncio.to_thread(_unregister, api_server, node_name, ns, "web")
        await kubelet.stop()
        await pod_runner.cleanup()


class PortForward:
    """A running `kubectl port-forward`, stopped by its pid."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.local_port = 0
        self.stdout: list[str] = []

    async def wait_ready(self, remote: int) -> int:
        assert self.proc.stdout is not None
        async with asyncio.timeout(GUARD):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                if not line:
                    raise AssertionError(f"kubectl exited: {await self.stderr()}")
                self.stdout.append(line)
                m = re.match(rf"Forwarding from 127\.0\.0\.1:(\d+) -> {remote}$", line.strip())
                if m:
                    self.local_port = int(m.group(1))
                    return self.local_port

    async def stderr(self) -> str:
        assert self.proc.stderr is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GUARD):
                return (await self.proc.stderr.read()).decode()
        return ""

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()  # SIGTERM to this kubectl's pid only
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await self.proc.wait()
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@contextlib.asynccontextmanager
async def port_forward(kubectl: Kubectl, c: Cluster, remote: int) -> AsyncIterator[PortForward]:
    proc = await asyncio.create_subprocess_exec(
        kubectl.binary, "-n", c.namespace, "port-forward", f"pod/{c.pod}", f"0:{remote}",
        env=kubectl.env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    pf = PortForward(proc)
    try:
        yield pf
    finally:
        await pf.stop()


async def test_http_through_kubectl_port_forward(kubectl: Kubectl, cluster: Cluster) -> None:
    async with port_forward(kubectl, cluster, cluster.pod_port) as pf:
        local = await pf.wait_ready(cluster.pod_port)
        base = f"http://127.0.0.1:{local}"
        # A new session per request: each one is a new forwarded connection.
        async with asyncio.timeout(GUARD):
            for _ in range(3):
                async with aiohttp.ClientSession() as s, s.get(f"{base}/") as r:
                    assert r.status == 200
                    assert await r.text() == "hello from the pod\n"
            async with aiohttp.ClientSession() as s, s.get(f"{base}/big") as r:
                assert await r.read() == BIG  # 1 MiB from the pod
            upload = bytes(reversed(BIG))
            async with aiohttp.ClientSession() as s, s.post(f"{base}/digest", data=upload) as r:
                assert await r.text() == hashlib.sha256(upload).hexdigest()  # 1 MiB to it
            async with aiohttp.ClientSession() as s:  # concurrent connections
                bodies = await asyncio.gather(*(_get(s, f"{base}/big") for _ in range(4)))
            assert all(b == BIG for b in bodies)
        assert pf.proc.returncode is None  # still forwarding
        assert f"Handling connection for {local}\n" in await _more_stdout(pf)


async def _get(session: aiohttp.ClientSession, url: str) -> bytes:
    async with session.get(url) as r:
        return await r.read()


async def _more_stdout(pf: PortForward) -> str:
    assert pf.proc.stdout is not None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1):
            while line := await pf.proc.stdout.readline():
                pf.stdout.append(line.decode())
    return "".join(pf.stdout)


async def test_closed_port_error_reaches_kubectl(kubectl: Kubectl, cluster: Cluster) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    async with port_forward(kubectl, cluster, closed) as pf:
        local = await pf.wait_ready(closed)
        async with asyncio.timeout(GUARD):
            reader, writer = await asyncio.open_connection("127.0.0.1", local)
            assert await reader.read() == b""  # kubectl drops the local connection
            writer.close()
            await pf.proc.wait()  # and gives up on the pod, as upstream does
        # klog quotes the message (err="...") in 1.32+; undo its escaping.
        err = (await pf.stderr()).replace('\\"', '"')
    server_text = (f"error forwarding port {closed} to pod {cluster.ref.sandbox_id}, uid : "
                   f'failed to execute portforward in network namespace "{cluster.ref.netns}": '
                   f"failed to connect to 127.0.0.1:{closed} inside namespace")
    assert server_text in err
    # 1.32 prefixes the text; 1.37 logs the ports as structured fields.
    assert (f"an error occurred forwarding {local} -> {closed}: {server_text}" in err
            or f"localPort={local} remotePort={closed}" in err)
    assert f"dial tcp4 127.0.0.1:{closed}: connect: connection refused" in err
    assert "error: lost connection to pod" in err
    assert pf.proc.returncode == 1


def _official_client_get(server: ThreadedServer, ns: str, pod: str, port: int) -> bytes:
    from kubernetes.stream import portforward as client_portforward

    pf = client_portforward(_api(server).connect_get_namespaced_pod_portforward, pod, ns,
                            ports=str(port))
    sock = pf.socket(port)
    sock.setblocking(True)
    sock.sendall(b"GET /big HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n")
    reply = b""
    while chunk := sock.recv(65536):
        reply += chunk
    sock.close()
    pf.close()
    return reply


async def test_official_python_client_through_the_api_server(
    api_server: ThreadedServer, cluster: Cluster
) -> None:
    """The v4 channel protocol relayed by the API server (ports=P becomes port=P)."""
    async with asyncio.timeout(GUARD):
        reply = await asyncio.to_thread(
            _official_client_get, api_server, cluster.namespace, cluster.pod, cluster.pod_port)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == BIG
