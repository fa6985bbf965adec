"""Smoke test of bench/: the helpers measure a real server for a second and report
sane counts. No assertion is about time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import render, report, wrk
from bench.apiserver import QUICK, Results
from bench.listing import run_list
from bench.loadgen import LoadResult, Target, create_namespace, percentile, run_load
from bench.server import BenchServer
from bench.watchfan import run_watch_fanout


def test_percentile_is_nearest_rank():
    values = [float(x) for x in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


def test_verdict_says_by_how_much():
    assert report.verdict(2500, 2000, at_least=True) == "met"
    assert report.verdict(1500, 2000, at_least=True) == "**missed** by 25%"
    assert report.verdict(75, 50, at_least=False) == "**missed** by 50%"


def test_splice_replaces_only_its_section(tmp_path: Path):
    md = tmp_path / "B.md"
    md.write_text("# Benchmarks\n\n## Store\nkeep me\n\n## API server\nold\n\n## Later\nkeep too\n")
    report.splice(md, "## API server\nnew figures\n")
    text = md.read_text()
    assert "new figures" in text and "old" not in text
    assert "keep me" in text and "keep too" in text
    report.splice(tmp_path / "fresh.md", "## API server\nx\n")
    assert (tmp_path / "fresh.md").read_text() == "# Benchmarks\n\n## API server\nx\n"


def test_render_marks_missed_targets():
    res = Results(memory={"idle": {"VmRSS": 60.0, "VmHWM": 60.0}})
    res.creates = [LoadResult("wrk", "create", 64, 15000, 0, 10.0, 20.0, 80.0)]
    text = render.render_section(QUICK, res, "python bench/apiserver.py", "abc1234")
    assert text.startswith("## API server\n")
    assert "1,500/s" in text and "**missed** by 25%" in text  # 1,500/s against 2,000/s
    assert "`abc1234`" in text and "| server RSS idle | 60 MB |" in text


@pytest.fixture(scope="module")
def server():
    srv = BenchServer().start()
    try:
        yield srv
    finally:
        pid = srv.pid
        srv.stop()
        assert not os.path.exists(f"/proc/{pid}") or _is_zombie_free(pid)


def _is_zombie_free(pid: int) -> bool:
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


def test_load_list_and_memory_against_a_real_server(server: BenchServer):
    t = Target(server.url, server.token, server.ca_file)
    create_namespace(t, "smoke")
    created = run_load(t, "create", 30, 4, processes=2, namespace="smoke", prefix="s")
    assert (created.requests, created.errors) == (30, 0)
    assert 0 < created.p50_ms <= created.p99_ms
    got = run_load(t, "get", 20, 2, processes=1, namespace="smoke", get_name="s-0-0")
    assert (got.requests, got.errors) == (20, 0)
    missing = run_load(t, "get", 3, 1, processes=1, namespace="smoke", get_name="nope")
    assert missing.errors == 3 and missing.first_error.startswith("404")
    for variant in ("json", "table"):
        assert run_list(t, "smoke", variant, runs=2).items == 30
    assert run_list(t, "smoke", "table-limit500", runs=1).items == 30
    assert server.memory()["VmRSS"] > 10


@pytest.mark.skipif(not wrk.available(), reason="wrk not installed")
def test_wrk_creates_unique_pods(server: BenchServer):
    t = Target(server.url, server.token, server.ca_file)
    create_namespace(t, "smoke-wrk")
    r = wrk.run_wrk(t, "create", 1, 4, namespace="smoke-wrk", prefix="w")
    assert r.requests > 0 and r.errors == 0  # a repeated name would be a 409
    # wrk stops the clock with up to one request per connection still in flight.
    assert r.requests <= run_list(t, "smoke-wrk", "json", runs=1).items <= r.requests + 4


def test_watch_fanout_delivers_every_event_to_every_watcher(server: BenchServer):
    t = Target(server.url, server.token, server.ca_file)
    w = run_watch_fanout(t, watchers=3, writes=6, writer_concurrency=2, processes=1, timeout=20)
    assert w.expected == 18 and w.delivered == 18
    assert w.lag_p50_ms <= w.lag_p99_ms
