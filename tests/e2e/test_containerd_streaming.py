"""The kubelet's streaming against a real containerd: CRI log files as containerd
writes them (long lines split into partial records), and exec/attach over SPDY to
containerd's streaming server, directly and through the KubeletServer's WebSocket.

Needs root, containerd, runc and busybox-static; skips otherwise (as
test_containerd_cri, whose fixtures and teardown these tests share).
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import uuid
from pathlib import Path

import aiohttp
import pytest
from ociutil import BUSYBOX, busybox_archive
from test_containerd_cri import _log_line, _teardown

from pyk8s.apiserver.credentials import ensure_credentials
from pyk8s.kubelet.containerd import Containerd, containerd_available
from pyk8s.kubelet.cri import CriClient, NamespaceMode
from pyk8s.kubelet.server import crilog, runtimestream
from pyk8s.kubelet.server.app import KubeletServer
from pyk8s.kubelet.server.backend import ContainerRef, PodRef

IMAGE = "pyk8s.local/test/busybox:stream"
HOST_NETWORK = {"network": NamespaceMode.NODE, "pid": NamespaceMode.CONTAINER}
# 2**15 characters on one line: containerd splits lines longer than 16 KiB.
LONG_LINE = "s=x; i=0; while [ $i -lt 15 ]; do s=$s$s; i=$((i+1)); done; echo $s"


@pytest.fixture
async def box(tmp_path: Path):
    """A running busybox container: (cri client, container id, its CRI log file)."""
    reason = containerd_available()
    if reason is None and not BUSYBOX.exists():
        reason = "busybox-static is not installed"
    if reason:
        pytest.skip(reason)
    ctd = Containerd(
        tmp_path / "containerd",
        cni_conf_dir=tmp_path / "cni",
        sandbox_image=IMAGE,
        log_file=tmp_path / "containerd.log",
    )
    try:
        await ctd.start()
        await ctd.import_archive(busybox_archive(tmp_path / "bb.tar", IMAGE, ["sleep", "1000000"]))
        async with await CriClient.connect(ctd.endpoint) as cri:
            logs = tmp_path / "logs"
            (logs / "main").mkdir(parents=True)
            sandbox = {
                "metadata": {"name": "stream", "uid": str(uuid.uuid4()), "namespace": "default"},
                "log_directory": str(logs),
                "linux": {"security_context": {"namespace_options": HOST_NETWORK}},
            }
            sandbox_id = await cri.run_pod_sandbox(sandbox)
            container_id = await cri.create_container(
                sandbox_id,
                {
                    "metadata": {"name": "main"},
                    "image": {"image": IMAGE},
                    "command": ["sh", "-c", f"echo hi; {LONG_LINE}; echo bye >&2; sleep 1000"],
                    "log_path": "main/0.log",
                    "linux": {"security_context": {"namespace_options": HOST_NETWORK}},
                },
                sandbox,
            )
            await cri.start_container(container_id)
            yield cri, container_id, logs / "main" / "0.log"
    finally:
        await _teardown(ctd, tmp_path)


async def _drain(stream) -> bytes:
    parts = []
    while chunk := await stream.read():
        parts.append(chunk)
    return b"".join(parts)


async def test_container_log_with_partial_records(box) -> None:
    _cri, _cid, log = box
    # stdout and stderr are copied by separate readers: wait for both to be written.
    assert await _log_line(log, re.compile(r"^\S+ stderr F bye$"), timeout=10)
    assert await _log_line(log, re.compile(r"^\S+ stdout F x+$"), timeout=10)
    raw = log.read_text().splitlines()
    assert any(" stdout P " in line for line in raw)  # containerd split the long line
    out = b"".join([c async for c in crilog.read_log(log, crilog.LogOptions(stream="Stdout"))])
    assert out == b"hi\n" + b"x" * 2**15 + b"\n"
    stamped = b"".join([c async for c in crilog.read_log(log, crilog.LogOptions(timestamps=True))])
    assert stamped.count(b"\n") == 3 and all(line[:4].isdigit() for line in stamped.splitlines())


async def test_exec_over_spdy(box) -> None:
    cri, cid, _log = box
    url = await cri.exec({"container_id": cid, "cmd": ["echo", "hello"], "stdout": True})
    streams = await runtimestream.open_streams(url, False, True, False, False)
    try:
        assert await _drain(streams.stdout) == b"hello\n"
        assert json.loads(await _drain(streams.error)) == {"metadata": {}, "status": "Success"}
    finally:
        await streams.close()

    url = await cri.exec(
        {"container_id": cid, "cmd": ["sh", "-c", "exit 3"], "stdout": True, "stderr": True}
    )
    streams = await runtimestream.open_streams(url, False, True, True, False)
    try:
        status = json.loads(await _drain(streams.error))
    finally:
        await streams.close()
    assert status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]


async def test_exec_stdin_end_over_spdy(box) -> None:
    cri, cid, _log = box
    url = await cri.exec({"container_id": cid, "cmd": ["cat"], "stdin": True, "stdout": True})
    streams = await runtimestream.open_streams(url, True, True, False, False)
    try:
        await streams.stdin.write(b"one\ntwo\n")
        await streams.stdin.close()  # FIN: cat sees the end of its input
        out = await asyncio.wait_for(_drain(streams.stdout), 20)
        assert out == b"one\ntwo\n"
        assert json.loads(await _drain(streams.error))["status"] == "Success"
    finally:
        await streams.close()


class _Backend:
    def __init__(self, cri: CriClient, cid: str, log: Path) -> None:
        self.cri, self.ref = cri, ContainerRef(cid, log, True)

    def find_container(self, namespace, pod, container, previous):
        return None if previous else self.ref

    async def exec_url(self, container_id, cmd, tty, stdin, stdout, stderr):
        request = {"container_id": container_id, "cmd": cmd, "tty": tty}
        return await self.cri.exec({**request, "stdin": stdin, "stdout": stdout, "stderr": stderr})

    async def attach_url(self, container_id, tty, stdin, stdout, stderr):
        request = {"container_id": container_id, "tty": tty, "stdin": stdin}
        return await self.cri.attach({**request, "stdout": stdout, "stderr": stderr})

    def pod_ref(self, namespace, pod):
        return PodRef("sandbox", "127.0.0.1")


async def test_kubelet_websocket_v5_exec(box, tmp_path: Path) -> None:
    """kubectl's v5 frames through the KubeletServer to containerd: output, the close
    signal ending stdin, a terminal, and the final Status."""
    cri, cid, log = box
    creds = ensure_credentials(tmp_path / "cluster")
    kubelet = KubeletServer(_Backend(cri, cid, log), creds.ca_file.read_bytes(), "127.0.0.1", 0)
    port = await kubelet.start()
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.load_cert_chain(creds.kubelet_client_cert_file, creds.kubelet_client_key_file)
    base = f"https://127.0.0.1:{port}/exec/default/stream/main"
    try:
        async with aiohttp.ClientSession() as s:
            query = "command=cat&input=1&output=1&error=1"
            async with s.ws_connect(
                f"{base}?{query}", protocols=["v5.channel.k8s.io"], ssl=ctx
            ) as ws:
                assert ws.protocol == "v5.channel.k8s.io"
                await ws.send_bytes(b"\x00piped\n")
                await ws.send_bytes(b"\xff\x00")  # v5: stdin is done
                frames = await _frames(ws)
            assert b"".join(f[1:] for f in frames if f[0] == 1) == b"piped\n"
            assert json.loads(frames[-1][1:])["status"] == "Success" and frames[-1][0] == 3

            query = "command=sh&input=1&output=1&tty=1"
            async with s.ws_connect(
                f"{base}?{query}", protocols=["v5.channel.k8s.io"], ssl=ctx
            ) as ws:
                await ws.send_bytes(b'\x04{"Width":100,"Height":30}')
                await ws.send_bytes(b"\x00echo in a terminal; exit 4\n")
                frames = await _frames(ws)
            out = b"".join(f[1:] for f in frames if f[0] == 1)
            assert b"\r\nin a terminal\r\n" in out  # the pty's line endings
            status = json.loads(frames[-1][1:])
            assert status["reason"] == "NonZeroExitCode"
            assert status["details"]["causes"][0]["message"] == "4"
    finally:
        await kubelet.stop()


async def _frames(ws: aiohttp.ClientWebSocketResponse) -> list[bytes]:
    frames = []
    async with asyncio.timeout(20):
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY and len(msg.data) > 1:
                frames.append(msg.data)
    return frames
