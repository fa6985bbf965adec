"""Cluster DNS in a real control plane: objects made through the API, answers read
over UDP and TCP by dnspython; names outside the cluster go to a fake upstream on
127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import dns.flags
import dns.rcode
import dns.rdatatype
import pytest
from dns_helpers import FakeUpstream, addresses, query

from pyk8s.client import Client, Indexer
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig
from pyk8s.dns import cluster_dns_ip, ensure_kube_dns
from pyk8s.dns.forward import Forwarder
from pyk8s.dns.records import Resolver
from pyk8s.dns.server import DnsServer

SERVICE_CIDR = "198.19.0.0/16"
NS = "dnstest"
ZONE = "cluster.local"
SERVICES = Client.resource("v1", "services")
PODS = Client.resource("v1", "pods")
SLICES = Client.resource("discovery.k8s.io/v1", "endpointslices")
NAMESPACES = Client.resource("v1", "namespaces")
UPSTREAM_RECORDS = {
    "external.example.test": ["198.18.50.1"],
    "db.example.test": ["198.18.50.2"],
    # Over UDP only a truncated answer; over TCP 30 addresses (~500 bytes).
    "big.example.test": [f"198.18.51.{i}" for i in range(1, 31)],
}


@dataclass
class Plane:
    cp: ControlPlane
    client: Client
    upstream: FakeUpstream

    @property
    def port(self) -> int:
        return self.cp.dns_port


@pytest.fixture
async def plane(tmp_path) -> AsyncIterator[Plane]:
    upstream = await FakeUpstream(UPSTREAM_RECORDS, frozenset({"big.example.test"})).start()
    cp = ControlPlane(
        ControlPlaneConfig(
            data_dir=tmp_path,
            port=0,
            durable=False,
            controllers=["endpointslice"],
            scheduler=False,
            service_cidr=SERVICE_CIDR,
            dns_address="127.0.0.1",
            dns_port=0,
            dns_upstreams=[f"127.0.0.1:{upstream.port}"],
        )
    )
    client = None
    try:
        await cp.start()
        client = cp.new_client("dns-test")
        await client.create(NAMESPACES, {"metadata": {"name": NS}})
        yield Plane(cp, client, upstream)
    finally:
        if client is not None:
            await client.close()
        await cp.stop()
        await upstream.stop()


async def make_service(client: Client, name: str, **spec) -> dict:
    body = {"metadata": {"name": name, "namespace": NS}, "spec": spec}
    return await client.create(SERVICES, body)


async def make_ready_pod(client: Client, name: str, ip: str, labels: dict, **spec) -> None:
    body = {
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 5432}]}],
            "nodeName": "n1",
            **spec,
        },
    }
    pod = await client.create(PODS, body)
    pod["status"] = {
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    await client.update_status(PODS, pod)


async def eventually(check, timeout: float = 10.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout}s: last {value!r}")
        await asyncio.sleep(0.02)


def fqdn(name: str) -> str:
    return f"{name}.{NS}.svc.{ZONE}"


async def test_service_and_headless_names_over_udp_and_tcp(plane: Plane) -> None:
    ports = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    web = await make_service(plane.client, "web", ports=ports)
    ip = web["spec"]["clusterIP"]
    for tcp in (False, True):
        resp = await eventually(lambda tcp=tcp: query(plane.port, fqdn("web"), tcp=tcp))
        assert resp.rcode() == dns.rcode.NOERROR and resp.flags & dns.flags.AA
        assert addresses(resp) == [ip]
        assert resp.answer[0].ttl == 5
    srv = await query(plane.port, f"_http._tcp.{fqdn('web')}", "SRV")
    assert [(rd.port, str(rd.target)) for rd in srv.answer[0]] == [(80, fqdn("web") + ".")]
    nodata = await query(plane.port, fqdn("web"), "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA

    pg = [{"name": "pg", "port": 5432, "protocol": "TCP"}]
    await make_service(plane.client, "db", clusterIP="None", selector={"app": "db"}, ports=pg)
    labels = {"app": "db"}
    await make_ready_pod(
        plane.client, "db-0", "198.18.5.2", labels, hostname="db-0", subdomain="db"
    )
    await make_ready_pod(plane.client, "db-1", "198.18.5.3", labels)

    async def both() -> list[str]:
        got = addresses(await query(plane.port, fqdn("db"), tcp=True))
        return got if got == ["198.18.5.2", "198.18.5.3"] else []

    await eventually(both)
    assert addresses(await query(plane.port, f"db-0.{fqdn('db')}")) == ["198.18.5.2"]
    srv = await query(plane.port, f"_pg._tcp.{fqdn('db')}", "SRV")
    targets = sorted((rd.port, str(rd.target)) for rd in srv.answer[0])
    assert targets == [(5432, f"198-18-5-3.{fqdn('db')}."), (5432, f"db-0.{fqdn('db')}.")]
    pod = await query(plane.port, f"198-18-5-3.{NS}.pod.{ZONE}")
    assert addresses(pod) == ["198.18.5.3"]


async def test_a_new_endpoint_is_answered_as_soon_as_its_slice_exists(plane: Plane) -> None:
    await make_service(plane.client, "hl", clusterIP="None")
    first = {
        "metadata": {
            "name": "hl-manual",
            "namespace": NS,
            "labels": {"kubernetes.io/service-name": "hl"},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["198.18.6.1"], "conditions": {"ready": True}}],
    }
    sl = await plane.client.create(SLICES, first)
    await eventually(lambda: _has(plane.port, fqdn("hl"), "198.18.6.1"))
    sl["endpoints"].append({"addresses": ["198.18.6.2"], "conditions": {"ready": True}})
    await plane.client.update(SLICES, sl)
    written = time.monotonic()
    await eventually(lambda: _has(plane.port, fqdn("hl"), "198.18.6.2"), timeout=5)
    # The informer delivers in-process watch events at once; this is a log, not a gate.
    print(f"new endpoint answered {time.monotonic() - written:.3f}s after the update")


async def _has(port: int, name: str, ip: str) -> bool:
    return ip in addresses(await query(port, name))


async def test_unknown_cluster_names_are_nxdomain(plane: Plane) -> None:
    for name in (fqdn("nothing"), f"web.nons.svc.{ZONE}", f"x.y.{ZONE}"):
        resp = await query(plane.port, name)
        assert resp.rcode() == dns.rcode.NXDOMAIN, name
        assert resp.authority and resp.authority[0].rdtype == dns.rdatatype.SOA


async def test_external_names_are_forwarded_and_relayed(plane: Plane) -> None:
    resp = await query(plane.port, "external.example.test")
    assert addresses(resp) == ["198.18.50.1"]
    assert ("udp", "external.example.test") in plane.upstream.seen
    missing = await query(plane.port, "missing.example.test", tcp=True)
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert ("tcp", "missing.example.test") in plane.upstream.seen


async def test_truncated_upstream_answers_are_fetched_over_tcp(plane: Plane) -> None:
    resp = await query(plane.port, "big.example.test")  # the client asks over UDP
    assert not resp.flags & dns.flags.TC
    assert addresses(resp) == sorted(UPSTREAM_RECORDS["big.example.test"])
    assert ("tcp", "big.example.test") in plane.upstream.seen
    # Too big for a client without EDNS: the truncated answer tells it to use TCP.
    small = await query(plane.port, "big.example.test", payload=512)
    assert small.flags & dns.flags.TC


async def test_external_name_service_is_a_cname_followed_upstream(plane: Plane) -> None:
    await make_service(plane.client, "ext", type="ExternalName", externalName="db.example.test")
    resp = await eventually(lambda: _answered(plane.port, fqdn("ext")))
    cname, a = resp.answer
    assert cname.rdtype == dns.rdatatype.CNAME and str(cname[0].target) == "db.example.test."
    assert a.rdtype == dns.rdatatype.A and [rd.address for rd in a] == ["198.18.50.2"]


async def _answered(port: int, name: str):  # noqa: ANN202
    resp = await query(port, name)
    return resp if resp.answer else None


async def test_kube_dns_service_and_endpoints(plane: Plane) -> None:
    svc = await plane.client.get(SERVICES, "kube-dns", "kube-system")
    assert svc["spec"]["clusterIP"] == cluster_dns_ip(SERVICE_CIDR) == "198.19.0.10"
    assert svc["metadata"]["labels"]["k8s-app"] == "kube-dns"
    assert not svc["spec"].get("selector")
    ports = {(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]}
    assert ports == {("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")}
    sl = await plane.client.get(SLICES, "kube-dns-pyk8s", "kube-system")
    assert sl["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert sl["endpoints"][0]["addresses"] == ["127.0.0.1"]
    assert {(p["name"], p["port"], p["protocol"]) for p in sl["ports"]} == {
        ("dns", plane.port, "UDP"),
        ("dns-tcp", plane.port, "TCP"),
    }
    # The DNS server answers its own Service's name, and the apex's NS points at it.
    kube_dns = await query(plane.port, f"kube-dns.kube-system.svc.{ZONE}")
    assert addresses(kube_dns) == ["198.19.0.10"]


async def test_kube_dns_is_repaired(plane: Plane) -> None:
    sl = await plane.client.get(SLICES, "kube-dns-pyk8s", "kube-system")
    sl["endpoints"] = [{"addresses": ["198.18.9.9"], "conditions": {"ready": False}}]
    await plane.client.update(SLICES, sl)
    await plane.client.delete(SERVICES, "kube-dns", "kube-system")
    await ensure_kube_dns(
        plane.client, cluster_ip="198.19.0.10", address="127.0.0.1", port=plane.port
    )
    sl = await plane.client.get(SLICES, "kube-dns-pyk8s", "kube-system")
    assert sl["endpoints"] == [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]
    svc = await plane.client.get(SERVICES, "kube-dns", "kube-system")
    assert svc["spec"]["clusterIP"] == "198.19.0.10"
    # Another ClusterIP cannot be updated in place: the Service is recreated.
    await ensure_kube_dns(
        plane.client, cluster_ip="198.19.0.11", address="127.0.0.1", port=plane.port
    )
    again = await plane.client.get(SERVICES, "kube-dns", "kube-system")
    assert again["spec"]["clusterIP"] == "198.19.0.11"
    assert again["metadata"]["uid"] != svc["metadata"]["uid"]


async def test_unreachable_upstreams_give_servfail(tmp_path) -> None:
    # A bound but silent UDP socket: queries to it time out.
    loop = asyncio.get_running_loop()
    silent, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    port = silent.get_extra_info("sockname")[1]
    resolver = Resolver(ZONE, Indexer(), Indexer())
    server = DnsServer(resolver, Forwarder([("127.0.0.1", port)], timeout=0.3))
    await server.start("127.0.0.1", 0)
    try:
        resp = await query(server.port, "external.example.test")
        assert resp.rcode() == dns.rcode.SERVFAIL
    finally:
        await server.stop()
        silent.close()
