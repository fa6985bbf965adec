"""logs, logs -f, logs --previous, exec, attach and port-forward, end to end: the real
kubectl (and the official Python client) -> the API server -> the kubelet API
(KubeletServer over HTTPS with client certificates) -> a fake container runtime
streaming server (remotecommand over SPDY, as containerd's)."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.stream import stream as k8s_stream
from streaming_helpers import FakeBackend, FakeRuntimeStreams, cri_line

from pyk8s.apiserver import credentials
from pyk8s.apiserver.credentials import ensure_credentials
from pyk8s.kubelet.server.app import KubeletServer

NODE = "stream-node"
pytestmark = pytest.mark.kubectl


@dataclass
class Node:
    backend: FakeBackend
    runtime: FakeRuntimeStreams
    kubelet: KubeletServer
    core: k8s.CoreV1Api


@pytest.fixture(scope="module")
def node(api_server, tmp_path_factory) -> Iterator[Node]:
    runtime = FakeRuntimeStreams()
    backend = FakeBackend(runtime, tmp_path_factory.mktemp("pod-logs"))
    creds = ensure_credentials(api_server.data_dir)
    kubelet = KubeletServer(backend, creds.ca_file.read_bytes(), "127.0.0.1", 0)
    api = k8s_config.new_client_from_config(config_file=api_server.kubeconfig)
    try:
        api_server.call(runtime.start())
        port = api_server.call(kubelet.start())
        core = k8s.CoreV1Api(api)
        core.create_node({"metadata": {"name": NODE}})
        core.patch_node_status(
            NODE,
            {
                "status": {
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
                }
            },
        )
        yield Node(backend, runtime, kubelet, core)
    finally:
        with contextlib.suppress(Exception):
            k8s.CoreV1Api(api).delete_node(NODE)
        api_server.call(kubelet.stop())
        api_server.call(runtime.stop())
        api.close()


def running_status(names: list[str], previous_id: str = "") -> dict:
    statuses = []
    for name in names:
        cs = {
            "name": name,
            "state": {"running": {"startedAt": "2024-05-01T10:00:00Z"}},
            "lastState": {},
            "ready": True,
            "restartCount": 1 if previous_id else 0,
            "image": "busybox:latest",
            "imageID": "docker.io/library/busybox@sha256:" + "0" * 64,
            "containerID": f"containerd://cid-{name}",
            "started": True,
        }
        if previous_id:
            cs["lastState"] = {
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "containerID": f"containerd://{previous_id}",
                    "startedAt": "2024-05-01T09:00:00Z",
                    "finishedAt": "2024-05-01T09:59:00Z",
                }
            }
        statuses.append(cs)
    return {"phase": "Running", "podIP": "198.18.7.10", "containerStatuses": statuses}


def make_pod(node: Node, ns: str, name: str, containers: list[str], status: dict | None = None):
    node.core.create_namespaced_pod(
        ns,
        {
            "metadata": {"name": name},
            "spec": {
                "nodeName": NODE,
                "containers": [{"name": c, "image": "busybox:latest"} for c in containers],
            },
        },
    )
    node.core.patch_namespaced_pod_status(
        name, ns, {"status": status or running_status(containers)}
    )


def read_until(proc: subprocess.Popen, needle: bytes, timeout: float = 20) -> bytes:
    """What the process printed, up to and including `needle`."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"{needle!r} not printed within {timeout}s; got {seen!r}")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise AssertionError(f"output ended before {needle!r}; got {seen!r}")
        seen += chunk
    return seen


# -- logs -------------------------------------------------------------------------------


def test_logs_and_tail(kubectl, ns, node: Node) -> None:
    node.backend.add_container(
        ns, "web", "c", [cri_line("one"), cri_line("two"), cri_line("three")]
    )
    make_pod(node, ns, "web", ["c"])
    assert kubectl("logs", "-n", ns, "web") == "one\ntwo\nthree\n"
    assert kubectl("logs", "-n", ns, "web", "--tail=1") == "three\n"
    stamped = kubectl("logs", "-n", ns, "web", "--timestamps", "--tail=1")
    assert stamped == "2024-05-01T10:00:00.5Z three\n"


