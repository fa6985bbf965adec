"""The server's garbage-collector settings: raised thresholds, start-up objects frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pyk8s.cli import gctune


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_tune_gc_raises_the_thresholds(restore_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    gctune.tune_gc()
    young, middle, old = gc.get_threshold()
    assert young >= 10_000 and middle >= 10 and old >= 10


def test_freeze_moves_live_objects_out_of_collections(restore_gc: None) -> None:
    gc.unfreeze()
    held = [{"a": [i]} for i in range(1000)]
    gctune.freeze_startup_objects()
    assert gc.get_freeze_count() >= len(held)
    assert all(gc.get_count()[g] < 1000 for g in range(3))


def test_cyclic_garbage_is_still_collected(restore_gc: None) -> None:
    gctune.tune_gc()
    gctune.freeze_startup_objects()

    class Node:
        pass

    a, b = Node(), Node()
    a.peer, b.peer = b, a  # type: ignore[attr-defined]
    del a, b
    assert gc.collect() >= 2
