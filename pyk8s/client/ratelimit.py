"""Rate limiters for work-queue retries, with client-go's semantics and defaults.

A limiter answers "how long should this item wait before its next try?". The
controller default combines a per-item exponential back-off (a failing key waits
5 ms, 10 ms, 20 ms ... up to 1000 s) with an overall token bucket (10 qps, burst
100) so a mass failure cannot hammer the API server; the larger delay wins.
"""

from __future__ import annotations

from typing import Protocol

from pyk8s.client.clock import Clock, SystemClock


class RateLimiter(Protocol):
    def when(self, item: object) -> float:
        """The delay (seconds) before `item` may be retried; counts one more failure."""
        ...

    def forget(self, item: object) -> None:
        """The item succeeded: clear its failure history."""
        ...

    def num_requeues(self, item: object) -> int: ...


class ItemExponentialFailureRateLimiter:
    """base * 2**failures per item, capped at max_delay."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[object, int] = {}

    def when(self, item: object) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        # Past ~2**60 the float is huge anyway; stop the exponent from growing without bound.
        if exp > 62:
            return self.max_delay
        return min(self.base_delay * (2**exp), self.max_delay)

    def forget(self, item: object) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: object) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket shared by all items: `qps` tokens a second, at most `burst` saved.

    Each call reserves one token; when the bucket is empty the reservation lies in
    the future and its distance is the delay, as golang.org/x/time/rate's Reserve.
    """

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Clock | None = None) -> None:
        self.qps = qps
        self.burst = burst
        self._clock = clock or SystemClock()
        self._tokens = float(burst)
        self._last = self._clock.now()

    def when(self, item: object) -> float:
        now = self._clock.now()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: object) -> None:
        pass

    def num_requeues(self, item: object) -> int:
        return 0


class MaxOfRateLimiter:
    """Asks every limiter (so each keeps its own count) and returns the longest delay."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, item: object) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: object) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: object) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter(clock: Clock | None = None) -> MaxOfRateLimiter:
    """client-go's DefaultControllerRateLimiter: 5 ms..1000 s per item, 10 qps burst 100 overall."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0),
        BucketRateLimiter(10.0, 100, clock),
    )
