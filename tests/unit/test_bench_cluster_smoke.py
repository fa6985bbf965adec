"""The cluster benchmark runs end to end at tiny sizes (never asserts a time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.cluster_report import render

REPO = Path(__file__).resolve().parents[2]


def test_rollout_quick_run_reports_every_phase(tmp_path: Path) -> None:
    out = tmp_path / "cluster.jsonl"
    subprocess.run(
        [sys.executable, "-m", "bench.cluster", "rollout", "--quick", "--no-fsync"]
        + ["--json", str(out)],
        cwd=REPO,
        check=True,
        timeout=120,
        capture_output=True,
    )
    record = json.loads(out.read_text().splitlines()[0])
    assert record["scenario"] == "rollout"
    assert record["params"] == {"nodes": 10, "replicas": 50, "fsync": False}
    phases = record["median"]["phases"]
    assert set(phases) == {"nodes_ready", "all_running", "rollout", "old_pods_gone"}
    assert phases["old_pods_gone"] >= phases["rollout"] > 0
    assert record["median"]["hwm_mib"]["server"] > 0
    table = render([record])
    assert "50 replicas on 10 nodes" in table and "rolling update" in table
