"""The scheduling queue: priority then FIFO, back-off, parking and re-queueing."""

from __future__ import annotations

from scheduler_helpers import pod

from pyk8s.client import FakeClock
from pyk8s.scheduler.podinfo import pod_info
from pyk8s.scheduler.queue import SchedulingQueue


def info(name, priority=0):
    return pod_info(pod(name, priority=priority))


def test_priority_then_fifo():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(info("a"))
    clock.advance(1)
    q.add(info("b"))
    q.add(info("high", priority=10))
    assert [q.pop_nowait().key for _ in range(3)] == ["default/high", "default/a", "default/b"]
    assert q.pop_nowait() is None


def test_backoff_doubles_to_ten_seconds():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(info("a"))
    durations = []
    for _ in range(6):
        entry = q.pop_nowait()
        durations.append(q.backoff_duration(entry))
        q.requeue_failed(entry, error=True)
        assert q.where("default/a") == "backoff"
        clock.advance(durations[-1] - 0.001)
        q.flush_backoff_completed()
        assert q.pop_nowait() is None
        clock.advance(0.001)
        q.flush_backoff_completed()
    assert durations == [1, 2, 4, 8, 10, 10]


def test_unschedulable_waits_for_an_event_or_five_minutes():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(info("a"))
    q.requeue_failed(q.pop_nowait())
    assert q.where("default/a") == "unschedulable"
    clock.advance(5)
    q.move_all_to_active_or_backoff("NodeAdd")
    assert q.pop_nowait().key == "default/a"  # back-off (1 s) already over
    q.requeue_failed(q.pop_nowait() or q._entries["default/a"])  # noqa: SLF001
    clock.advance(299)
    q.flush_unschedulable_leftover()
    assert q.where("default/a") == "unschedulable"
    clock.advance(2)
    q.flush_unschedulable_leftover()
    assert q.where("default/a") in ("active", "backoff")


def test_event_during_cycle_sends_failure_to_backoff():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(info("a"))
    entry = q.pop_nowait()
    q.move_all_to_active_or_backoff("NodeAdd")  # while "a" was being scheduled
    q.requeue_failed(entry)
    assert q.where("default/a") == "backoff"


def test_delete_and_update():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(info("a"))
    q.add(info("b"))
    q.delete("default/a")
    assert q.pop_nowait().key == "default/b"
    assert q.pop_nowait() is None
    q.add(info("c"))
    q.requeue_failed(q.pop_nowait())
    q.update(info("c"))  # a changed spec gets another try
    assert q.where("default/c") in ("active", "backoff")
    assert len(q) == 2  # b in flight, c queued


async def test_pop_waits_for_add():
    import asyncio

    q = SchedulingQueue(FakeClock())
    getter = asyncio.create_task(q.pop())
    await asyncio.sleep(0)
    assert not getter.done()
    q.add(info("a"))
    assert (await asyncio.wait_for(getter, 1)).key == "default/a"
