"""A fake node for streaming tests: a StreamingBackend with CRI log files, a fake
container runtime streaming server speaking what containerd's does for exec and attach
(remotecommand v4.channel.k8s.io over SPDY/3.1), and a KubeletServer registered as a
Node of a test API server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from pyk8s.apiserver.credentials import ensure_credentials
from pyk8s.kubelet.server.app import KubeletServer
from pyk8s.kubelet.server.backend import ContainerRef, PodRef
from pyk8s.kubelet.server.runtimestream import StreamTransport, read_head
from pyk8s.kubelet.server.spdyconn import SpdyConnection, SpdyStream

SUCCESS = {"metadata": {}, "status": "Success"}


def exit_status(cmd: list[str], code: int) -> dict[str, Any]:
    """containerd's v4 Status for a command that exited with `code` (remotecommand's
    ServeExec form)."""
    if code == 0:
        return SUCCESS
    return {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command "
        f"{cmd}, exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


@dataclass
class Session:
    kind: str  # exec | attach
    container_id: str
    cmd: list[str]
    tty: bool
    stdin: bool
    stdout: bool
    stderr: bool
    resizes: list[dict] = field(default_factory=list)
    stdin_closed: bool = False


class FakeRuntimeStreams:
    """The runtime's streaming server: URLs handed out by exec/attach, served once."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.served: list[Session] = []
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def url(self, session: Session) -> str:
        token = secrets.token_urlsafe(8)
        self.sessions[token] = session
        return f"http://127.0.0.1:{self.port}/{session.kind}/{token}"

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            start, headers = await read_head(reader)
            token = start.split(" ")[1].rsplit("/", 1)[-1]
            session = self.sessions.pop(token, None)
            if session is None:
                body = b"404 page not found\n"
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n" % len(body))
                writer.write(body)
                await writer.drain()
                return
            if "v4.channel.k8s.io" not in headers.get("x-stream-protocol-version", []):
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                b"Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n"
            )
            await writer.drain()
            self.served.append(session)
            await self._remote_command(session, StreamTransport(reader, writer))
        finally:
            writer.close()

    async def _remote_command(self, s: Session, transport: StreamTransport) -> None:
        expected = {"error"} | {
            k for k, on in (("stdin", s.stdin), ("stdout", s.stdout), ("resize", s.tty)) if on
        }
        if s.stderr and not s.tty:
            expected.add("stderr")
        streams: dict[str, SpdyStream] = {}
        ready = asyncio.Event()

        def on_stream(stream: SpdyStream) -> bool:
            streams[stream.header("streamtype")] = stream
            if set(streams) >= expected:
                ready.set()
            return True

        conn = SpdyConnection(transport, server=True, on_stream=on_stream)
        serving = asyncio.create_task(conn.serve())
        try:
            await asyncio.wait_for(ready.wait(), 10)
            resizes = asyncio.create_task(self._resizes(s, streams.get("resize")))
            code = await run_fake_command(s, streams)
            resizes.cancel()
            # containerd's order: output streams end, the Status goes out on the error
            # stream, which is then reset, and the connection goes away.
            for name in ("stdout", "stderr"):
                if name in streams:
                    await streams[name].close()
            await streams["error"].write(json.dumps(exit_status(s.cmd, code)).encode())
            await streams["error"].reset()
        finally:
            await conn.close()  # as containerd: the connection ends with the command
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await serving

    async def _resizes(self, s: Session, stream: SpdyStream | None) -> None:
        if stream is None:
            return
        decoder, buf = json.JSONDecoder(), ""
        while chunk := await stream.read():
            buf += chunk.decode()
            while buf.strip():
                try:
                    size, end = decoder.raw_decode(buf.lstrip())
                except ValueError:
                    break
                s.resizes.append(size)
                buf = buf.lstrip()[end:]


async def _write(streams: dict[str, SpdyStream], name: str, data: bytes) -> None:
    if name in streams:
        await streams[name].write(data)


async def run_fake_command(s: Session, streams: dict[str, SpdyStream]) -> int:
    """What the fake container does: echo, cat, exit N, an interactive shell, attach."""
    cmd = s.cmd
    if s.kind == "attach":
        await _write(streams, "stdout", f"attached to {s.container_id}\n".encode())
        if "stdin" in streams:
            await _cat(s, streams)
        return 0
    if cmd[:1] == ["echo"]:
        await _write(streams, "stdout", (" ".join(cmd[1:]) + "\n").encode())
        return 0
    if cmd[:2] == ["sh", "-c"] and cmd[2].startswith("exit "):
        await _write(streams, "stderr", b"bye\n")
        return int(cmd[2].split()[1])
    if cmd == ["cat"]:
        await _cat(s, streams)
        return 0
    if cmd == ["sh"] and s.tty:
        return await _shell(s, streams)
    await _write(streams, "stderr", f"{cmd[0]}: not found\n".encode())
    return 127


async def _cat(s: Session, streams: dict[str, SpdyStream]) -> None:
    while data := await streams["stdin"].read():
        await _write(streams, "stdout", data)
    s.stdin_closed = True


