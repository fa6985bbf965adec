"""The pytest plugin as a user meets it: a separate pytest run on a generated
test directory (command-line options, scopes, the marker, a failing test's
teardown), and the plugin's import being cheap enough to load in every run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

PLUGIN_INSTALLED = any(ep.value == "pyk8s.testing.plugin" for ep in entry_points(group="pytest11"))

USER_TESTS = """
import json, os, threading
from pathlib import Path
import pytest

LOG = Path(os.environ["PYK8S_TEST_LOG"])


def record(name, cluster):
    with LOG.open("a") as f:
        f.write(json.dumps({"test": name, "url": cluster.url, "nodes": cluster.nodes,
                            "data_dir": str(cluster.data_dir)}) + "\\n")


def test_one(k8s_cluster):
    record("one", k8s_cluster)


def test_two(k8s_cluster, kubeconfig):
    assert kubeconfig.exists()
    record("two", k8s_cluster)


@pytest.mark.pyk8s_cluster(workers=3)
def test_own(k8s_cluster):
    record("own", k8s_cluster)


@pytest.mark.pyk8s_cluster()
def test_fails(k8s_cluster):
    record("fails", k8s_cluster)
    raise AssertionError("deliberate")
"""


def run_pytest(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    plugin = [] if PLUGIN_INSTALLED else ["-p", "pyk8s.testing.plugin"]
    env = {**os.environ, "PYK8S_TEST_LOG": str(tmp_path / "log.jsonl")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def test_session_scope_workers_option_and_marker(tmp_path: Path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    proc = run_pytest(tmp_path, "--pyk8s-scope=session", "--pyk8s-workers=2", "test_user.py")
    assert "1 failed, 3 passed" in proc.stdout, proc.stdout + proc.stderr
    seen = {
        r["test"]: r for r in map(json.loads, (tmp_path / "log.jsonl").read_text().split("\n")[:-1])
    }
    # Session scope: one cluster for the unmarked tests, with --pyk8s-workers nodes.
    assert seen["one"]["url"] == seen["two"]["url"]
    assert seen["one"]["nodes"] == ["w1-k8s", "w2-k8s"]
    # The marker gives a cluster of the test's own, made as asked.
    assert seen["own"]["url"] != seen["one"]["url"]
    assert seen["own"]["nodes"] == ["w1-k8s", "w2-k8s", "w3-k8s"]
    # Every cluster, the failing test's included, removed its data dir.
    assert not any(Path(r["data_dir"]).exists() for r in seen.values())


def test_function_scope_is_the_default(tmp_path: Path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    proc = run_pytest(tmp_path, "test_user.py", "-k", "one or two")
    assert "2 passed" in proc.stdout, proc.stdout + proc.stderr
    seen = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert seen[0]["url"] != seen[1]["url"]
    assert seen[0]["nodes"] == ["w1-k8s"]


def test_plugin_import_is_cheap():
    """With the entry point, every pytest run imports the plugin: it must not pull
    in the API server, the HTTP stack or the client libraries."""
    code = (
        "import sys, pyk8s.testing.plugin; "
        "heavy = ['aiohttp', 'pyk8s.controlplane', 'pyk8s.apiserver', 'kubernetes', 'kr8s', "
        "'lightkube', 'cryptography', 'yaml']; "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def session_processes(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:  # fields after the name: state, ppid, pgrp, session
                pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(
    not os.environ.get("PYK8S_TEST_XDIST"), reason="set PYK8S_TEST_XDIST=1 (about 10-20 s)"
)
def test_fifty_clusters_on_two_xdist_workers(tmp_path: Path):
    pytest.importorskip("xdist")
    here = Path(__file__).parent
    plugin = [] if PLUGIN_INSTALLED else ["-p", "pyk8s.testing.plugin"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *plugin,
            "-n",
            "2",
            "--rootdir",
            str(here.parent.parent),
            str(here / "test_many_clusters.py"),
        ],
        cwd=here.parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "50 passed" in out, out
    assert session_processes(proc.pid) == []
