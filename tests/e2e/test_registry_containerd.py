"""containerd 1.6 pulls from the local registry through the hosts.toml mirror
config, and from nowhere else.

A throwaway containerd runs with its root under tmp_path and its state (the
socket) under a short /run/pyk8s-t<random> path; the registry serves a real
image (busybox-static) as docker.io/library/tiny:1. Every registry namespace
containerd could ask for, `_default` included, resolves to the registry on
127.0.0.1 only, so a pull that succeeds can only have come from it, and the
registry's request log shows it did.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from registry_helpers import layer_tar, sha, tiny_image, write_oci_archive

from pyk8s.images.registry import (
    DEFAULT_MIRRORED_HOSTS,
    LocalRegistry,
    RegistryThread,
    write_mirror_config,
)

try:
    import grpc
except ImportError:  # the ctr test runs without it; the CRI test skips
    grpc = None

BUSYBOX = Path("/bin/busybox")
TINY = "docker.io/library/tiny:1"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (containerd)"
    for binary in ("containerd", "ctr"):
        if shutil.which(binary) is None:
            return f"{binary} not installed (apt-get install containerd)"
    if not BUSYBOX.is_file():
        return "busybox-static not installed (apt-get install busybox-static)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


@dataclass
class Containerd:
    proc: subprocess.Popen[bytes]
    socket: Path
    log: Path

    def ctr(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = ["ctr", "--address", str(self.socket), "-n", "k8s.io", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _config(root: Path, state: Path, hosts_dir: Path, cni_dir: Path) -> str:
    return f"""version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "{state}/containerd.sock"
[ttrpc]
  address = "{state}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    conf_dir = "{cni_dir}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{hosts_dir}"
