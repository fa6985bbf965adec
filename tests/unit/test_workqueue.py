"""WorkQueue and rate limiters: client-go semantics, on a fake clock (no real sleeping)."""

from __future__ import annotations

import asyncio
import random

import pytest

from pyk8s.client import (
    BucketRateLimiter,
    FakeClock,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    ShutDown,
    WorkQueue,
    default_controller_rate_limiter,
)


async def settle(rounds: int = 10) -> None:
    """Let woken tasks run to their next await."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def make_queue() -> tuple[WorkQueue, FakeClock]:
    clock = FakeClock()
    return WorkQueue("test", clock=clock), clock


# -- dirty / processing ----------------------------------------------------------


async def test_burst_of_adds_collapses_into_one() -> None:
    q, _ = make_queue()
    for _ in range(5):
        q.add("ns/a")
    q.add("ns/b")
    q.add("ns/a")
    assert q.len() == 2
    assert await q.get() == "ns/a"
    assert await q.get() == "ns/b"
    assert len(q) == 0


async def test_add_while_processing_requeues_on_done() -> None:
    q, _ = make_queue()
    q.add("k")
    key = await q.get()
    assert q.processing == {"k"} and q.dirty == set()
    q.add("k")
    q.add("k")
    # Held by a worker: marked dirty, not handed to a second worker.
    assert q.len() == 0
    assert q.dirty == {"k"}
    q.done(key)
    assert q.len() == 1
    assert await q.get() == "k"
    q.done("k")
    assert q.len() == 0 and not q.processing and not q.dirty


async def test_done_without_new_add_does_not_requeue() -> None:
    q, _ = make_queue()
    q.add("k")
    q.done(await q.get())
    assert q.len() == 0


async def test_get_waits_for_an_add() -> None:
    q, _ = make_queue()
    getter = asyncio.create_task(q.get())
    await settle()
    assert not getter.done()
    q.add("x")
    assert await asyncio.wait_for(getter, 1) == "x"


async def test_workers_never_hold_the_same_key_at_once() -> None:
    q, _ = make_queue()
    rng = random.Random(7)
    holding: set[str] = set()
    overlaps: list[str] = []
    synced: list[str] = []

    async def worker() -> None:
        while True:
            try:
                key = await q.get()
            except ShutDown:
                return
            if key in holding:
                overlaps.append(key)
            holding.add(key)
            for _ in range(rng.randint(0, 3)):
                await asyncio.sleep(0)
                q.add(rng.choice("abc"))  # events keep arriving mid-sync
            holding.discard(key)
            synced.append(key)
            q.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for _ in range(50):
        q.add(rng.choice("abc"))
        await asyncio.sleep(0)
    await settle(50)
    await q.shut_down_with_drain()
    await asyncio.wait_for(asyncio.gather(*workers), 1)
    assert overlaps == []
    assert set(synced) == {"a", "b", "c"}
    # Far fewer syncs than adds: bursts collapsed.
    assert len(synced) < 50 + 50 * 3


async def test_cancelled_getter_does_not_swallow_a_key() -> None:
    q, _ = make_queue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await settle()
    q.add("k")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs: `second` must get the key
    await settle()
    assert await asyncio.wait_for(second, 1) == "k"


# -- shutting down ---------------------------------------------------------------


async def test_shut_down_drains_queued_keys_then_raises() -> None:
    q, _ = make_queue()
    q.add("a")
    q.shut_down()
    q.add("b")  # ignored once shutting down
    assert q.shutting_down()
    assert await q.get() == "a"
    with pytest.raises(ShutDown):
        await q.get()


async def test_shut_down_wakes_waiting_getters() -> None:
    q, _ = make_queue()
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await settle()
    q.shut_down()
    for g in getters:
        with pytest.raises(ShutDown):
            await asyncio.wait_for(g, 1)


async def test_shut_down_with_drain_waits_for_done() -> None:
    q, _ = make_queue()
    q.add("a")
    key = await q.get()
    drain = asyncio.create_task(q.shut_down_with_drain())
    await settle()
    assert not drain.done()
    q.done(key)
    await asyncio.wait_for(drain, 1)


async def test_shut_down_cancels_pending_delays() -> None:
    q, clock = make_queue()
    q.add_after("a", 5)
    await settle()
    q.shut_down()
    await settle()
    clock.advance(10)
    await settle()
    assert q.len() == 0 and q.waiting() == 0


# -- delays ----------------------------------------------------------------------


async def test_add_after_adds_when_due() -> None:
    q, clock = make_queue()
    q.add_after("a", 5)
    await settle()
    assert q.len() == 0 and q.waiting() == 1
    clock.advance(4.9)
    await settle()
    assert q.len() == 0
    clock.advance(0.1)
    await settle()
    assert q.len() == 1 and q.waiting() == 0


async def test_add_after_keeps_the_earliest_deadline() -> None:
    q, clock = make_queue()
    q.add_after("a", 10)
    q.add_after("a", 3)
    q.add_after("a", 7)  # later than the pending 3 s: no effect
    await settle()
    clock.advance(3)
    await settle()
    assert q.len() == 1
    q.done(await q.get())
    clock.advance(10)
    await settle()
    assert q.len() == 0, "the superseded 10 s timer must not add the key again"


async def test_add_after_zero_adds_now() -> None:
    q, _ = make_queue()
    q.add_after("a", 0)
    assert q.len() == 1


async def test_rate_limited_requeues_back_off_exponentially() -> None:
    q, clock = make_queue()
    delays = []
    for _ in range(4):
        q.add_rate_limited("k")
        await settle()
        delays.append(clock.advance_to_next())
        await settle()
        q.done(await q.get())
    assert delays == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert q.num_requeues("k") == 4
    q.forget("k")
    assert q.num_requeues("k") == 0
    q.add_rate_limited("k")
    await settle()
    assert clock.advance_to_next() == pytest.approx(0.005)


# -- rate limiters -----------------------------------------------------------------


def test_item_exponential_caps_at_max() -> None:
    rl = ItemExponentialFailureRateLimiter(0.005, 1000.0)
    delays = [rl.when("x") for _ in range(30)]
    assert delays[:3] == [0.005, 0.01, 0.02]
    assert delays[-1] == 1000.0
    assert max(delays) == 1000.0
    assert rl.when("other") == 0.005, "items back off independently"
    for _ in range(100):
        rl.when("x")
    assert rl.when("x") == 1000.0


def test_bucket_allows_burst_then_spaces_at_qps() -> None:
    clock = FakeClock()
    rl = BucketRateLimiter(qps=10, burst=100, clock=clock)
    assert [rl.when(i) for i in range(100)] == [0.0] * 100
    assert rl.when(100) == pytest.approx(0.1)
    assert rl.when(101) == pytest.approx(0.2)
    clock.advance(1.0)  # ten tokens back, two already promised
    assert rl.when(102) == pytest.approx(0.0)
    clock.advance(100)
    assert [rl.when(i) for i in range(100)] == [0.0] * 100, "refill stops at the burst size"
    assert rl.when("x") > 0


def test_max_of_takes_the_longest_delay() -> None:
    clock = FakeClock()
    rl = default_controller_rate_limiter(clock)
    assert isinstance(rl, MaxOfRateLimiter)
    first = [rl.when(f"item-{i}") for i in range(100)]
    assert first == [0.005] * 100  # bucket still has tokens: the per-item delay wins
    assert rl.when("item-100") == pytest.approx(0.1)  # bucket empty: its delay wins
    assert rl.num_requeues("item-5") == 1
    rl.forget("item-5")
    assert rl.num_requeues("item-5") == 0


def test_max_of_needs_a_limiter() -> None:
    with pytest.raises(ValueError):
        MaxOfRateLimiter()


# -- the fake clock ------------------------------------------------------------------


async def test_fake_clock_wakes_sleepers_in_deadline_order() -> None:
    clock = FakeClock(100.0)
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("late", 9), ("early", 2), ("mid", 5))]
    await settle()
    assert clock.sleepers() == 3 and clock.next_deadline() == 102.0
    assert clock.advance_to_next() == 2.0
    await settle()
    assert woke == ["early"]
    clock.advance(10)
    await settle()
    assert woke == ["early", "mid", "late"]
    assert clock.now() == 112.0
    await asyncio.gather(*tasks)
    with pytest.raises(ValueError):
        clock.advance(-1)


async def test_fake_clock_ignores_cancelled_sleepers() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(1))
    await settle()
    task.cancel()
    await settle()
    assert clock.next_deadline() is None and clock.advance_to_next() == 0.0
