"""Smoke test of bench/dns.py: a short run answers queries of every kind in its mix.
No assertion is about time."""

from __future__ import annotations

import argparse

from bench.dns import query_names, run


def test_query_mix_has_every_kind() -> None:
    names = query_names(14)
    kinds = {(n.split(".")[0].split("-")[0], t) for n, t in names}
    assert {("svc", "A"), ("headless", "A"), ("_http", "SRV"), ("missing", "A")} <= kinds


async def test_a_short_run_answers() -> None:
    args = argparse.Namespace(clients=2, seconds=0.5, services=14, no_cache=False)
    result = await run(args)
    assert result["answered"] > 0 and result["nxdomain"] > 0
    assert result["qps"] == round(result["answered"] / 0.5)
