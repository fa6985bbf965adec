"""The LoadBalancer address pool of the servicelb controller: parsing, lowest free
first, requested addresses, release, and MetalLB's error texts."""

from __future__ import annotations

import ipaddress

import pytest

from pyk8s.controllers.servicelb import LBPool, PoolError, parse_pool, requested_ip


def test_pool_parsing_cidrs_and_ranges():
    pool = LBPool("198.18.200.0/30, 198.18.201.10-198.18.201.11")
    as_text = [str(ipaddress.IPv4Address(n)) for n in pool.addresses]
    assert as_text == [
        "198.18.200.0",
        "198.18.200.1",
        "198.18.200.2",
        "198.18.200.3",
        "198.18.201.10",
        "198.18.201.11",
    ]
    assert not LBPool("")
    with pytest.raises(ValueError):
        parse_pool("198.18.201.11-198.18.201.10")


def test_lowest_free_first_then_exhausted():
    pool = LBPool("198.18.200.0/31")
    assert pool.allocate("default/a") == "198.18.200.0"
    assert pool.allocate("default/b") == "198.18.200.1"
    with pytest.raises(PoolError, match="^no available IPs$"):
        pool.allocate("default/c")
    assert pool.release("default/a", "198.18.200.0")
    assert not pool.release("default/b", "198.18.200.0")  # not b's to give back
    assert pool.allocate("default/c") == "198.18.200.0"


def test_requested_addresses():
    pool = LBPool("198.18.200.0/29")
    assert pool.allocate("ns/a", "198.18.200.5") == "198.18.200.5"
    with pytest.raises(PoolError, match="address also in use by ns/a"):
        pool.allocate("ns/b", "198.18.200.5")
    with pytest.raises(PoolError, match='"198.18.9.9" is not allowed in config'):
        pool.allocate("ns/b", "198.18.9.9")
    # Seen in a status after a restart: held again by its owner only.
    assert pool.hold("ns/a", "198.18.200.5")
    assert not pool.hold("ns/c", "198.18.200.5")


def test_requested_ip_from_spec_or_metallb_annotation():
    spec_ip = {"spec": {"loadBalancerIP": "198.18.200.3"}}
    assert requested_ip(spec_ip) == "198.18.200.3"
    annotated = {
        "metadata": {
            "annotations": {"metallb.universe.tf/loadBalancerIPs": "fd00::1,198.18.200.4"}
        },
        "spec": {},
    }
    assert requested_ip(annotated) == "198.18.200.4"
    assert requested_ip({"spec": {}}) == ""
