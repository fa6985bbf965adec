"""The CRI client against a real containerd run by pyk8s.kubelet.containerd.

Needs root, containerd, runc, the CNI plugins and busybox-static; skips otherwise.
Pods here use the host network, so no CNI config is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import grpc
import pytest
from ociutil import BUSYBOX, busybox_archive

from pyk8s.kubelet.containerd import Containerd, containerd_available
from pyk8s.kubelet.cri import (
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    SANDBOX_NOTREADY,
    SANDBOX_READY,
    CriClient,
    CriError,
    NamespaceMode,
)

IMAGE = "pyk8s.local/test/busybox:1"


@pytest.fixture
async def containerd(tmp_path: Path):
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
        yield ctd
    finally:
        await _teardown(ctd, tmp_path)


@pytest.fixture
async def cri(containerd: Containerd):
    client = await CriClient.connect(containerd.endpoint)
    try:
        yield client
    finally:
        await client.close()


async def test_version_images_and_pull_errors(containerd, cri, tmp_path):
    version = await cri.version()
    assert version["runtime_name"] == "containerd"
    assert version["runtime_api_version"] == "v1"
    assert containerd.version == version

    status = await cri.status()
    conditions = {c["type"]: c["status"] for c in status["status"]["conditions"]}
    assert conditions["RuntimeReady"] is True

    assert await cri.image_status(IMAGE) is None
    with pytest.raises(CriError) as failed:
        await cri.pull_image("127.0.0.1:1/nothing:latest")
    assert failed.value.code == grpc.StatusCode.UNKNOWN
    assert "127.0.0.1:1/nothing:latest" in failed.value.details
    assert "connection refused" in failed.value.details
    assert str(failed.value).startswith("rpc error: code = Unknown desc = failed to pull")

    names = await containerd.import_archive(busybox_archive(tmp_path / "bb.tar", IMAGE, ["sh"]))
    assert names == [IMAGE]
    image = await cri.image_status(IMAGE)
    assert image is not None and IMAGE in image["repo_tags"]
    assert image["size"] > 0
    assert image["id"] in {i["id"] for i in await cri.list_images()}
    fs = await cri.image_fs_info()
    assert fs["image_filesystems"][0]["fs_id"]["mountpoint"].startswith(str(containerd.root))

    await cri.remove_image(IMAGE)
    assert await cri.image_status(IMAGE) is None


async def test_pod_sandbox_and_container(containerd, cri, tmp_path):
    archive = busybox_archive(tmp_path / "bb.tar", IMAGE, ["sleep", "1000000"])
    await containerd.import_archive(archive)
    logs = tmp_path / "logs"
    (logs / "main").mkdir(parents=True)  # the kubelet creates the log dirs, not the runtime
    host_network = {"network": NamespaceMode.NODE, "pid": NamespaceMode.CONTAINER}
    sandbox_config = {
        "metadata": {"name": "busy", "uid": str(uuid.uuid4()), "namespace": "default"},
        "log_directory": str(logs),
        "labels": {"test": "cri"},
        "linux": {"security_context": {"namespace_options": host_network}},
    }
    sandbox_id = await cri.run_pod_sandbox(sandbox_config)
    sandbox = (await cri.pod_sandbox_status(sandbox_id))["status"]
    assert sandbox["state"] == SANDBOX_READY
    assert sandbox["metadata"]["name"] == "busy" and sandbox["labels"]["test"] == "cri"
    assert [s["id"] for s in await cri.list_pod_sandbox({"label_selector": {"test": "cri"}})] == [
        sandbox_id
    ]

    container_id = await cri.create_container(
        sandbox_id,
        {
            "metadata": {"name": "main"},
            "image": {"image": IMAGE},
            "command": ["sh", "-c", "echo hi; sleep 1000"],
            "envs": [{"key": "GREETING", "value": "hello"}],
            "log_path": "main/0.log",
            "linux": {"security_context": {"namespace_options": host_network}},
        },
        sandbox_config,
    )
    await cri.start_container(container_id)
    status = (await cri.container_status(container_id))["status"]
    assert status["state"] == CONTAINER_RUNNING
    assert status["log_path"] == str(logs / "main" / "0.log")
    listed = await cri.list_containers({"pod_sandbox_id": sandbox_id})
    assert [c["id"] for c in listed] == [container_id]

    assert await cri.exec_sync(container_id, ["echo", "x"], 10) == (b"x\n", b"", 0)
    out, _err, code = await cri.exec_sync(container_id, ["sh", "-c", "echo $GREETING; exit 3"], 10)
    assert (out, code) == (b"hello\n", 3)
    assert await _log_line(logs / "main" / "0.log", re.compile(r"^\S+ stdout F hi$"))
    await cri.reopen_container_log(container_id)

    # Streaming calls hand out URLs of containerd's own server on 127.0.0.1.
    exec_url = await cri.exec(
        {"container_id": container_id, "cmd": ["sh"], "stdin": True, "stdout": True}
    )
    attach_url = await cri.attach({"container_id": container_id, "stdout": True})
    forward_url = await cri.port_forward(sandbox_id, [80])
    for url, kind in ((exec_url, "exec"), (attach_url, "attach"), (forward_url, "portforward")):
        assert re.match(rf"^http://127\.0\.0\.1:\d+/{kind}/\S+$", url), url

    await cri.stop_container(container_id, 0)
    status = (await cri.container_status(container_id))["status"]
    assert status["state"] == CONTAINER_EXITED
    assert status["exit_code"] == 128 + signal.SIGKILL
    await cri.remove_container(container_id)
    with pytest.raises(CriError) as gone:
        await cri.container_status(container_id)
    assert gone.value.not_found

    await cri.stop_pod_sandbox(sandbox_id)
    assert (await cri.pod_sandbox_status(sandbox_id))["status"]["state"] == SANDBOX_NOTREADY
    await cri.remove_pod_sandbox(sandbox_id)
    assert await cri.list_pod_sandbox() == []

    pid = containerd.pid
    await containerd.stop()
    assert not containerd.running
    assert not Path(f"/proc/{pid}").exists()


async def _log_line(path: Path, pattern: re.Pattern, timeout: float = 5.0) -> bool:
    """True once a line of the CRI log file matches (the runtime writes asynchronously)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if path.exists() and any(pattern.match(x) for x in path.read_text().splitlines()):
            return True
        await asyncio.sleep(0.1)
    return False


async def _teardown(ctd: Containerd, tmp_path: Path) -> None:
    """Remove every pod this containerd ran, stop it, then anything it left behind."""
    if ctd.running:
        with contextlib.suppress(CriError):
            async with await CriClient.connect(ctd.endpoint, timeout=2) as client:
                for sandbox in await client.list_pod_sandbox():
                    with contextlib.suppress(CriError):
                        await client.stop_pod_sandbox(sandbox["id"])
                        await client.remove_pod_sandbox(sandbox["id"])
    await ctd.stop()
    _kill_own_shims(ctd)
    for prefix in (tmp_path, ctd.state_dir):
        _unmount_under(prefix)
    shutil.rmtree(ctd.state_dir, ignore_errors=True)


def _kill_own_shims(ctd: Containerd) -> None:
    """Shims started by this containerd name its socket on their command line."""
    address = str(ctd.socket).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and address in argv:
                os.kill(int(proc.name), signal.SIGKILL)


def _unmount_under(prefix: Path) -> None:
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    ours = [m for m in mounts if m == str(prefix) or m.startswith(f"{prefix}/")]
    for mount in sorted(ours, key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
