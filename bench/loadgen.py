"""A Python load generator: several processes, each an asyncio loop with a pool of
keep-alive aiohttp connections, each connection sending one request at a time.

Every process warms its connections up (TLS handshake included) before a barrier, so
the measured span is requests only. Clocks are `time.monotonic`, which Linux shares
across processes, so the span is max(end) - min(start) over the processes.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import multiprocessing as mp
import ssl
import statistics
import time
from array import array
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
import orjson

Kind = Literal["create", "get"]


@dataclass(frozen=True)
class Target:
    url: str
    token: str
    ca_file: str

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def headers(self, content_type: bool = False) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if content_type:
            h["Content-Type"] = "application/json"
        return h


def pod_body(name: str) -> bytes:
    """What `kubectl run NAME --image=nginx` sends."""
    return orjson.dumps(
        {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": name, "creationTimestamp": None, "labels": {"run": name}},
            "spec": {
                "containers": [{"name": name, "image": "nginx", "resources": {}}],
                "restartPolicy": "Always",
                "dnsPolicy": "ClusterFirst",
            },
            "status": {},
        }
    )


def pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


def create_namespace(target: Target, name: str) -> None:
    """Create namespace `name` (already existing is fine)."""
    asyncio.run(create_namespace_async(target, name))


async def create_namespace_async(target: Target, name: str) -> None:
    body = orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    connector = aiohttp.TCPConnector(ssl=target.ssl_context())
    async with aiohttp.ClientSession(connector=connector) as s:
        url = target.url + "/api/v1/namespaces"
        async with s.post(url, data=body, headers=target.headers(True)) as r:
            if r.status not in (201, 409):
                raise RuntimeError(f"creating namespace {name}: {r.status} {await r.text()}")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class LoadResult:
    generator: str
    kind: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    first_error: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def median_of(results: list[LoadResult]) -> dict[str, float]:
    """Medians over repeated runs of throughput, p50 and p99."""
    return {
        "rate": statistics.median(r.rate for r in results),
        "p50_ms": statistics.median(r.p50_ms for r in results),
        "p99_ms": statistics.median(r.p99_ms for r in results),
        "errors": sum(r.errors for r in results),
    }


def run_load(
    target: Target,
    kind: Kind,
    total: int,
    concurrency: int,
    *,
    processes: int = 2,
    namespace: str = "default",
    get_name: str = "",
    prefix: str = "py",
) -> LoadResult:
    """`total` creates of fresh pods (named PREFIX-<proc>-<i>) or GETs of `get_name`,
    from `concurrency` connections spread over `processes` processes."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes)
    pipes, procs = [], []
    for p in range(processes):
        count = total // processes + (1 if p < total % processes else 0)
        conns = concurrency // processes + (1 if p < concurrency % processes else 0)
        recv, send = ctx.Pipe(duplex=False)
        job = _Job(target, kind, count, conns, namespace, get_name, f"{prefix}-{p}")
        proc = ctx.Process(target=_worker, args=(job, barrier, send), daemon=True)
        proc.start()
        send.close()
        pipes.append(recv)
        procs.append(proc)
    outcomes = [pipe.recv() for pipe in pipes]
    for proc in procs:
        proc.join(30)
    latencies = array("d")
    for o in outcomes:
        latencies.frombytes(o["latencies"])
    lat_ms = [x * 1000 for x in latencies]
    return LoadResult(
        generator="python",
        kind=kind,
        concurrency=concurrency,
        requests=sum(o["ok"] for o in outcomes),
        errors=sum(o["errors"] for o in outcomes),
        seconds=max(o["end"] for o in outcomes) - min(o["start"] for o in outcomes),
        p50_ms=percentile(lat_ms, 50),
        p99_ms=percentile(lat_ms, 99),
        first_error=next((o["first_error"] for o in outcomes if o["first_error"]), ""),
    )


@dataclass(frozen=True)
class _Job:
    target: Target
    kind: Kind
    count: int
    connections: int
    namespace: str
    get_name: str
    prefix: str


def _worker(job: _Job, barrier, pipe) -> None:
    try:
        pipe.send(asyncio.run(_run_job(job, barrier)))
    finally:
        pipe.close()


async def _run_job(job: _Job, barrier) -> dict:
    t = job.target
    connector = aiohttp.TCPConnector(limit=job.connections, ssl=t.ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        # Open every connection before the clock starts.
        await asyncio.gather(
            *(
                _fetch(session, "GET", t.url + "/version", t.headers())
                for _ in range(job.connections)
            )
        )
        await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
        state = _State(next_index=itertools.count())
        start = time.monotonic()
        await asyncio.gather(*(_client(session, job, state) for _ in range(job.connections)))
        end = time.monotonic()
    return {
        "start": start,
        "end": end,
        "ok": len(state.latencies),
        "errors": state.errors,
        "first_error": state.first_error,
        "latencies": state.latencies.tobytes(),
    }


@dataclass
class _State:
    next_index: itertools.count
    latencies: array = field(default_factory=lambda: array("d"))
    errors: int = 0
    first_error: str = ""


async def _client(session: aiohttp.ClientSession, job: _Job, state: _State) -> None:
    t = job.target
    base = t.url + pods_path(job.namespace)
    post_headers, get_headers = t.headers(content_type=True), t.headers()
    get_url = f"{base}/{job.get_name}"
    create_url = base + "?fieldManager=kubectl-run"
    while (i := next(state.next_index)) < job.count:
        began = time.perf_counter()
        if job.kind == "create":
            body = pod_body(f"{job.prefix}-{i}")
            status, text = await _fetch(session, "POST", create_url, post_headers, body)
        else:
            status, text = await _fetch(session, "GET", get_url, get_headers)
        elapsed = time.perf_counter() - began
        if status < 300:
            state.latencies.append(elapsed)
        else:
            state.errors += 1
            state.first_error = state.first_error or f"{status}: {text[:200]!r}"


async def _fetch(
    session: aiohttp.ClientSession, method: str, url: str, headers: dict, body: bytes | None = None
) -> tuple[int, bytes]:
    async with session.request(method, url, headers=headers, data=body) as resp:
        return resp.status, await resp.read()
