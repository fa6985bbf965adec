"""Node addresses for a local cluster: the range's hosts in order, pools as CIDRs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyk8s.kubelet.nodeaddrs import NodeAddressError, interface_name, node_ip, pool_networks


def test_node_ips_are_the_ranges_hosts_in_order() -> None:
    assert [node_ip("198.18.240.0/28", i) for i in range(3)] == [
        "198.18.240.1", "198.18.240.2", "198.18.240.3",
    ]  # fmt: skip
    with pytest.raises(NodeAddressError, match="room for 14 nodes"):
        node_ip("198.18.240.0/28", 14)


def test_pools_as_cidrs_or_ranges() -> None:
    assert pool_networks("198.18.200.0/29") == ["198.18.200.0/29"]
    assert pool_networks("198.18.200.0-198.18.200.9, 198.18.201.0/30") == [
        "198.18.200.0/29", "198.18.200.8/31", "198.18.201.0/30",
    ]  # fmt: skip
    assert pool_networks("") == []


def test_interface_names_fit_and_differ(tmp_path: Path) -> None:
    a, b = interface_name(tmp_path / "a"), interface_name(tmp_path / "b")
    assert a != b and len(a) <= 15