def test_logs_follow_streams_until_the_container_stops(kubectl, ns, node: Node) -> None:
    ref = node.backend.add_container(ns, "tailed", "c", [cri_line("first")])
    make_pod(node, ns, "tailed", ["c"])
    proc = subprocess.Popen(
        [kubectl.binary, "logs", "-f", "-n", ns, "tailed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=kubectl.env(),
    )
    try:
        read_until(proc, b"first\n")
        with open(ref.log_path, "a") as f:
            f.write(cri_line("second"))
        assert read_until(proc, b"second\n") == b"second\n"
        with open(ref.log_path, "a") as f:
            f.write(cri_line("last words"))
        node.backend.stop_container(ns, "tailed", "c")
        out, err = proc.communicate(timeout=20)
        assert out == b"last words\n", err
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_logs_previous(kubectl, ns, node: Node) -> None:
    first = node.backend.add_container(ns, "crashy", "c", [cri_line("old run")], attempt=0)
    node.backend.add_container(ns, "crashy", "c", [cri_line("new run")], attempt=1)
    make_pod(node, ns, "crashy", ["c"], running_status(["c"], previous_id=first.container_id))
    assert kubectl("logs", "-n", ns, "crashy") == "new run\n"
    assert kubectl("logs", "-n", ns, "crashy", "--previous") == "old run\n"


def test_logs_errors(kubectl, ns, node: Node) -> None:
    node.backend.add_container(ns, "fresh", "c", [])
    waiting = {
        "phase": "Pending",
        "containerStatuses": [
            {
                "name": "c",
                "state": {"waiting": {"reason": "ContainerCreating"}},
                "ready": False,
                "restartCount": 0,
                "image": "busybox:latest",
                "imageID": "",
            }
        ],
    }
    make_pod(node, ns, "fresh", ["c"], waiting)
    r = kubectl.run("logs", "-n", ns, "fresh", check=False)
    assert r.returncode == 1
    assert (
        'Error from server (BadRequest): container "c" in pod "fresh" is waiting to start: '
        "ContainerCreating" in r.stderr
    )
    r = kubectl.run("logs", "-n", ns, "fresh", "--previous", check=False)
    assert 'previous terminated container "c" in pod "fresh" not found' in r.stderr


def test_log_container_choice_is_checked_by_the_server(node: Node) -> None:
    ns = _namespace(node, "logs-choice")
    make_pod(node, ns, "two", ["a", "b"])
    for params, message in (
        ({}, "a container name must be specified for pod two, choose one of: [a b]"),
        ({"container": "zzz"}, "container zzz is not valid for pod two"),
    ):
        with pytest.raises(k8s.ApiException) as e:
            node.core.read_namespaced_pod_log("two", ns, **params)
        assert e.value.status == 400 and message in e.value.body


def test_missing_log_file(node: Node) -> None:
    ns = _namespace(node, "logs-missing")
    ref = node.backend.add_container(ns, "nolog", "c", [])
    ref.log_path.unlink()
    make_pod(node, ns, "nolog", ["c"])
    with pytest.raises(k8s.ApiException) as e:
        node.core.read_namespaced_pod_log("nolog", ns)
    assert e.value.status == 400
    assert f'failed to open log file \\"{ref.log_path}\\"' in e.value.body
    assert "no such file or directory" in e.value.body


# -- exec -------------------------------------------------------------------------------


def test_exec_output_and_exit_codes(kubectl, ns, node: Node) -> None:
    node.backend.add_container(ns, "box", "c", [])
    make_pod(node, ns, "box", ["c"])
    assert kubectl("exec", "-n", ns, "box", "--", "echo", "hello", "world") == "hello world\n"
    r = kubectl.run("exec", "-n", ns, "box", "--", "sh", "-c", "exit 3", check=False)
    assert r.returncode == 3
    assert "bye" in r.stderr and "command terminated with exit code 3" in r.stderr


def test_exec_stdin_reaches_its_end(kubectl, ns, node: Node) -> None:
    """v5's close signal becomes a FIN on the runtime's stdin stream, so cat ends."""
    node.backend.add_container(ns, "cat", "c", [])
    make_pod(node, ns, "cat", ["c"])
    r = kubectl.run("exec", "-i", "-n", ns, "cat", "--", "cat", input="hi\nthere\n", timeout=30)
    assert r.stdout == "hi\nthere\n" and r.returncode == 0


def test_exec_into_a_stopped_container(kubectl, ns, node: Node) -> None:
    node.backend.add_container(ns, "gone", "c", [], running=False)
    make_pod(node, ns, "gone", ["c"])
    r = kubectl.run("exec", "-n", ns, "gone", "--", "echo", "x", check=False)
    assert r.returncode == 1
    assert 'unable to upgrade connection: container not found ("c")' in r.stderr


def test_exec_interactive_terminal(kubectl, ns, node: Node) -> None:
    node.backend.add_container(ns, "tty", "c", [])
    make_pod(node, ns, "tty", ["c"])
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [kubectl.binary, "exec", "-it", "-n", ns, "tty", "--", "sh"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=kubectl.env({"TERM": "xterm"}),
        start_new_session=True,
    )
    os.close(secondary)
    try:
        out = _pty_read_until(primary, b"", 1)  # let kubectl set the terminal up
        os.write(primary, b"echo hi\r")
        out = _pty_read_until(primary, b"hi\r\n$ ")
        assert b"echo hi\r\nhi\r\n" in out
        os.write(primary, b"exit\r")
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(primary)
    session = next(s for s in node.runtime.served if s.container_id.startswith(f"cid-{ns}-tty"))
    assert session.tty and session.resizes  # kubectl sent the terminal's size


def _pty_read_until(fd: int, needle: bytes, timeout: float = 20) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while not needle or needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            if not needle:
                return seen
            raise AssertionError(f"{needle!r} not shown within {timeout}s; got {seen!r}")
        if select.select([fd], [], [], left)[0]:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen


def test_attach(kubectl, ns, node: Node) -> None:
    node.backend.add_container(ns, "att", "c", [])
    make_pod(node, ns, "att", ["c"])
    out = kubectl("attach", "-n", ns, "att", timeout=30)
    assert out == f"attached to cid-{ns}-att-c-0\n"
    r = kubectl.run("attach", "-i", "-n", ns, "att", input="ping\n", timeout=30)
    assert r.stdout.endswith("ping\n")


# -- the official Python client -----------------------------------------------------------


def _namespace(node: Node, name: str) -> str:
    with contextlib.suppress(k8s.ApiException):
        node.core.create_namespace({"metadata": {"name": name}})
    return name


def test_official_client_exec(node: Node) -> None:
    ns = _namespace(node, "py-exec")
    node.backend.add_container(ns, "py", "c", [])
    make_pod(node, ns, "py", ["c"])
    out = k8s_stream(
        node.core.connect_get_namespaced_pod_exec,
        "py",
        ns,
        command=["echo", "from", "python"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
    assert out == "from python\n"
    resp = k8s_stream(
        node.core.connect_get_namespaced_pod_exec,
        "py",
        ns,
        command=["sh", "-c", "exit 5"],
        stderr=True,
        stdout=True,
        _preload_content=False,
    )
    resp.run_forever(timeout=20)
    assert resp.returncode == 5


def test_official_client_exec_stdin(node: Node) -> None:
    ns = _namespace(node, "py-exec-stdin")
    node.backend.add_container(ns, "py", "c", [])
    make_pod(node, ns, "py", ["c"])
    resp = k8s_stream(
        node.core.connect_get_namespaced_pod_exec,
        "py",
        ns,
        command=["cat"],
        stdin=True,
        stdout=True,
        stderr=True,
        _preload_content=False,
    )
    resp.write_stdin("typed\n")
    resp.close_channel(0)  # v5: end of stdin
    resp.run_forever(timeout=20)
    assert resp.read_stdout() == "typed\n"
    assert resp.returncode == 0


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
    ns = _namespace(node, "pf")
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

    ns = _namespace(node, "pf-hook")
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
    Path(other[1]).write_bytes(credentials._pem_key(key))
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
    ns = _namespace(node, "exec-refusals")
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
        node.core.patch_node_status(
            dead,
            {
                "status": {
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 1}},
                }
            },
        )
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
