"""Watch fan-out: W watchers on one namespace's pods while a writer creates pods then
patches each once. Every write's acknowledgement time is recorded by resourceVersion,
every watcher's receipt time likewise; lag = receipt - acknowledgement.

Watchers run in their own processes so that the writer's clock is not delayed by the
watchers' parsing; `time.monotonic` is shared by all processes on Linux. A watcher may
receive an event before the writer has read its response, so lags can be negative.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from array import array
from dataclasses import dataclass

import aiohttp
import orjson

from bench.loadgen import Target, create_namespace_async, percentile, pod_body, pods_path

PATCH = orjson.dumps({"metadata": {"labels": {"step": "patched"}}})


@dataclass
class WatchResult:
    watchers: int
    writes: int
    expected: int
    delivered: int
    seconds: float
    lag_p50_ms: float
    lag_p99_ms: float
    write_p50_ms: float
    write_p99_ms: float
    write_rate: float

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0


def run_watch_fanout(
    target: Target,
    *,
    watchers: int = 100,
    writes: int = 2000,
    writer_concurrency: int = 8,
    processes: int = 2,
    namespace: str = "bench-watch",
    rate: float = 0.0,
    timeout: float = 120.0,
) -> WatchResult:
    """`writes` writes (half creates, half merge patches), paced at `rate` writes/s
    when rate > 0, watched by `watchers` watchers spread over `processes` processes."""
    rv = asyncio.run(_prepare(target, namespace))
    ctx = mp.get_context("fork")
    ready = ctx.Queue()
    pipes, procs = [], []
    for p in range(processes):
        n = watchers // processes + (1 if p < watchers % processes else 0)
        recv, send = ctx.Pipe(duplex=False)
        args = (target, namespace, rv, n, writes, timeout, ready, send)
        proc = ctx.Process(target=_watch_worker, args=args, daemon=True)
        proc.start()
        send.close()
        pipes.append(recv)
        procs.append(proc)
    try:
        for _ in procs:
            ready.get(timeout=60)
        began, acks, write_lat = asyncio.run(
            _write(target, namespace, writes, writer_concurrency, rate)
        )
        outcomes = [pipe.recv() for pipe in pipes]
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    return _summarise(watchers, writes, began, acks, write_lat, outcomes)


def _summarise(watchers, writes, began, acks, write_lat, outcomes) -> WatchResult:
    lags, delivered, last = [], 0, began
    for o in outcomes:
        rvs, times = array("q"), array("d")
        rvs.frombytes(o["rvs"])
        times.frombytes(o["times"])
        delivered += len(rvs)
        for rv, t in zip(rvs, times, strict=True):
            if rv in acks:
                lags.append((t - acks[rv]) * 1000)
            last = max(last, t)
    write_span = max(acks.values(), default=began) - began
    return WatchResult(
        watchers=watchers,
        writes=writes,
        expected=watchers * writes,
        delivered=delivered,
        seconds=last - began,
        lag_p50_ms=percentile(lags, 50),
        lag_p99_ms=percentile(lags, 99),
        write_p50_ms=percentile(write_lat, 50),
        write_p99_ms=percentile(write_lat, 99),
        write_rate=len(acks) / write_span if write_span else 0.0,
    )


async def _prepare(target: Target, namespace: str) -> str:
    """Create the namespace; return its pods' list resourceVersion to watch from."""
    await create_namespace_async(target, namespace)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=target.ssl_context())) as s:
        async with s.get(target.url + pods_path(namespace), headers=target.headers()) as r:
            return (await r.json())["metadata"]["resourceVersion"]


async def _write(target: Target, namespace: str, writes: int, concurrency: int, rate: float):
    creates = writes // 2
    jobs = iter(range(writes))
    acks: dict[int, float] = {}
    latencies: list[float] = []
    base = target.url + pods_path(namespace)
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=target.ssl_context())
    async with aiohttp.ClientSession(connector=connector) as s:
        began = time.monotonic()

        async def one(i: int) -> None:
            if rate > 0:
                await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
            sent = time.monotonic()
            if i < creates:
                req = s.post(
                    base + "?fieldManager=kubectl-run",
                    data=pod_body(f"w-{i}"),
                    headers=target.headers(True),
                )
            else:
                headers = {**target.headers(), "Content-Type": "application/merge-patch+json"}
                req = s.patch(f"{base}/w-{(i - creates) % creates}", data=PATCH, headers=headers)
            async with req as r:
                body = await r.read()
            ack = time.monotonic()
            if r.status >= 300:
                raise RuntimeError(f"write {i}: {r.status} {body[:200]!r}")
            acks[int(orjson.loads(body)["metadata"]["resourceVersion"])] = ack
            latencies.append((ack - sent) * 1000)

        async def worker() -> None:
            for i in jobs:
                await one(i)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return began, acks, latencies


def _watch_worker(target, namespace, rv, count, writes, timeout, ready, pipe) -> None:
    try:
        pipe.send(asyncio.run(_watch_all(target, namespace, rv, count, writes, timeout, ready)))
    finally:
        pipe.close()


async def _watch_all(target, namespace, rv, count, writes, timeout, ready) -> dict:
    rvs, times = array("q"), array("d")
    url = f"{target.url}{pods_path(namespace)}?watch=1&resourceVersion={rv}"
    connector = aiohttp.TCPConnector(limit=0, ssl=target.ssl_context())
    timeouts = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeouts) as s:
        responses = await asyncio.gather(
            *(s.get(url, headers=target.headers()) for _ in range(count))
        )
        ready.put(True)
        deadline = time.monotonic() + timeout
        await asyncio.gather(*(_drain(r, writes, deadline, rvs, times) for r in responses))
        for r in responses:
            r.close()
    return {"rvs": rvs.tobytes(), "times": times.tobytes()}


async def _drain(resp, writes: int, deadline: float, rvs: array, times: array) -> None:
    """Read `writes` events (or until the deadline), recording (rv, receipt time)."""
    seen = 0
    while seen < writes:
        try:
            line = await asyncio.wait_for(resp.content.readline(), deadline - time.monotonic())
        except (TimeoutError, ValueError):
            return
        if not line:
            return
        received = time.monotonic()
        event = orjson.loads(line)
        if event["type"] not in ("ADDED", "MODIFIED"):
            continue
        rvs.append(int(event["object"]["metadata"]["resourceVersion"]))
        times.append(received)
        seen += 1
