"""Cluster names to records: the Resolver against hand-filled informer caches."""

from __future__ import annotations

import pytest

from pyk8s.client import Indexer
from pyk8s.dns import wire
from pyk8s.dns.records import Resolver, ip_from_dashed, ip_from_reverse

ZONE = "cluster.local"


def _md(ns: str, name: str, **extra) -> dict:
    return {"namespace": ns, "name": name, **extra}


def service(ns: str, name: str, **spec) -> dict:
    return {"metadata": _md(ns, name), "spec": {"type": "ClusterIP", **spec}}


def endpoint(ip: str, ready: bool | None = True, hostname: str = "") -> dict:
    ep: dict = {"addresses": [ip]}
    if ready is not None:
        ep["conditions"] = {"ready": ready}
    if hostname:
        ep["hostname"] = hostname
    return ep


def endpoint_slice(ns: str, svc: str, name: str, endpoints: list, ports=None, family="IPv4"):
    labels = {"kubernetes.io/service-name": svc}
    out = {"metadata": _md(ns, name, labels=labels), "addressType": family, "endpoints": endpoints}
    if ports is not None:
        out["ports"] = ports
    return out


def pod(ns: str, name: str, ip: str, phase: str = "Running") -> dict:
    return {
        "metadata": _md(ns, name),
        "status": {"phase": phase, "podIP": ip, "podIPs": [{"ip": ip}]},
    }


class Cluster:
    """Indexers standing in for the informers' caches."""

    def __init__(self) -> None:
        self.services, self.slices, self.pods, self.namespaces = (Indexer() for _ in range(4))
        for ns in ("default", "apps"):
            self.namespaces.set(ns, {"metadata": {"name": ns}})
        self.resolver = Resolver(
            ZONE, self.services, self.slices, self.pods, self.namespaces, dns_ips=["198.18.200.10"]
        )

    def add(self, cache: Indexer, obj: dict) -> None:
        md = obj["metadata"]
        cache.set(f"{md['namespace']}/{md['name']}", obj)
        self.resolver.touch()

    def ask(self, name: str, qtype: int) -> object:
        return self.resolver.resolve(name, qtype)


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster()
    http = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    c.add(c.services, service("default", "web", clusterIP="198.18.100.5", ports=http))
    c.add(
        c.services,
        service(
            "apps",
            "db",
            clusterIP="None",
            ports=[{"name": "pg", "port": 5432, "protocol": "TCP"}],
        ),
    )
    pg = [{"name": "pg", "port": 5432, "protocol": "TCP"}]
    c.add(
        c.slices,
        endpoint_slice(
            "apps",
            "db",
            "db-a",
            [endpoint("198.18.1.2", hostname="db-0"), endpoint("198.18.1.3", ready=None)],
            pg,
        ),
    )
    c.add(
        c.slices,
        endpoint_slice(
            "apps", "db", "db-b", [endpoint("198.18.1.4", ready=False), endpoint("198.18.1.5")], pg
        ),
    )
    c.add(c.services, service("apps", "ext", type="ExternalName", externalName="db.example.test"))
    c.add(c.pods, pod("apps", "p1", "198.18.2.7"))
    return c


def ips(ans) -> list[str]:
    return sorted(rr.data for rr in ans.answer)


def test_service_a_record_is_the_cluster_ip(cluster: Cluster) -> None:
    ans = cluster.ask("web.default.svc.cluster.local", wire.A)
    assert ans.rcode == wire.NOERROR
    assert [(rr.name, rr.rtype, rr.ttl, rr.data) for rr in ans.answer] == [
        ("web.default.svc.cluster.local", wire.A, 5, "198.18.100.5")
    ]
    assert ans.authority == []


def test_names_match_case_insensitively_with_or_without_the_trailing_dot(cluster) -> None:
    ans = cluster.ask("Web.DEFAULT.svc.Cluster.Local.", wire.A)
    assert ips(ans) == ["198.18.100.5"]
    assert ans.answer[0].name == "Web.DEFAULT.svc.Cluster.Local."  # owner as asked


