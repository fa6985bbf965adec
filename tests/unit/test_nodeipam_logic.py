"""CIDRSet: the pool of per-node subnets."""

from __future__ import annotations

import pytest

from pyk8s.controllers.nodeipam import CIDRSet


def test_allocates_lowest_free_and_reuses_released():
    s = CIDRSet("198.18.0.0/16", 24)
    assert [s.allocate() for _ in range(3)] == ["198.18.0.0/24", "198.18.1.0/24", "198.18.2.0/24"]
    s.release("198.18.1.0/24")
    assert s.allocate() == "198.18.1.0/24"
    assert s.allocate() == "198.18.3.0/24"


def test_occupy_ignores_foreign_ranges():
    s = CIDRSet("198.18.0.0/16", 24)
    assert s.occupy("198.18.0.0/24")
    assert not s.occupy("198.19.200.0/24")
    assert not s.occupy("198.18.0.0/25")  # wrong size
    assert s.allocate() == "198.18.1.0/24"


def test_exhaustion_returns_none():
    s = CIDRSet("198.19.0.0/23", 24)
    assert s.allocate() == "198.19.0.0/24"
    assert s.allocate() == "198.19.1.0/24"
    assert s.allocate() is None


def test_mask_smaller_than_cluster_rejected():
    with pytest.raises(ValueError):
        CIDRSet("198.18.0.0/16", 8)