"""


def _unmount_under(*dirs: Path) -> None:
    """Unmount whatever is left mounted below `dirs` (deepest first)."""
    prefixes = [str(d) + "/" for d in dirs]
    with open("/proc/self/mounts") as fh:
        points = [line.split()[1] for line in fh]
    for point in sorted(points, key=len, reverse=True):
        if any(point.startswith(p) for p in prefixes):
            subprocess.run(["umount", point], check=False, capture_output=True)


@pytest.fixture
def hosts_dir(tmp_path: Path) -> Path:
    path = tmp_path / "certs.d"
    path.mkdir()
    return path


@pytest.fixture
def containerd(tmp_path: Path, hosts_dir: Path) -> Iterator[Containerd]:
    # A unix socket path is limited to 108 bytes: tmp_path is too long for it.
    state = Path("/run") / f"pyk8s-t{secrets.token_hex(4)}"
    root, cni_dir = tmp_path / "root", tmp_path / "cni"
    cni_dir.mkdir()
    state.mkdir(mode=0o711)
    config = tmp_path / "config.toml"
    config.write_text(_config(root, state, hosts_dir, cni_dir))
    log = tmp_path / "containerd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["containerd", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    daemon = Containerd(proc, state / "containerd.sock", log)
    try:
        _wait_ready(daemon)
        yield daemon
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _unmount_under(tmp_path, state)
        shutil.rmtree(state, ignore_errors=True)


def _wait_ready(daemon: Containerd) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if daemon.proc.poll() is not None:
            pytest.fail(f"containerd exited:\n{daemon.log.read_text()[-3000:]}")
        if daemon.socket.exists() and daemon.ctr("version", timeout=10).returncode == 0:
            return
        time.sleep(0.1)
    pytest.fail(f"containerd did not become ready:\n{daemon.log.read_text()[-3000:]}")


def _serve_tiny(tmp_path: Path, auth: tuple[str, str] | None = None) -> tuple[RegistryThread, str]:
    """The registry serving busybox as docker.io/library/tiny:1; returns it and the layer digest."""
    layer = layer_tar({"bin/busybox": BUSYBOX.read_bytes()}, {"bin/sh": "busybox"})
    archive = tmp_path / "tiny.tar"
    write_oci_archive(archive, {TINY: tiny_image(layer, ["/bin/sh"])})
    return LocalRegistry([archive], auth=auth).run_in_thread(), sha(layer)


def _seen(handle: RegistryThread) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in handle.registry.requests]


def test_ctr_pulls_through_the_mirror_only(
    tmp_path: Path, containerd: Containerd, hosts_dir: Path
) -> None:
    handle, layer_digest = _serve_tiny(tmp_path)
    with handle:
        write_mirror_config(hosts_dir, handle.url, DEFAULT_MIRRORED_HOSTS, catch_all=True)
        pulled = containerd.ctr("images", "pull", "--hosts-dir", str(hosts_dir), TINY)
        assert pulled.returncode == 0, pulled.stderr
        seen = _seen(handle)
        # containerd names the registry it stands in for with ?ns=.
        assert ("HEAD", "/v2/library/tiny/manifests/1?ns=docker.io", 200) in seen
        blob = f"/v2/library/tiny/blobs/{layer_digest}?ns=docker.io"
        assert ("GET", blob, 200) in seen
        listed = containerd.ctr("images", "ls", "-q")
        assert TINY in listed.stdout.split()

        missing = containerd.ctr("images", "pull", "--hosts-dir", str(hosts_dir), TINY[:-1] + "2")
        assert missing.returncode != 0
        assert "not found" in missing.stderr
        assert ("HEAD", "/v2/library/tiny/manifests/2?ns=docker.io", 404) in _seen(handle)


# CRI v1 PullImage, encoded by hand (a few string fields): the daemon's own
# resolver reads config_path, and credentials arrive as the kubelet sends a
# pod's imagePullSecrets.
def _field(number: int, payload: bytes) -> bytes:
    assert len(payload) < 128 * 128
    size = (
        bytes([len(payload)])
        if len(payload) < 128
        else bytes([len(payload) & 0x7F | 0x80, len(payload) >> 7])
    )
    return bytes([number << 3 | 2]) + size + payload


def _cri_pull(
    socket: Path, image: str, user: str = "", password: str = "", server: str = ""
) -> str:
    auth = b""
    if user:
        auth = _field(1, user.encode()) + _field(2, password.encode())
        if server:
            auth += _field(4, server.encode())
    request = _field(1, _field(1, image.encode())) + (_field(2, auth) if auth else b"")
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        pull = channel.unary_unary(
            "/runtime.v1.ImageService/PullImage",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        reply = pull(request, timeout=120)
    assert reply[0] == 0x0A  # field 1, image_ref
    return reply[2 : 2 + reply[1]].decode()


def test_cri_pull_uses_config_path_and_basic_auth(
    tmp_path: Path, containerd: Containerd, hosts_dir: Path
) -> None:
    if grpc is None:
        pytest.skip("grpcio not installed")
    handle, _ = _serve_tiny(tmp_path, auth=("puller", "s3cret"))
    with handle:
        write_mirror_config(hosts_dir, handle.url, DEFAULT_MIRRORED_HOSTS, catch_all=True)
        with pytest.raises(grpc.RpcError) as anonymous:
            _cri_pull(containerd.socket, TINY)
        assert "401" in str(anonymous.value.details())
        # containerd 1.6 hands credentials only to the host their server
        # address names (any host when it is empty): an address naming
        # docker.io is withheld from the mirror, the mirror's own URL is not.
        with pytest.raises(grpc.RpcError) as withheld:
            _cri_pull(containerd.socket, TINY, "puller", "s3cret", "https://index.docker.io/v1/")
        assert "401" in str(withheld.value.details())
        assert _cri_pull(containerd.socket, TINY, "puller", "s3cret").startswith("sha256:")
        assert _cri_pull(containerd.socket, TINY, "puller", "s3cret", handle.url).startswith(
            "sha256:"
        )
        seen = _seen(handle)
        assert ("HEAD", "/v2/library/tiny/manifests/1?ns=docker.io", 401) in seen
        assert ("HEAD", "/v2/library/tiny/manifests/1?ns=docker.io", 200) in seen
        listed = containerd.ctr("images", "ls", "-q")
        assert TINY in listed.stdout.split()