def test_aaaa_of_an_ipv4_service_is_nodata_with_soa(cluster: Cluster) -> None:
    ans = cluster.ask("web.default.svc.cluster.local", wire.AAAA)
    assert ans.rcode == wire.NOERROR and ans.answer == []
    (soa,) = ans.authority
    assert soa.rtype == wire.SOA and soa.name == ZONE
    mname, rname, serial, refresh, retry, expire, minimum = soa.data
    assert (mname, rname) == ("ns.dns.cluster.local", "hostmaster.cluster.local")
    assert (refresh, retry, expire, minimum) == (7200, 1800, 86400, 5)
    assert serial == cluster.resolver.serial


def test_other_types_of_an_existing_name_are_nodata(cluster: Cluster) -> None:
    for qtype in (wire.TXT, wire.MX, wire.PTR, wire.CNAME):
        ans = cluster.ask("web.default.svc.cluster.local", qtype)
        assert (ans.rcode, ans.answer, len(ans.authority)) == (wire.NOERROR, [], 1)


def test_headless_answers_every_ready_endpoint_across_slices(cluster: Cluster) -> None:
    ans = cluster.ask("db.apps.svc.cluster.local", wire.A)
    # 198.18.1.4 is not ready; an unset ready condition counts as ready.
    assert ips(ans) == ["198.18.1.2", "198.18.1.3", "198.18.1.5"]


def test_headless_without_ready_endpoints_is_nodata(cluster: Cluster) -> None:
    cluster.add(cluster.services, service("apps", "empty", clusterIP="None"))
    ans = cluster.ask("empty.apps.svc.cluster.local", wire.A)
    assert (ans.rcode, ans.answer) == (wire.NOERROR, [])


def test_endpoint_names_by_hostname_or_dashed_ip(cluster: Cluster) -> None:
    assert ips(cluster.ask("db-0.db.apps.svc.cluster.local", wire.A)) == ["198.18.1.2"]
    assert ips(cluster.ask("198-18-1-5.db.apps.svc.cluster.local", wire.A)) == ["198.18.1.5"]
    # An endpoint with a hostname is not also known by its dashed IP.
    assert cluster.ask("198-18-1-2.db.apps.svc.cluster.local", wire.A).rcode == wire.NXDOMAIN
    assert cluster.ask("nobody.db.apps.svc.cluster.local", wire.A).rcode == wire.NXDOMAIN
    # Not-ready endpoints have no name either.
    assert cluster.ask("198-18-1-4.db.apps.svc.cluster.local", wire.A).rcode == wire.NXDOMAIN


def test_srv_of_a_named_port_points_at_the_service(cluster: Cluster) -> None:
    ans = cluster.ask("_http._tcp.web.default.svc.cluster.local", wire.SRV)
    assert [rr.data for rr in ans.answer] == [(0, 100, 80, "web.default.svc.cluster.local")]
    assert [(rr.name, rr.data) for rr in ans.additional] == [
        ("web.default.svc.cluster.local", "198.18.100.5")
    ]


def test_srv_of_a_headless_service_has_one_record_per_endpoint(cluster: Cluster) -> None:
    ans = cluster.ask("_pg._tcp.db.apps.svc.cluster.local", wire.SRV)
    assert sorted(rr.data for rr in ans.answer) == [
        (0, 33, 5432, "198-18-1-3.db.apps.svc.cluster.local"),
        (0, 33, 5432, "198-18-1-5.db.apps.svc.cluster.local"),
        (0, 33, 5432, "db-0.db.apps.svc.cluster.local"),
    ]
    assert sorted((rr.name, rr.data) for rr in ans.additional) == [
        ("198-18-1-3.db.apps.svc.cluster.local", "198.18.1.3"),
        ("198-18-1-5.db.apps.svc.cluster.local", "198.18.1.5"),
        ("db-0.db.apps.svc.cluster.local", "198.18.1.2"),
    ]