async def _shell(s: Session, streams: dict[str, SpdyStream]) -> int:
    """A terminal: typed characters are echoed (as a pty does) and `echo X` answered."""
    line = b""
    while data := await streams["stdin"].read():
        for byte in data:
            ch = bytes([byte])
            if ch not in (b"\r", b"\n"):
                line += ch
                await _write(streams, "stdout", ch)
                continue
            await _write(streams, "stdout", b"\r\n")
            words = line.decode().split()
            line = b""
            if words[:1] == ["exit"]:
                return int(words[1]) if len(words) > 1 else 0
            if words[:1] == ["echo"]:
                await _write(streams, "stdout", (" ".join(words[1:]) + "\r\n").encode())
            await _write(streams, "stdout", b"$ ")
    return 0


class FakeBackend:
    """A node's pods for the kubelet API: containers with CRI log files."""

    def __init__(self, runtime: FakeRuntimeStreams, log_dir: Path) -> None:
        self.runtime = runtime
        self.log_dir = log_dir
        self.pods: dict[tuple[str, str], PodRef] = {}
        self.current: dict[tuple[str, str, str], ContainerRef] = {}
        self.previous: dict[tuple[str, str, str], ContainerRef] = {}

    def add_container(
        self, ns: str, pod: str, name: str, lines: list[str], running: bool = True, attempt: int = 0
    ) -> ContainerRef:
        self.pods.setdefault((ns, pod), PodRef(f"sandbox-{ns}-{pod}", "198.18.7.10"))
        path = self.log_dir / f"{ns}_{pod}_{name}_{attempt}.log"
        path.write_text("".join(lines))
        ref = ContainerRef(f"cid-{ns}-{pod}-{name}-{attempt}", path, running, "198.18.7.10")
        key = (ns, pod, name)
        if key in self.current:
            old = self.current[key]
            self.previous[key] = ContainerRef(old.container_id, old.log_path, False, old.pod_ip)
        self.current[key] = ref
        return ref

    def stop_container(self, ns: str, pod: str, name: str) -> None:
        old = self.current[(ns, pod, name)]
        self.current[(ns, pod, name)] = ContainerRef(old.container_id, old.log_path, False)

    def find_container(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> ContainerRef | None:
        table = self.previous if previous else self.current
        return table.get((namespace, pod, container))

    async def exec_url(
        self, container_id: str, cmd: list[str], tty: bool, stdin: bool, stdout: bool, stderr: bool
    ) -> str:
        return self.runtime.url(Session("exec", container_id, cmd, tty, stdin, stdout, stderr))

    async def attach_url(
        self, container_id: str, tty: bool, stdin: bool, stdout: bool, stderr: bool
    ) -> str:
        return self.runtime.url(Session("attach", container_id, [], tty, stdin, stdout, stderr))

    def pod_ref(self, namespace: str, pod: str) -> PodRef | None:
        return self.pods.get((namespace, pod))


def cri_line(text: str, stream: str = "stdout", ts: str = "2024-05-01T10:00:00.5Z") -> str:
    return f"{ts} {stream} F {text}\n"


# -- the node, registered with a test API server -------------------------------------------


@dataclass
class Node:
    name: str
    backend: FakeBackend
    runtime: FakeRuntimeStreams
    kubelet: KubeletServer
    core: k8s.CoreV1Api


@contextlib.contextmanager
def fake_node(api_server: Any, log_dir: Path, name: str) -> Iterator[Node]:
    """A KubeletServer on the API server's loop, registered as Node `name` at
    127.0.0.1:<its port>; removed again at the end."""
    runtime = FakeRuntimeStreams()
    backend = FakeBackend(runtime, log_dir)
    creds = ensure_credentials(api_server.data_dir)
    kubelet = KubeletServer(backend, creds.ca_file.read_bytes(), "127.0.0.1", 0)
    api = k8s_config.new_client_from_config(config_file=api_server.kubeconfig)
    core = k8s.CoreV1Api(api)
    try:
        api_server.call(runtime.start())
        port = api_server.call(kubelet.start())
        core.create_node({"metadata": {"name": name}})
        core.patch_node_status(name, node_status(port))
        yield Node(name, backend, runtime, kubelet, core)
    finally:
        with contextlib.suppress(Exception):
            core.delete_node(name)
        api_server.call(kubelet.stop())
        api_server.call(runtime.stop())
        api.close()


def node_status(port: int) -> dict:
    return {
        "status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        }
    }


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


def make_pod(
    node: Node, ns: str, name: str, containers: list[str], status: dict | None = None
) -> None:
    """A pod bound to the node, with the status its kubelet would report."""
    node.core.create_namespaced_pod(
        ns,
        {
            "metadata": {"name": name},
            "spec": {
                "nodeName": node.name,
                "containers": [{"name": c, "image": "busybox:latest"} for c in containers],
            },
        },
    )
    node.core.patch_namespaced_pod_status(
        name, ns, {"status": status or running_status(containers)}
    )


def namespace(node: Node, name: str) -> str:
    with contextlib.suppress(k8s.ApiException):
        node.core.create_namespace({"metadata": {"name": name}})
    return name
