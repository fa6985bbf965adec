"""Garbage-collector settings for long-running pyk8s processes.

A control plane holds millions of small containers (every object's decoded
dicts, in the watch cache and in each informer's cache) that live for as long as
their object does. CPython's default thresholds (700, 10, 10) run a young
collection every 700 net allocations and a full one each time the long-lived
heap grows by a quarter: with 10,000 pods that was more than a quarter of the
server's CPU, most of it in full collections walking objects that can never be
garbage (JSON dicts are acyclic and are freed by reference counting as soon as
they are replaced).

So, as servers holding large heaps of plain data commonly do: young collections
every 50,000 allocations (a pass still takes tens of milliseconds), and a full
collection only after 20 x 10 of those; and what exists once the process has
started (modules, the type schema, the resource table) is frozen out of every
later collection (`gc.freeze`). Cyclic garbage is still found, only later.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 10)


def tune_gc() -> None:
    """Raise the collection thresholds (call once, early in the process)."""
    gc.set_threshold(*THRESHOLDS)


def freeze_startup_objects() -> None:
    """Collect once, then exclude everything alive now from later collections
    (call when start-up is done)."""
    gc.collect()
    gc.freeze()