def test_srv_for_the_service_name_lists_every_port(cluster: Cluster) -> None:
    ans = cluster.ask("web.default.svc.cluster.local", wire.SRV)
    assert [rr.data for rr in ans.answer] == [(0, 100, 80, "web.default.svc.cluster.local")]


def test_srv_of_an_unknown_port_or_protocol_is_nxdomain(cluster: Cluster) -> None:
    assert cluster.ask("_grpc._tcp.web.default.svc.cluster.local", wire.SRV).rcode == wire.NXDOMAIN
    assert cluster.ask("_http._udp.web.default.svc.cluster.local", wire.SRV).rcode == wire.NXDOMAIN


def test_unnamed_ports_have_no_srv_name(cluster: Cluster) -> None:
    cluster.add(
        cluster.services,
        service(
            "default", "plain", clusterIP="198.18.100.9", ports=[{"port": 81, "protocol": "TCP"}]
        ),
    )
    assert cluster.ask("_81._tcp.plain.default.svc.cluster.local", wire.SRV).rcode == wire.NXDOMAIN
    ans = cluster.ask("plain.default.svc.cluster.local", wire.SRV)
    assert [rr.data for rr in ans.answer] == [(0, 100, 81, "plain.default.svc.cluster.local")]


def test_external_name_is_a_cname_to_chase(cluster: Cluster) -> None:
    ans = cluster.ask("ext.apps.svc.cluster.local", wire.CNAME)
    assert [(rr.rtype, rr.data) for rr in ans.answer] == [(wire.CNAME, "db.example.test")]
    assert ans.chase == ""  # a CNAME question is fully answered
    ans = cluster.ask("ext.apps.svc.cluster.local", wire.A)
    assert [(rr.rtype, rr.data) for rr in ans.answer] == [(wire.CNAME, "db.example.test")]
    assert ans.chase == "db.example.test"
    assert cluster.ask("ext.apps.svc.cluster.local", wire.SRV).answer == []
    assert cluster.ask("x.ext.apps.svc.cluster.local", wire.A).rcode == wire.NXDOMAIN


def test_pod_names_are_verified_against_pods(cluster: Cluster) -> None:
    ans = cluster.ask("198-18-2-7.apps.pod.cluster.local", wire.A)
    assert ips(ans) == ["198.18.2.7"]
    # Another namespace, an IP no pod has, and a label that is no IP: NXDOMAIN.
    for name in (
        "198-18-2-7.default.pod.cluster.local",
        "198-18-2-8.apps.pod.cluster.local",
        "not-an-ip.apps.pod.cluster.local",
    ):
        assert cluster.ask(name, wire.A).rcode == wire.NXDOMAIN, name
    assert cluster.ask("198-18-2-7.apps.pod.cluster.local", wire.AAAA).rcode == wire.NOERROR


def test_finished_pods_have_no_name(cluster: Cluster) -> None:
    cluster.add(cluster.pods, pod("apps", "done", "198.18.2.9", phase="Succeeded"))
    assert cluster.ask("198-18-2-9.apps.pod.cluster.local", wire.A).rcode == wire.NXDOMAIN


@pytest.mark.parametrize(
    "name",
    [
        "nope.default.svc.cluster.local",  # no such service
        "web.nons.svc.cluster.local",  # no such namespace
        "foo.cluster.local",  # neither svc nor pod
        "foo.svc.cluster.local",  # no such namespace
        "a.b._http._tcp.web.default.svc.cluster.local",  # longer than the schema
    ],
)
def test_unknown_names_in_the_zone_are_nxdomain_with_soa(cluster: Cluster, name: str) -> None:
    ans = cluster.ask(name, wire.A)
    assert ans.rcode == wire.NXDOMAIN and ans.answer == []
    assert [rr.rtype for rr in ans.authority] == [wire.SOA]


