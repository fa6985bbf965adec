"""Per-key exponential back-off, as the kubelet's (client-go flowcontrol.Backoff):
image pulls and container restarts wait 10 s, doubling to 5 min; an entry idle
for twice the cap starts over."""

from __future__ import annotations

from pyk8s.client.clock import Clock, SystemClock

DEFAULT_INITIAL = 10.0
DEFAULT_CAP = 300.0


class Backoff:
    def __init__(
        self,
        initial: float = DEFAULT_INITIAL,
        cap: float = DEFAULT_CAP,
        clock: Clock | None = None,
    ) -> None:
        self.initial, self.cap = initial, cap
        self.clock = clock or SystemClock()
        self._entries: dict[str, tuple[float, float]] = {}  # key -> (duration, last update)

    def next(self, key: str, at: float | None = None) -> float:
        """Record a failure at `at` (default now); returns the back-off it starts."""
        now = self.clock.now() if at is None else at
        entry = self._entries.get(key)
        if entry is None or now - entry[1] > 2 * self.cap:
            duration = self.initial
        else:
            duration = min(entry[0] * 2, self.cap)
        self._entries[key] = (duration, now)
        return duration

    def get(self, key: str) -> float:
        """The current back-off of `key` (0 if none)."""
        entry = self._entries.get(key)
        return entry[0] if entry else 0.0

    def in_backoff(self, key: str) -> bool:
        """True while the last failure is more recent than its back-off."""
        entry = self._entries.get(key)
        return entry is not None and self.clock.now() - entry[1] < entry[0]

    def remaining(self, key: str) -> float:
        """Seconds until `key` may be tried again (0 if it may now)."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        return max(entry[0] - (self.clock.now() - entry[1]), 0.0)

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def forget_prefix(self, prefix: str) -> None:
        """Drop every key of a pod (keys start with its UID)."""
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() for a duration truncated to milliseconds
    ("523ms", "1.234s", "2m3.5s"), as kubelet messages print durations."""
    ms = int(seconds * 1000)
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rem = divmod(ms, 3_600_000)
    minutes, rem = divmod(rem, 60_000)
    secs = f"{rem / 1000:.3f}".rstrip("0").rstrip(".")
    out = f"{secs}s"
    if minutes or hours:
        out = f"{minutes}m{out}"
    if hours:
        out = f"{hours}h{out}"
    return out


def go_seconds(seconds: float) -> str:
    """A whole-second Go duration ("10s", "1m20s", "5m0s") for back-off messages."""
    total = int(seconds)
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
