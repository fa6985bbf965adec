"""Locally built images, for real: imported into a throwaway containerd, and run
without containerd (the pause binary; the nginx rootfs in a chroot).

Needs root, containerd/ctr, gcc, busybox-static and nginx; each test skips with
the reason when something it needs is missing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyk8s.cli import images as images_cli
from pyk8s.cli.main import main
from pyk8s.images.cluster import write_node_socket_file
from pyk8s.images.oci import ANNOTATION_IMAGE_NAME
from pyk8s.images.pause import PAUSE_IMAGE
from pyk8s.images.samples import sample_refs

CONTAINERD_CONFIG = """version = 2
root = {root}
state = {state}
# Importing images needs no CRI plugin (nor its CNI set-up).
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = {sock}
[ttrpc]
  address = {ttrpc}
[plugins."io.containerd.internal.v1.opt"]
  path = {opt}
"""


def need_root(*programs: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


def wait_until(check: Callable[[], object], timeout: float = 30.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


# -- a throwaway containerd ----------------------------------------------------


@pytest.fixture
def containerd_socket(tmp_path: Path) -> Iterator[str]:
    """A containerd of the test's own: root under tmp_path, state and socket under
    a short /run/pyk8s-test-<random> (socket paths must stay under 108 bytes)."""
    need_root("containerd", "ctr")
    run_dir = Path(f"/run/pyk8s-test-{secrets.token_hex(4)}")
    run_dir.mkdir(mode=0o700)
    sock = run_dir / "c.sock"
    config = tmp_path / "containerd.toml"
    paths = {
        "root": tmp_path / "root",
        "state": run_dir / "state",
        "sock": sock,
        "ttrpc": run_dir / "c.ttrpc",
        "opt": tmp_path / "opt",
    }
    config.write_text(CONTAINERD_CONFIG.format(**{k: json.dumps(str(v)) for k, v in paths.items()}))
    log = tmp_path / "containerd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["containerd", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: _serving(proc, sock, log), what="containerd to serve")
        yield str(sock)
    finally:
        _stop(proc)
        _unmount_under(tmp_path, run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)


def _serving(proc: subprocess.Popen, sock: Path, log: Path) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"containerd exited: {log.read_text()[-2000:]}")
    if not sock.exists():
        return False
    probe = subprocess.run(["ctr", "--address", str(sock), "version"], capture_output=True)
    return probe.returncode == 0


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _unmount_under(*roots: Path) -> None:
    """Unmount whatever containerd left mounted below `roots`, deepest first."""
    prefixes = tuple(str(r) + "/" for r in roots)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefixes):
            points.append(point)
    for point in sorted(points, reverse=True):
        subprocess.run(["umount", "-l", point], check=False)


def ctr_refs(sock: str) -> set[str]:
    out = subprocess.run(
        ["ctr", "--address", sock, "-n", "k8s.io", "images", "ls", "-q"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_pause_and_samples_import_into_containerd(
    containerd_socket: str,
    pause_archive: Path,
    samples_archive: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ctr = ["ctr", "--address", containerd_socket, "-n", "k8s.io", "images", "import"]
    subprocess.run([*ctr, str(pause_archive)], check=True, capture_output=True)
    assert ctr_refs(containerd_socket) == {PAUSE_IMAGE}

    # The samples go through `pyk8s images import`, streamed to ctr's stdin.
    data_dir = tmp_path / "cluster"
    write_node_socket_file(data_dir, "m-k8s", containerd_socket)
    monkeypatch.setattr(images_cli, "PROGRESS_THRESHOLD", 0)
    assert main(["images", "import", "--data-dir", str(data_dir), str(samples_archive)]) == 0
    out = capsys.readouterr().out
    assert 'into node "m-k8s"' in out and "(100%)" in out
    assert ctr_refs(containerd_socket) == {PAUSE_IMAGE, *sample_refs()}
    assert "docker.io/library/nginx:1.17.23" not in ctr_refs(containerd_socket)


# -- images run without containerd ---------------------------------------------


def image_layers(archive: Path, ref: str) -> list[bytes]:
    """The layer tars of `ref` in an OCI archive, bottom first."""
    with tarfile.open(archive) as tar:

        def blob(digest: str) -> bytes:
            return tar.extractfile("blobs/sha256/" + digest.split(":")[1]).read()

        index = json.loads(tar.extractfile("index.json").read())
        [desc] = [m for m in index["manifests"] if m["annotations"][ANNOTATION_IMAGE_NAME] == ref]
        manifest = json.loads(blob(desc["digest"]))
        return [blob(layer["digest"]) for layer in manifest["layers"]]


def extract_rootfs(archive: Path, ref: str, dest: Path) -> Path:
    """Unpack an image's layers in order into dest (these images have no whiteouts)."""
    dest.mkdir()
    for i, layer in enumerate(image_layers(archive, ref)):
        tar_file = dest.parent / f"{dest.name}-layer{i}.tar"
        tar_file.write_bytes(layer)
        subprocess.run(["tar", "-xpf", str(tar_file), "-C", str(dest)], check=True)
    return dest


