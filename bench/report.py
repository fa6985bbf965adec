"""The "API server" section of BENCHMARKS.md, and splicing it into the file."""

from __future__ import annotations

import datetime
import platform
import re
import subprocess
from pathlib import Path

from bench.loadgen import LoadResult, median_of

HEADING = "## API server"


def machine() -> str:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import os

    return f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, Python {platform.python_version()}"


def commit(repo: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "pyk8s"],
            cwd=repo,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip() + (" (pyk8s/ modified)" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def today() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def verdict(value: float, limit: float, at_least: bool) -> str:
    ok = value >= limit if at_least else value < limit
    if ok:
        return "met"
    short = (limit - value) / limit if at_least else (value - limit) / limit
    return f"**missed** by {100 * short:.0f}%"


def ms(x: float) -> str:
    return f"{x:.1f} ms" if x < 100 else f"{x:.0f} ms"


def load_rows(results: list[LoadResult]) -> list[str]:
    """One row per (generator, concurrency): medians over runs, and the runs' spread."""
    groups: dict[tuple[str, int], list[LoadResult]] = {}
    for r in results:
        groups.setdefault((r.generator, r.concurrency), []).append(r)
    rows = []
    for (gen, conc), runs in sorted(groups.items()):
        m = median_of(runs)
        spread = ", ".join(f"{r.rate:,.0f}" for r in runs)
        rows.append(
            f"| {gen} | {conc} | {m['rate']:,.0f}/s | {ms(m['p50_ms'])} | {ms(m['p99_ms'])} "
            f"| {spread} | {m['errors']} |"
        )
    return rows


def load_table(results: list[LoadResult]) -> str:
    head = [
        "| generator | clients | throughput (median) | p50 | p99 | runs (req/s) | errors |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    return "\n".join(head + load_rows(results)) + "\n"


def best(results: list[LoadResult]) -> tuple[str, dict[str, float]]:
    """The (generator, clients) configuration with the highest median throughput."""
    groups: dict[tuple[str, int], list[LoadResult]] = {}
    for r in results:
        groups.setdefault((r.generator, r.concurrency), []).append(r)
    key = max(groups, key=lambda k: median_of(groups[k])["rate"])
    return f"{key[0]}, {key[1]} clients", median_of(groups[key])


def splice(path: Path, section: str) -> None:
    """Replace the "## API server" section of `path` (up to the next "## "), or append it."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip() + "\n\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section.rstrip() + "\n"
    path.write_text(text)