@pytest.mark.parametrize(
    "name", ["svc.cluster.local", "pod.cluster.local", "default.svc.cluster.local"]
)
def test_structural_names_exist_without_records(cluster: Cluster, name: str) -> None:
    ans = cluster.ask(name, wire.A)
    assert (ans.rcode, ans.answer, len(ans.authority)) == (wire.NOERROR, [], 1)


def test_apex_answers_soa_and_ns(cluster: Cluster) -> None:
    soa = cluster.ask("cluster.local", wire.SOA)
    assert [rr.rtype for rr in soa.answer] == [wire.SOA]
    ns = cluster.ask("cluster.local", wire.NS)
    assert [rr.data for rr in ns.answer] == ["ns.dns.cluster.local"]
    assert [(rr.name, rr.data) for rr in ns.additional] == [
        ("ns.dns.cluster.local", "198.18.200.10")
    ]
    assert ips(cluster.ask("ns.dns.cluster.local", wire.A)) == ["198.18.200.10"]


def test_schema_version_txt(cluster: Cluster) -> None:
    ans = cluster.ask("dns-version.cluster.local", wire.TXT)
    assert [(rr.ttl, rr.data) for rr in ans.answer] == [(28800, ("1.1.0",))]


def test_changes_show_at_once(cluster: Cluster) -> None:
    generation = cluster.resolver.generation
    cluster.add(
        cluster.slices,
        endpoint_slice("apps", "db", "db-c", [endpoint("198.18.1.6")], ports=[]),
    )
    assert cluster.resolver.generation > generation
    assert "198.18.1.6" in ips(cluster.ask("db.apps.svc.cluster.local", wire.A))
    cluster.services.pop("default/web")
    assert cluster.ask("web.default.svc.cluster.local", wire.A).rcode == wire.NXDOMAIN


def test_ptr_for_service_and_endpoint_addresses(cluster: Cluster) -> None:
    ans = cluster.resolver.reverse("5.100.18.198.in-addr.arpa", wire.PTR)
    assert [rr.data for rr in ans.answer] == ["web.default.svc.cluster.local"]
    ans = cluster.resolver.reverse("2.1.18.198.in-addr.arpa.", wire.PTR)
    assert [rr.data for rr in ans.answer] == ["db-0.db.apps.svc.cluster.local"]
    # Addresses the cluster does not know are left to the upstreams.
    assert cluster.resolver.reverse("9.9.18.198.in-addr.arpa", wire.PTR) is None
    assert cluster.resolver.reverse("18.198.in-addr.arpa", wire.PTR) is None


def test_in_zone() -> None:
    r = Cluster().resolver
    assert r.in_zone("cluster.local") and r.in_zone("A.Cluster.Local.")
    assert not r.in_zone("notcluster.local") and not r.in_zone("example.com")


def test_address_forms() -> None:
    assert ip_from_dashed("198-18-0-1") == "198.18.0.1"
    assert ip_from_dashed("fd00--1") == "fd00::1"
    assert ip_from_dashed("1-2-3") is None
    assert ip_from_reverse("1.0.18.198.in-addr.arpa") == "198.18.0.1"
    v6 = ".".join(reversed("fd000000000000000000000000000001")) + ".ip6.arpa"
    assert ip_from_reverse(v6) == "fd00::1"


def test_pod_status_churn_keeps_cached_answers() -> None:
    from pyk8s.dns.cluster import _pod_answer_changed

    calls: list[int] = []
    on_update = _pod_answer_changed(lambda: calls.append(1))
    old = pod("apps", "p", "198.18.2.7")
    churned = {**old, "status": {**old["status"], "conditions": [{"type": "Ready"}]}}
    on_update(old, churned)
    assert calls == []
    on_update(old, pod("apps", "p", "198.18.2.8"))
    on_update(old, pod("apps", "p", "198.18.2.7", phase="Failed"))
    assert len(calls) == 2