@pytest.fixture
def pause_binary(pause_archive: Path, tmp_path: Path) -> Path:
    root = extract_rootfs(pause_archive, PAUSE_IMAGE, tmp_path / "pause-root")
    return root / "pause"


def test_pause_ignores_stray_signals_and_exits_0_on_sigterm_and_sigint(pause_binary: Path) -> None:
    version = subprocess.run([str(pause_binary), "-v"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("pause 3.10")
    for stop in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen([str(pause_binary)], stderr=subprocess.PIPE)
        try:
            time.sleep(0.2)  # let it install its handlers and mask
            for stray in (signal.SIGHUP, signal.SIGUSR1, signal.SIGALRM):
                proc.send_signal(stray)
            time.sleep(0.3)
            assert proc.poll() is None, f"pause died of a stray signal ({proc.returncode})"
            proc.send_signal(stop)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = next(line.split()[1] for line in text.splitlines() if line.startswith("PPid:"))
        if int(ppid) == pid:
            found.append(int(status.parent.name))
    return found


def test_pause_as_pid_1_reaps_orphans(pause_binary: Path) -> None:
    need_root("unshare", "nsenter")
    proc = subprocess.Popen(["unshare", "--pid", "--fork", str(pause_binary)])
    pause_pid = 0
    try:
        pause_pid = int(wait_until(lambda: next(iter(_children(proc.pid)), 0), what="pause"))
        # An orphan inside the pod's PID namespace is re-parented to pause...
        subprocess.run(
            ["nsenter", "-t", str(pause_pid), "-p", "--", "sh", "-c", "sleep 1 & exit 0"],
            check=True,
        )
        orphan = wait_until(lambda: _children(pause_pid), what="the orphan")[0]
        # ...and once it exits, pause reaps it: no zombie is left behind.
        wait_until(lambda: not Path(f"/proc/{orphan}").exists(), timeout=10, what="reaping")
        os.kill(pause_pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            if pause_pid:
                os.kill(pause_pid, signal.SIGKILL)
            proc.kill()
        proc.wait()


CHROOT_SCRIPT = r"""
set -e
R="$1"
mkdir -p "$R/dev" "$R/proc"
mount --rbind /dev "$R/dev"
mount --rbind /proc "$R/proc"
chroot "$R" /bin/hostname pod-under-test
chroot "$R" /sbin/ip link set lo up
chroot "$R" /usr/sbin/nginx -t
chroot "$R" /bin/sh -c 'echo sh-ok'
chroot "$R" /bin/bash -c 'echo bash-ok'
chroot "$R" /usr/sbin/nginx -g 'daemon off;' &
pid=$!
i=0
until chroot "$R" /usr/bin/wget -q -S -O /tmp/page http://127.0.0.1/ 2>"$R/tmp/headers"; do
    i=$((i + 1))
    if [ $i -gt 200 ]; then kill $pid; exit 1; fi
    sleep 0.1
done
kill -QUIT $pid
wait $pid || true
echo '--- headers'
cat "$R/tmp/headers"
echo '--- page'
cat "$R/tmp/page"
"""


def run_in_chroot(root: Path) -> str:
    """CHROOT_SCRIPT in private mount, network and UTS namespaces (mounts vanish
    with them); the whole process group is killed if it hangs."""
    need_root("unshare", "chroot", "mount")
    proc = subprocess.Popen(
        ["unshare", "--mount", "--net", "--uts", "sh", "-c", CHROOT_SCRIPT, "sh", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"chroot run hung:\n{out}") from None
    assert proc.returncode == 0, out
    return out


def test_nginx_rootfs_is_complete_and_names_its_tag(samples_archive: Path, tmp_path: Path) -> None:
    ref = "docker.io/library/nginx:1.16.0"
    out = run_in_chroot(extract_rootfs(samples_archive, ref, tmp_path / "nginx"))
    assert "nginx.conf syntax is ok" in out and "test is successful" in out
    assert "sh-ok" in out and "bash-ok" in out
    headers, _, page = out.partition("--- page")
    assert "X-Image-Version: 1.16.0" in headers
    assert ref in page and "Welcome to nginx!" in page


def test_echo_hname_answers_the_hostname(samples_archive: Path, tmp_path: Path) -> None:
    ref = "docker.io/sysnet4admin/echo-hname:latest"
    out = run_in_chroot(extract_rootfs(samples_archive, ref, tmp_path / "echo"))
    assert out.partition("--- page")[2].strip() == "pod-under-test"
