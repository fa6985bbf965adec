#!/usr/bin/env python
"""API server benchmark: durable creates, GETs, LISTs of 10,000 pods, watch fan-out
and memory, over TLS on loopback, against `pyk8s server` child processes.

    python bench/apiserver.py                        # full run, prints the section
    python bench/apiserver.py --out BENCHMARKS.md    # ... and splices it into the file
    python bench/apiserver.py --quick                # seconds-long smoke run
    python bench/apiserver.py --profile DIR          # also py-spy the create and GET loads

Each measurement group gets a fresh durable server (fsync on) in a temporary data dir,
stopped by pid at the end, even on error.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import profiling, report, wrk  # noqa: E402
from bench.listing import VARIANTS, ListResult, run_list  # noqa: E402
from bench.loadgen import LoadResult, Target, create_namespace, run_load  # noqa: E402
from bench.render import render_section  # noqa: E402
from bench.server import REPO, BenchServer  # noqa: E402
from bench.watchfan import WatchResult, run_watch_fanout  # noqa: E402

LIST_NS = "bench-list"
CREATE_NS = "bench-create"


@dataclass
class Config:
    runs: int = 3
    clients: tuple[int, ...] = (32, 64)
    generators: tuple[str, ...] = ("wrk", "python")
    client_processes: int = 2
    creates: int = 20_000  # per python run
    gets: int = 30_000  # per python run
    wrk_seconds: float = 10.0
    list_pods: int = 10_000
    list_runs: int = 20
    watchers: int = 100
    watch_writes: int = 2_000
    watch_concurrency: int = 8
    watch_rates: tuple[float, ...] = (0.0, 100.0)  # 0: as fast as the writer can
    profile_dir: Path | None = None
    profile_seconds: float = 10.0
    controllers: bool = False


QUICK = Config(
    runs=1,
    clients=(8,),
    creates=300,
    gets=500,
    wrk_seconds=1.0,
    list_pods=200,
    list_runs=3,
    watchers=4,
    watch_writes=40,
    watch_rates=(0.0,),
    profile_seconds=1.0,
)


@dataclass
class Results:
    memory: dict[str, dict[str, float]] = field(default_factory=dict)
    load: LoadResult | None = None
    lists: list[ListResult] = field(default_factory=list)
    gets: list[LoadResult] = field(default_factory=list)
    creates: list[LoadResult] = field(default_factory=list)
    watches: dict[float, list[WatchResult]] = field(default_factory=dict)
    profiles: list[str] = field(default_factory=list)
    loadavg: dict[str, str] = field(default_factory=dict)

    def note_load(self, group: str) -> None:
        """The 1-minute load average now: the machine is shared, so say how busy it was."""
        self.loadavg[group] = Path("/proc/loadavg").read_text().split()[0]


def target_of(server: BenchServer) -> Target:
    return Target(server.url, server.token, server.ca_file)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_generator(gen: str, cfg: Config, kind: str, clients: int, **kw) -> LoadResult:
    if gen == "wrk":
        return wrk.run_wrk(kw.pop("target"), kind, cfg.wrk_seconds, clients, **kw)
    total = cfg.creates if kind == "create" else cfg.gets
    return run_load(kw.pop("target"), kind, total, clients, processes=cfg.client_processes, **kw)


def measure_reads(cfg: Config, res: Results) -> None:
    """Memory idle and with the pods loaded, LISTs, GETs: one server."""
    with BenchServer(controllers=cfg.controllers) as server:
        server.settle()
        res.memory["idle"] = server.memory()
        t = target_of(server)
        create_namespace(t, LIST_NS)
        log(f"loading {cfg.list_pods} pods")
        res.load = run_load(
            t, "create", cfg.list_pods, 64, processes=cfg.client_processes,
            namespace=LIST_NS, prefix="load",
        )  # fmt: skip
        server.settle()
        res.memory["loaded"] = server.memory()
        for variant in VARIANTS:
            res.lists.append(run_list(t, LIST_NS, variant, cfg.list_runs))
            log(f"LIST {variant}: {res.lists[-1]}")
        for gen in cfg.generators:
            for clients in cfg.clients:
                for _ in range(cfg.runs):
                    r = run_generator(gen, cfg, "get", clients, target=t, namespace=LIST_NS,
                                      get_name="load-0-0")  # fmt: skip
                    res.gets.append(r)
                    log(
                        f"GET {gen} c{clients}: {r.rate:,.0f}/s p50 {r.p50_ms:.1f} p99 {r.p99_ms:.1f}"
                    )
        if cfg.profile_dir:
            res.profiles.append(profile(cfg, server, "GET load (wrk, 64 clients)", "get",
                                        namespace=LIST_NS, get_name="load-0-0"))  # fmt: skip
        res.memory["end"] = server.memory()


def measure_creates(cfg: Config, res: Results) -> None:
    """Durable creates into one namespace; a fresh server per run."""
    for gen in cfg.generators:
        for clients in cfg.clients:
            for run in range(cfg.runs):
                with BenchServer(controllers=cfg.controllers) as server:
                    t = target_of(server)
                    create_namespace(t, CREATE_NS)
                    r = run_generator(gen, cfg, "create", clients, target=t, namespace=CREATE_NS,
                                      prefix=f"r{run}")  # fmt: skip
                res.creates.append(r)
                log(f"create {gen} c{clients}: {r.rate:,.0f}/s p50 {r.p50_ms:.1f} "
                    f"p99 {r.p99_ms:.1f} errors {r.errors} {r.first_error}")  # fmt: skip
    if cfg.profile_dir:
        with BenchServer(controllers=cfg.controllers) as server:
            create_namespace(target_of(server), CREATE_NS)
            res.profiles.append(profile(cfg, server, "create load (wrk, 64 clients)", "create",
                                        namespace=CREATE_NS, prefix="prof"))  # fmt: skip


def measure_watch(cfg: Config, res: Results) -> None:
    """Watch fan-out; a fresh server per run."""
    for rate in cfg.watch_rates:
        for _ in range(cfg.runs):
            with BenchServer(controllers=cfg.controllers) as server:
                w = run_watch_fanout(
                    target_of(server), watchers=cfg.watchers, writes=cfg.watch_writes,
                    writer_concurrency=cfg.watch_concurrency, processes=cfg.client_processes,
                    rate=rate,
                )  # fmt: skip
            res.watches.setdefault(rate, []).append(w)
            log(f"watch rate={rate}: {w}")
    if cfg.profile_dir:
        res.profiles.append(profile_watch(cfg))


def profile_watch(cfg: Config) -> str:
    """py-spy over the first seconds of one more unpaced fan-out run."""
    assert cfg.profile_dir is not None
    raw = cfg.profile_dir / "watch.txt"
    title = f"watch fan-out ({cfg.watchers} watchers, writer unpaced)"
    with BenchServer(controllers=cfg.controllers) as server:
        spy = profiling.start_record(server.pid, raw, cfg.profile_seconds)
        run_watch_fanout(
            target_of(server), watchers=cfg.watchers, writes=cfg.watch_writes,
            writer_concurrency=cfg.watch_concurrency, processes=cfg.client_processes,
        )  # fmt: skip
        _, err = spy.communicate(timeout=60)
    if not raw.exists():
        return f"#### {title}\n\npy-spy failed: {err.decode(errors='replace')[-300:]}\n"
    return _format_profile(title, raw, cfg)


def _format_profile(title: str, raw: Path, cfg: Config) -> str:
    try:
        return profiling.format_profile(title, raw, cfg.profile_seconds)
    except Exception as e:  # noqa: BLE001 - a profile must not lose the measurements
        return f"#### {title}\n\ncould not read the py-spy output {raw}: {e!r}\n"


def profile(cfg: Config, server: BenchServer, title: str, kind: str, **kw) -> str:
    """A py-spy record of the server during one more wrk run (not counted above)."""
    assert cfg.profile_dir is not None
    cfg.profile_dir.mkdir(parents=True, exist_ok=True)
    raw = cfg.profile_dir / f"{kind}.txt"
    spy = profiling.start_record(server.pid, raw, cfg.profile_seconds)
    wrk.run_wrk(target_of(server), kind, cfg.profile_seconds + 1, 64, **kw)
    _, err = spy.communicate(timeout=60)
    if not raw.exists():
        return f"#### {title}\n\npy-spy failed: {err.decode(errors='replace')[-300:]}\n"
    return _format_profile(title, raw, cfg)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny counts: a smoke run")
    p.add_argument("--out", type=Path, help="splice the section into this markdown file")
    p.add_argument("--runs", type=int, help="repetitions of each measurement")
    p.add_argument("--profile", type=Path, metavar="DIR", help="py-spy raw profiles here")
    p.add_argument("--only", choices=["reads", "creates", "watch"], action="append")
    p.add_argument(
        "--with-controllers",
        action="store_true",
        help="run the controller manager in the server too (default: the API server alone)",
    )
    p.add_argument("--python-only", action="store_true", help="skip wrk even if installed")
    args = p.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    gens = ("python",) if args.python_only or not wrk.available() else cfg.generators
    cfg = replace(
        cfg,
        generators=gens,
        runs=args.runs or cfg.runs,
        profile_dir=args.profile,
        controllers=args.with_controllers,
    )
    if cfg.profile_dir and not (profiling.available() and wrk.available()):
        log("--profile needs py-spy and wrk; skipping profiles")
        cfg = replace(cfg, profile_dir=None)
    res = Results()
    only = set(args.only or ["reads", "creates", "watch"])
    if "reads" in only:
        res.note_load("reads")
        measure_reads(cfg, res)
    if "creates" in only:
        res.note_load("creates")
        measure_creates(cfg, res)
    if "watch" in only:
        res.note_load("watch")
        measure_watch(cfg, res)
    command = "python bench/apiserver.py " + " ".join(argv if argv is not None else sys.argv[1:])
    section = render(cfg, res, command.strip())
    if args.out:
        report.splice(args.out, section)
        log(f"wrote the API server section of {args.out}")
    print(section)
    return 0


def render(cfg: Config, res: Results, command: str) -> str:
    return render_section(cfg, res, command, report.commit(REPO))


if __name__ == "__main__":
    sys.exit(main())
