"""Markdown for the "API server" section from one benchmark run's results."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from bench.report import HEADING, best, load_table, machine, ms, today, verdict

if TYPE_CHECKING:
    from bench.apiserver import Config, Results

METHOD = """\
Method. Every measurement group runs against its own `pyk8s server` child process
(durable: SQLite WAL with fsync before each acknowledged write batch; TLS; bearer
token), started on an ephemeral 127.0.0.1 port in a temporary data dir; the load
generators run on the same {cpus}-core machine, which is shared with other work, so
figures are medians over {runs} runs. Two generators: `wrk` (C, 2 threads, keep-alive
TLS connections, fixed {wrk_s:g} s duration, a Lua script giving each POST a unique
pod name) and a Python one ({procs} processes of asyncio + aiohttp, keep-alive,
fixed request count, connections opened before the clock starts). Each client has one
request in flight. Creates POST the body `kubectl run NAME --image=nginx` sends,
with `?fieldManager=kubectl-run`, into one namespace, on a fresh server per run.
GETs fetch one pod of the {list_pods:,} loaded. LIST latency is one client's
sequential requests, time to the body's last byte, {list_runs} runs after 2 warm-ups.
Watch: {watchers} watchers on one namespace's pods ({procs} processes) while a writer
({wconc} in flight) creates {half:,} pods then merge-patches each; lag is receipt
time minus the time the writer read that write's response (same monotonic clock),
so it can be slightly negative. RSS is VmRSS (VmHWM: peak) of the server process.
"""


def render_section(cfg: Config, res: Results, command: str, commit: str) -> str:
    out = [HEADING, ""]
    out.append(f"Measured {today()} at commit `{commit}` on {machine()}.")
    mode = "with its controller manager" if cfg.controllers else "alone (`--disable-controllers`)"
    out.append(f"Server: `pyk8s server` {mode}, durable, TLS.")
    if res.loadavg:
        out.append(
            "Load average (1 min) when each group began: "
            + ", ".join(f"{k} {v}" for k, v in res.loadavg.items())
            + " (above ~1 means other work competed for the 2 cores)."
        )
    out += ["", "```", command, "```", ""]
    out += _targets(cfg, res)
    out += _details(cfg, res)
    out.append(
        METHOD.format(
            cpus=__import__("os").cpu_count(),
            runs=cfg.runs,
            wrk_s=cfg.wrk_seconds,
            procs=cfg.client_processes,
            list_pods=cfg.list_pods,
            list_runs=cfg.list_runs,
            watchers=cfg.watchers,
            wconc=cfg.watch_concurrency,
            half=cfg.watch_writes // 2,
        )
    )
    if res.profiles:
        out += ["### Where the server spends its time (py-spy, top frames by self time)", ""]
        out += res.profiles
    return "\n".join(out).rstrip() + "\n"


def _targets(cfg: Config, res: Results) -> list[str]:
    rows = [
        "| measurement | result | p50 | p99 | target | verdict |",
        "|---|---:|---:|---:|---|---|",
    ]
    if res.creates:
        where, m = best(res.creates)
        rows.append(
            f"| durable pod creates ({where}) | {m['rate']:,.0f}/s | {ms(m['p50_ms'])} "
            f"| {ms(m['p99_ms'])} | >= 2,000/s | {verdict(m['rate'], 2000, True)} |"
        )
        rows.append(
            f"| p99 of a create at that load | {ms(m['p99_ms'])} | | | < 50 ms "
            f"| {verdict(m['p99_ms'], 50, False)} |"
        )
    if res.gets:
        where, m = best(res.gets)
        rows.append(
            f"| GET one pod ({where}) | {m['rate']:,.0f}/s | {ms(m['p50_ms'])} "
            f"| {ms(m['p99_ms'])} | >= 8,000/s | {verdict(m['rate'], 8000, True)} |"
        )
    for r in res.lists:
        rows.append(
            f"| LIST {cfg.list_pods:,} pods, {r.variant} ({r.items:,} items, "
            f"{r.body_bytes / 1e6:.1f} MB) | {ms(r.p50_ms)} | {ms(r.p50_ms)} | {ms(r.p99_ms)} "
            f"| < 250 ms | p50 {verdict(r.p50_ms, 250, False)}, p99 {verdict(r.p99_ms, 250, False)} |"
        )
    for rate, runs in sorted(res.watches.items()):
        label = "writer unpaced" if rate == 0 else f"writer paced at {rate:g} writes/s"
        rows.append(
            f"| watch events delivered to {cfg.watchers} watchers ({label}) "
            f"| {statistics.median(w.rate for w in runs):,.0f}/s "
            f"| {ms(statistics.median(w.lag_p50_ms for w in runs))} "
            f"| {ms(statistics.median(w.lag_p99_ms for w in runs))} | reported | lag shown |"
        )
    if "idle" in res.memory:
        idle = res.memory["idle"]["VmRSS"]
        rows.append(
            f"| server RSS idle | {idle:.0f} MB | | | < 150 MB | {verdict(idle, 150, False)} |"
        )
    if "loaded" in res.memory:
        m = res.memory["loaded"]
        rows.append(
            f"| server RSS with {cfg.list_pods:,} pods (peak so far) "
            f"| {m['VmRSS']:.0f} MB ({m['VmHWM']:.0f} MB) | | | reported | |"
        )
    return [*rows, ""]


def _details(cfg: Config, res: Results) -> list[str]:
    out = []
    if res.creates:
        out += ["Durable pod creates, each configuration:", "", load_table(res.creates)]
    if res.gets:
        out += ["GET of one pod, each configuration:", "", load_table(res.gets)]
    if res.load:
        r = res.load
        out += [
            f"Loading the {cfg.list_pods:,} pods for LIST (python, 64 clients, one run): "
            f"{r.rate:,.0f}/s, p50 {ms(r.p50_ms)}, p99 {ms(r.p99_ms)}, {r.errors} errors.",
            "",
        ]
    for rate, runs in sorted(res.watches.items()):
        label = "unpaced" if rate == 0 else f"paced at {rate:g} writes/s"
        w = runs[len(runs) // 2]
        out.append(
            f"Watch, writer {label}: delivered/expected per run "
            + ", ".join(f"{x.delivered:,}/{x.expected:,}" for x in runs)
            + f"; writes/s (median) {statistics.median(x.write_rate for x in runs):,.0f}, "
            f"write p50 {ms(w.write_p50_ms)} p99 {ms(w.write_p99_ms)}."
        )
        out.append("")
    if "end" in res.memory:
        m = res.memory["end"]
        out += [
            f"Server RSS after the GET runs: {m['VmRSS']:.0f} MB (peak {m['VmHWM']:.0f} MB).",
            "",
        ]
    return out
