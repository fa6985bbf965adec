"""Cluster-scale benchmarks on simulated nodes; each scenario is a whole run of
real processes on this machine (see bench/cluster_scenarios.py):

    python -m bench.cluster up [--runs 5]          # pyk8s up cold start, 4 nodes Ready
    python -m bench.cluster scale [--runs 1] [--nodes 5000 --pods 10000 --deployments 10]
    python -m bench.cluster rollout [--runs 3] [--nodes 100 --replicas 1000]
    python -m bench.cluster all --quick            # tiny sizes: a smoke run

Prints each run's figures and the medians as JSON lines; `--json FILE` appends
them to FILE (bench/cluster_report.py renders BENCHMARKS.md's section from it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from bench import cluster_scenarios as sc


def medians(runs: list[sc.Figures]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for part in ("phases", "hwm_mib", "cpu_s"):
        keys = {k for r in runs for k in getattr(r, part)}
        out[part] = {
            k: statistics.median(getattr(r, part)[k] for r in runs if k in getattr(r, part))
            for k in sorted(keys)
        }
    return out


def emit(name: str, params: dict[str, Any], runs: list[sc.Figures], out: Path | None) -> None:
    record = {
        "scenario": name,
        "params": params,
        "runs": [r.__dict__ for r in runs],
        "median": medians(runs),
        "command": "python -m bench.cluster " + " ".join(sys.argv[1:]),
    }
    line = json.dumps(record)
    print(line, flush=True)
    if out is not None:
        with out.open("a") as f:
            f.write(line + "\n")


def run_up(args: argparse.Namespace) -> None:
    runs = []
    for i in range(args.runs):
        fig = sc.up_cold_start()
        print(f"# up run {i + 1}: {fig.phases}", file=sys.stderr, flush=True)
        runs.append(fig)
    emit("up", {"workers": 3}, runs, args.json)


def run_scale(args: argparse.Namespace) -> None:
    nodes, pods, deps = (50, 200, 2) if args.quick else (args.nodes, args.pods, args.deployments)
    runs = []
    for i in range(args.runs):
        fig = sc.scale(nodes=nodes, deployments=deps, pods=pods, fsync=not args.no_fsync)
        print(f"# scale run {i + 1}: {fig.__dict__}", file=sys.stderr, flush=True)
        runs.append(fig)
    params = {"nodes": nodes, "pods": pods, "deployments": deps, "fsync": not args.no_fsync}
    emit("scale", params, runs, args.json)


def run_rollout(args: argparse.Namespace) -> None:
    nodes, replicas = (10, 50) if args.quick else (args.nodes, args.replicas)
    runs = []
    for i in range(args.runs):
        fig = sc.rollout(nodes=nodes, replicas=replicas, fsync=not args.no_fsync)
        print(f"# rollout run {i + 1}: {fig.__dict__}", file=sys.stderr, flush=True)
        runs.append(fig)
    params = {"nodes": nodes, "replicas": replicas, "fsync": not args.no_fsync}
    emit("rollout", params, runs, args.json)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench.cluster")
    ap.add_argument("scenario", choices=["up", "scale", "rollout", "all"])
    ap.add_argument("--runs", type=int, default=None, help="runs per scenario")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    ap.add_argument("--nodes", type=int, default=None)
    ap.add_argument("--pods", type=int, default=10000)
    ap.add_argument("--deployments", type=int, default=10)
    ap.add_argument("--replicas", type=int, default=1000)
    ap.add_argument("--no-fsync", action="store_true", help="server without fsync")
    ap.add_argument("--json", type=Path, default=None, help="append results to this file")
    return ap


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    chosen = ["up", "scale", "rollout"] if args.scenario == "all" else [args.scenario]
    for name in chosen:
        default_runs = {"up": 5, "scale": 1, "rollout": 3}[name]
        args_for = argparse.Namespace(**vars(args))
        args_for.runs = args.runs or (1 if args.quick else default_runs)
        if args.nodes is None:
            args_for.nodes = {"up": 4, "scale": 5000, "rollout": 100}[name]
        {"up": run_up, "scale": run_scale, "rollout": run_rollout}[name](args_for)


if __name__ == "__main__":
    main()
