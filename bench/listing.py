"""LIST latency: one client, sequential requests, time to the last byte of the body."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
import orjson

from bench.loadgen import Target, percentile, pods_path

# What kubectl 1.3x sends for `kubectl get pods`.
TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)

VARIANTS = {
    "json": ("", "application/json"),
    "table": ("", TABLE_ACCEPT),
    "table-limit500": ("?limit=500", TABLE_ACCEPT),
}


@dataclass
class ListResult:
    variant: str
    runs: int
    p50_ms: float
    p99_ms: float
    items: int
    body_bytes: int


def run_list(target: Target, namespace: str, variant: str, runs: int = 20) -> ListResult:
    """`runs` LISTs of the namespace's pods (after two unmeasured warm-ups)."""
    return asyncio.run(_run_list(target, namespace, variant, runs))


async def _run_list(target: Target, namespace: str, variant: str, runs: int) -> ListResult:
    query, accept = VARIANTS[variant]
    url = target.url + pods_path(namespace) + query
    headers = {**target.headers(), "Accept": accept}
    times: list[float] = []
    connector = aiohttp.TCPConnector(limit=1, ssl=target.ssl_context())
    async with aiohttp.ClientSession(connector=connector) as s:
        for i in range(runs + 2):
            began = time.perf_counter()
            async with s.get(url, headers=headers) as r:
                body = await r.read()
            if r.status != 200:
                raise RuntimeError(f"LIST {variant}: {r.status} {body[:200]!r}")
            if i >= 2:
                times.append((time.perf_counter() - began) * 1000)
    doc = orjson.loads(body)
    items = len(doc["items"] if variant == "json" else doc["rows"])
    return ListResult(variant, runs, percentile(times, 50), percentile(times, 99), items, len(body))
