"""`pyk8s up` and `pyk8s agent` as a user runs them: child processes, the real
kubectl, Ctrl-C, and a restart on the same data dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The lead wires `up`/`agent` into `pyk8s`; this runner works either way, with the
# node lifecycle controller registered as the shipped registry will have it.
RUNNER = """
import argparse, sys
from pyk8s.cli import agent, up
from pyk8s.controllers import registry
from pyk8s.controllers.nodelifecycle import NodeLifecycleController
registry.CONTROLLERS.setdefault("nodelifecycle", NodeLifecycleController)
p = argparse.ArgumentParser(); s = p.add_subparsers()
up.add_parser(s); agent.add_parser(s)
a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))
"""


def _start(*args: str, log: Path) -> subprocess.Popen:
    out = log.open("w")
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).parents[2],
    )


def _wait_output(log: Path, text: str, proc: subprocess.Popen, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text()
        if text in content:
            return content
        if proc.poll() is not None:
            raise AssertionError(f"process exited: {content}")
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not printed: {log.read_text()}")


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def _kubectl(kubeconfig: Path, *args: str) -> str:
    res = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


def _rows(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines()[1:]}


def test_up_gives_the_seed_cluster_and_comes_back(tmp_path: Path) -> None:
    data = tmp_path / "cluster"
    log = tmp_path / "up.log"
    proc = _start(
        "up", "--data-dir", str(data), "--port", "0", "--workers", "3", "--no-fsync", log=log
    )
    try:
        out = _wait_output(log, "export KUBECONFIG=", proc)
        assert "pyk8s cluster ready" in out
        kubeconfig = data / "kubeconfig.yaml"
        nodes = _rows(_kubectl(kubeconfig, "get", "nodes"))
        assert sorted(nodes) == ["m-k8s", "w1-k8s", "w2-k8s", "w3-k8s"]
        assert nodes["m-k8s"][1:3] == ["Ready", "control-plane"]
        assert nodes["w1-k8s"][1:3] == ["Ready", "<none>"]
        assert all(row[4] == "v1.32.4+pyk8s" for row in nodes.values())
        taints = _kubectl(
            kubeconfig, "get", "node", "m-k8s", "-o", "jsonpath={.spec.taints[*].key}"
        )
        assert taints == "node-role.kubernetes.io/control-plane"
        token = out.split("--token ", 1)[1].split()[0]
        server = out.split("--server ", 1)[1].split()[0]
    finally:
        assert _stop(proc) == 0
    # An agent joins with the printed token (the CA comes from the data dir).
    proc = _start(
        "up", "--data-dir", str(data), "--port", "0", "--workers", "3", "--no-fsync", log=log
    )
    try:
        out = _wait_output(log, "export KUBECONFIG=", proc)
        assert "pyk8s cluster ready" in out
        server = out.split("--server ", 1)[1].split()[0]
        nodes = _rows(_kubectl(data / "kubeconfig.yaml", "get", "nodes"))
        assert sorted(nodes) == ["m-k8s", "w1-k8s", "w2-k8s", "w3-k8s"]  # the same cluster
        agent_log = tmp_path / "agent.log"
        agent = _start(
            "agent",
            "--server",
            server,
            "--token",
            token,
            "--ca-file",
            str(data / "tls" / "ca.crt"),
            "--node-name",
            "w4-k8s",
            log=agent_log,
        )
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                nodes = _rows(_kubectl(data / "kubeconfig.yaml", "get", "nodes"))
                if nodes.get("w4-k8s", ["", ""])[1] == "Ready":
                    break
                time.sleep(0.2)
            assert nodes["w4-k8s"][1] == "Ready"
        finally:
            _stop(agent)
        wrong = subprocess.run(
            [
                sys.executable,
                "-c",
                RUNNER,
                "agent",
                "--server",
                server,
                "--token",
                "K10" + "0" * 64 + "::server:x",
                "--ca-file",
                str(data / "tls" / "ca.crt"),
                "--node-name",
                "evil",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=Path(__file__).parents[2],
        )
        assert wrong.returncode == 1 and "does not match" in wrong.stdout
    finally:
        assert _stop(proc) == 0


@pytest.fixture(autouse=True)
def _needs_kubectl() -> None:
    if subprocess.run(["which", "kubectl"], capture_output=True).returncode != 0:
        pytest.skip("kubectl not installed")
