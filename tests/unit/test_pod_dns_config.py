"""A pod's CRI DNSConfig per dnsPolicy and dnsConfig, as the kubelet forms it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyk8s.dns import pod_dns_config
from pyk8s.dns.podconfig import parse_resolv_conf

DNS_IP = "198.18.200.10"
HOST_RESOLV = """\
# written by the host
nameserver 198.18.250.1
nameserver 198.18.250.2
search old.example.test
search corp.example.test. lab.example.test
options ndots:2 timeout:1
"""


@pytest.fixture
def host_resolv(tmp_path: Path) -> Path:
    path = tmp_path / "resolv.conf"
    path.write_text(HOST_RESOLV)
    return path


def pod(policy: str | None = None, ns: str = "shop", host_network: bool = False, **dns_config):
    spec: dict = {"containers": [{"name": "c", "image": "i"}]}
    if policy is not None:
        spec["dnsPolicy"] = policy
    if host_network:
        spec["hostNetwork"] = True
    if dns_config:
        spec["dnsConfig"] = dns_config
    return {"metadata": {"name": "p", "namespace": ns}, "spec": spec}


def config(p: dict, host_resolv: Path | None, warnings: list | None = None, dns_ip: str = DNS_IP):
    return pod_dns_config(
        p,
        cluster_dns_ip=dns_ip,
        cluster_domain="cluster.local",
        host_resolv=host_resolv,
        warnings=warnings,
    )


CLUSTER_SEARCH = ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"]
HOST_SEARCH = ["corp.example.test", "lab.example.test"]


def test_parse_resolv_conf_keeps_the_last_search_and_options_lines() -> None:
    servers, searches, options = parse_resolv_conf(HOST_RESOLV)
    assert servers == ["198.18.250.1", "198.18.250.2"]
    assert searches == HOST_SEARCH  # the trailing dot dropped
    assert options == ["ndots:2", "timeout:1"]


@pytest.mark.parametrize("policy", ["ClusterFirst", None])
def test_cluster_first(host_resolv: Path, policy: str | None) -> None:
    assert config(pod(policy), host_resolv) == {
        "servers": [DNS_IP],
        "searches": CLUSTER_SEARCH + HOST_SEARCH,
        "options": ["ndots:5"],
    }


def test_cluster_first_on_the_host_network_falls_back_to_default(host_resolv: Path) -> None:
    assert config(pod("ClusterFirst", host_network=True), host_resolv) == {
        "servers": ["198.18.250.1", "198.18.250.2"],
        "searches": HOST_SEARCH,
        "options": ["ndots:2", "timeout:1"],
    }


def test_cluster_first_with_host_net_keeps_the_cluster_dns(host_resolv: Path) -> None:
    got = config(pod("ClusterFirstWithHostNet", host_network=True), host_resolv)
    assert got is not None and got["servers"] == [DNS_IP]
    assert got["searches"] == CLUSTER_SEARCH + HOST_SEARCH


def test_default_is_the_hosts_resolv_conf(host_resolv: Path) -> None:
    got = config(pod("Default"), host_resolv)
    assert got == {
        "servers": ["198.18.250.1", "198.18.250.2"],
        "searches": HOST_SEARCH,
        "options": ["ndots:2", "timeout:1"],
    }


def test_default_without_a_host_resolv_conf_is_the_local_resolver() -> None:
    got = config(pod("Default"), None)
    assert got == {"servers": ["127.0.0.1"], "searches": ["."], "options": []}


def test_none_takes_only_the_pods_dns_config(host_resolv: Path) -> None:
    got = config(
        pod(
            "None",
            nameservers=["198.18.7.7"],
            searches=["a.example.test"],
            options=[{"name": "ndots", "value": "1"}, {"name": "edns0"}],
        ),
        host_resolv,
    )
    assert got == {
        "servers": ["198.18.7.7"],
        "searches": ["a.example.test"],
        "options": ["ndots:1", "edns0"],
    }
    assert config(pod("None"), host_resolv) is None


def test_dns_config_is_merged_into_cluster_first(host_resolv: Path) -> None:
    got = config(
        pod(
            "ClusterFirst",
            nameservers=[DNS_IP, "198.18.7.7"],
            searches=["cluster.local", "extra.example.test"],
            options=[
                {"name": "ndots", "value": "2"},
                {"name": "single-request-reopen"},
                {"name": "timeout", "value": "3"},
            ],
        ),
        host_resolv,
    )
    assert got == {
        "servers": [DNS_IP, "198.18.7.7"],
        "searches": CLUSTER_SEARCH + HOST_SEARCH + ["extra.example.test"],
        "options": ["ndots:2", "single-request-reopen", "timeout:3"],
    }


def test_dns_config_options_override_the_hosts(host_resolv: Path) -> None:
    got = config(pod("Default", options=[{"name": "timeout", "value": "5"}]), host_resolv)
    assert got is not None and got["options"] == ["ndots:2", "timeout:5"]


def test_nameservers_are_cut_to_three(host_resolv: Path) -> None:
    warnings: list = []
    extra = ["198.18.7.1", "198.18.7.2", "198.18.7.3"]
    got = config(pod("ClusterFirst", nameservers=extra), host_resolv, warnings)
    assert got is not None and got["servers"] == [DNS_IP, "198.18.7.1", "198.18.7.2"]
    assert warnings == [
        (
            "DNSConfigForming",
            "Nameserver limits were exceeded, some nameservers have been omitted, "
            f"the applied nameserver line is: {DNS_IP} 198.18.7.1 198.18.7.2",
        )
    ]


def test_search_paths_are_cut_to_32(host_resolv: Path) -> None:
    warnings: list = []
    extra = [f"s{i}.example.test" for i in range(40)]
    got = config(pod("ClusterFirst", searches=extra), host_resolv, warnings)
    assert got is not None and len(got["searches"]) == 32
    assert got["searches"][:5] == CLUSTER_SEARCH + HOST_SEARCH
    assert got["searches"][-1] == "s26.example.test"
    (reason, message), *_ = warnings
    assert reason == "DNSConfigForming"
    assert message.endswith("the applied search line is: " + " ".join(got["searches"]))


def test_overlong_search_paths_are_dropped(host_resolv: Path) -> None:
    warnings: list = []
    long_name = ".".join(["a" * 60] * 5)  # 304 characters
    got = config(
        pod("ClusterFirst", searches=[long_name, "ok.example.test"]), host_resolv, warnings
    )
    assert got is not None and got["searches"] == CLUSTER_SEARCH + HOST_SEARCH + ["ok.example.test"]
    assert len(warnings) == 1


def test_search_line_is_cut_to_2048_characters_from_the_end(host_resolv: Path) -> None:
    warnings: list = []
    label = "b" * 60
    extra = [f"{label}.{label}.{label}.d{i}.example.test" for i in range(25)]  # ~200 chars each
    got = config(pod("ClusterFirst", searches=extra), host_resolv, warnings)
    assert got is not None
    line = " ".join(got["searches"])
    assert len(line) <= 2048
    assert len(line) + 1 + len(extra[len(got["searches"]) - 5]) > 2048  # one more would not fit
    assert got["searches"][:5] == CLUSTER_SEARCH + HOST_SEARCH
    assert warnings


def test_missing_cluster_dns_falls_back_to_default_with_a_warning(host_resolv: Path) -> None:
    warnings: list = []
    got = config(pod("ClusterFirst"), host_resolv, warnings, dns_ip="")
    assert got is not None and got["servers"] == ["198.18.250.1", "198.18.250.2"]
    assert [reason for reason, _ in warnings] == ["MissingClusterDNS"]


def test_an_unreadable_host_resolv_conf_fails(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        config(pod("ClusterFirst"), tmp_path / "missing")
