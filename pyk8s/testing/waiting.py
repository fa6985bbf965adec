"""Polling with a deadline, for tests that wait on a cluster converging (a test
never asserts how long something took: it waits, with a generous timeout)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Call `check` until it returns something truthy, and return that; raise
    AssertionError with the last value seen once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
        time.sleep(interval)


async def await_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """`wait_for` for async tests: `check` may be a plain function or a coroutine
    function; the event loop keeps running between attempts."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
        await asyncio.sleep(interval)
