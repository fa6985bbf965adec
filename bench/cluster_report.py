"""Figures for BENCHMARKS.md's "Cluster (simulated nodes)" section, from the JSON
lines `python -m bench.cluster ... --json FILE` appends:

    python -m bench.cluster_report FILE      # prints the tables (markdown)

The section's prose (analysis, hot spots) is written by hand around them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _s(x: float) -> str:
    return f"{x:.2f} s" if x < 10 else f"{x:.0f} s"


def up_table(rec: dict[str, Any]) -> list[str]:
    runs = [r["phases"]["ready"] for r in rec["runs"]]
    med = rec["median"]["phases"]
    return [
        "| runs | median to 4 nodes Ready | min | max | `up` says | Ctrl-C to exit |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {len(runs)} | {_s(med['ready'])} | {_s(min(runs))} | {_s(max(runs))} "
        f"| {med['reported']:.1f} s | {_s(med['stop'])} |",
    ]


def scale_rows(rec: dict[str, Any]) -> list[str]:
    p, med = rec["params"], rec["median"]
    ph, hwm, cpu = med["phases"], med["hwm_mib"], med["cpu_s"]
    return [
        f"| {p['nodes']:,} nodes Ready | {_s(ph['nodes_ready'])} | "
        f"{hwm.get('server_after_nodes', 0):.0f} MiB | {hwm.get('pool_after_nodes', 0):.0f} MiB | "
        f"{cpu.get('server_after_nodes', 0):.0f} s / {cpu.get('pool_after_nodes', 0):.0f} s |",
        f"| then {p['pods']:,} pods Running ({p['deployments']} Deployments) | "
        f"{_s(ph['pods_running'])} | {hwm['server']:.0f} MiB | {hwm['pool']:.0f} MiB | "
        f"{cpu['server']:.0f} s / {cpu['pool']:.0f} s |",
    ]


def rollout_rows(rec: dict[str, Any]) -> list[str]:
    p, ph = rec["params"], rec["median"]["phases"]
    n = len(rec["runs"])
    return [
        f"| {p['replicas']:,} replicas on {p['nodes']} nodes: all Running | {_s(ph['all_running'])} | {n} |",
        f"| rolling update to a new image: rollout complete, all new pods Running | {_s(ph['rollout'])} | {n} |",
        f"| ... and every old pod deleted | {_s(ph['old_pods_gone'])} | {n} |",
    ]


def render(records: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for rec in records:
        out.append(f"`{rec['command']}`")
        out.append("")
        if rec["scenario"] == "up":
            out += up_table(rec)
        elif rec["scenario"] == "scale":
            out += [
                "| phase | time | server VmHWM | pool VmHWM | CPU server / pool |",
                "|---|---:|---:|---:|---:|",
            ]
            out += scale_rows(rec)
        else:
            out += ["| phase | median | runs |", "|---|---:|---:|"]
            out += rollout_rows(rec)
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    lines = Path(sys.argv[1]).read_text().splitlines()
    print(render([json.loads(line) for line in lines if line.strip()]))
