"""The event recorder's spam filter, as upstream's EventSourceObjectSpamFilter."""

from __future__ import annotations

from pyk8s.controllers.events import SpamFilter


def test_spam_filter_allows_a_burst_then_refills_slowly():
    now = [0.0]
    f = SpamFilter(burst=25, refill=300.0, clock=lambda: now[0])
    assert all(f.allow("rs/a") for _ in range(25))
    assert not f.allow("rs/a")
    assert f.allow("rs/b")  # another object has its own bucket
    now[0] += 299.0
    assert not f.allow("rs/a")
    now[0] += 2.0
    assert f.allow("rs/a")
    assert not f.allow("rs/a")
