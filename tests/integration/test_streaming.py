"""logs, logs -f, logs --previous, exec and attach, end to end: the real kubectl (and
the official Python client) -> the API server -> the kubelet API (KubeletServer over
HTTPS with client certificates) -> a fake container runtime streaming server
(remotecommand over SPDY, as containerd's)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes.stream import stream as k8s_stream
from streaming_helpers import Node, cri_line, fake_node, make_pod, namespace, running_status

pytestmark = pytest.mark.kubectl


@pytest.fixture(scope="module")
def node(api_server, tmp_path_factory) -> Iterator[Node]:
    with fake_node(api_server, tmp_path_factory.mktemp("pod-logs"), "stream-node") as n:
        yield n


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


def test_logs_follow_ends_when_the_client_leaves(kubectl, ns, node: Node) -> None:
    """The API server and the kubelet stop following once kubectl is gone, though the
    container keeps running (the kubelet stops asking whether it still runs)."""
    node.backend.add_container(ns, "quiet", "c", [cri_line("only line")])
    make_pod(node, ns, "quiet", ["c"])
    checks = []
    find = node.backend.find_container

    def counting(namespace: str, pod: str, container: str, previous: bool):
        if pod == "quiet" and namespace == ns:
            checks.append(time.monotonic())
        return find(namespace, pod, container, previous)

    node.backend.find_container = counting  # type: ignore[method-assign]
    proc = subprocess.Popen(
        [kubectl.binary, "logs", "-f", "-n", ns, "quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=kubectl.env(),
    )
    try:
        read_until(proc, b"only line\n")
        proc.kill()
        proc.communicate()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            before = len(checks)
            time.sleep(1.0)
            if len(checks) == before:
                break
        else:
            raise AssertionError("the kubelet kept following after the client left")
    finally:
        node.backend.find_container = find  # type: ignore[method-assign]
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
    ns = namespace(node, "logs-choice")
    make_pod(node, ns, "two", ["a", "b"])
    for params, message in (
        ({}, "a container name must be specified for pod two, choose one of: [a b]"),
        ({"container": "zzz"}, "container zzz is not valid for pod two"),
    ):
        with pytest.raises(k8s.ApiException) as e:
            node.core.read_namespaced_pod_log("two", ns, **params)
        assert e.value.status == 400 and message in e.value.body


def test_missing_log_file(node: Node) -> None:
    ns = namespace(node, "logs-missing")
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


def test_official_client_exec(node: Node) -> None:
    ns = namespace(node, "py-exec")
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
    ns = namespace(node, "py-exec-stdin")
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
