"""Service cluster IP and node port allocation (pyk8s.apiserver.services): range
math, the static/dynamic bands, upstream's error texts, transactions across
create/update/delete, and the rebuild a restart does from stored Services."""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import random

import pytest

from pyk8s.apiserver.registry import Context
from pyk8s.apiserver.services import (
    AlreadyAllocated,
    IPNotInRange,
    NodePorts,
    PortNotInRange,
    RangeFull,
    ServiceAllocator,
    ServiceIPs,
    ServiceNetwork,
)
from pyk8s.apiserver.services.ranges import static_band
from pyk8s.machinery.errors import StatusError

CIDR = "198.19.0.0/24"


def rng() -> random.Random:
    return random.Random(1234)


def last_octet(ip: str) -> int:
    return int(ip.rsplit(".", 1)[1])


# -- ranges -------------------------------------------------------------------------


def test_ip_range_excludes_network_and_broadcast():
    ips = ServiceIPs(CIDR, rng())
    assert ips.free() == 254
    assert ips.nth(1) == "198.19.0.1"
    assert ips.nth(10) == "198.19.0.10"
    assert ips.nth(254) == "198.19.0.254"
    with pytest.raises(ValueError):
        ips.nth(255)
    for outside in ("198.19.0.0", "198.19.0.255", "198.19.1.1", "fd00::1", "nonsense"):
        assert not ips.contains(outside)
        with pytest.raises(IPNotInRange) as err:
            ips.allocate(outside)
        assert str(err.value) == (
            f"the provided IP ({outside}) is not in the valid range. "
            "The range of valid IPs is 198.19.0.0/24"
        )


def test_ip_range_normalises_a_host_cidr():
    assert ServiceIPs("198.19.0.77/24").cidr == "198.19.0.0/24"


def test_static_band_sizes_follow_upstream():
    # IPs: min(max(16, cidr size / 16), 256); ports: min(max(16, size / 32), 128).
    assert static_band(256, step=16, cap=256) == 16
    assert static_band(65536, step=16, cap=256) == 256
    assert static_band(16, step=16, cap=256) == 0
    assert static_band(2768, step=32, cap=128) == 86


def test_dynamic_ips_are_random_and_prefer_the_upper_band():
    ips = ServiceIPs(CIDR, rng())
    picked = [ips.allocate_next() for _ in range(60)]
    assert len(set(picked)) == 60
    # The lower band (offsets 0-15: .1-.16) is kept for requested addresses.
    assert all(17 <= last_octet(ip) <= 254 for ip in picked)
    assert picked != sorted(picked, key=last_octet)  # not handed out in order


def test_lower_band_is_used_once_the_upper_band_is_full_then_range_full():
    ips = ServiceIPs("198.19.0.0/27", rng())  # 30 usable, band 16
    got = [ips.allocate_next() for _ in range(30)]
    assert {last_octet(ip) for ip in got[:14]} == set(range(17, 31))
    assert {last_octet(ip) for ip in got[14:]} == set(range(1, 17))
    with pytest.raises(RangeFull) as err:
        ips.allocate_next()
    assert str(err.value) == "range is full"


def test_requested_ip_taken_then_released():
    ips = ServiceIPs(CIDR, rng())
    ips.allocate("198.19.0.20")
    assert ips.has("198.19.0.20")
    with pytest.raises(AlreadyAllocated) as err:
        ips.reserve("198.19.0.20")
    assert str(err.value) == "provided IP is already allocated"
    ips.release("198.19.0.20")
    ips.release("198.19.0.99")  # not taken: ignored
    ips.allocate("198.19.0.20")
    assert ips.used() == 1


def test_node_ports():
    ports = NodePorts(rng=rng())
    assert ports.free() == 2768
    picked = [ports.allocate_next() for _ in range(200)]
    assert len(set(picked)) == 200
    assert all(30086 <= p <= 32767 for p in picked)  # upper band first
    ports.allocate(30080)
    with pytest.raises(AlreadyAllocated) as err:
        ports.allocate(30080)
    assert str(err.value) == "provided port is already allocated"
    with pytest.raises(PortNotInRange) as err2:
        ports.allocate(80)
    assert str(err2.value) == (
        "provided port is not in the valid range. The range of valid ports is 30000-32767"
    )
    ports.release(30080)
    ports.allocate(30080)


# -- the allocator ------------------------------------------------------------------


def allocator(cidr: str = CIDR) -> ServiceAllocator:
    return ServiceAllocator(ServiceNetwork(cidr), rng=rng())


def svc(name: str = "x", ns: str = "default", **spec) -> dict:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("ports", [{"port": 80, "protocol": "TCP", "targetPort": 8080}])
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def create(alloc: ServiceAllocator, obj: dict, dry_run: bool = False) -> dict:
    txn = asyncio.run(alloc.on_create(obj, Context(dry_run=dry_run)))
    txn.commit()
    return obj


def update(alloc: ServiceAllocator, new: dict, old: dict, ok: bool = True) -> dict:
    txn = asyncio.run(alloc.on_update(new, old, Context()))
    txn.commit() if ok else txn.revert()
    return new


def message(call) -> str:
    with pytest.raises(StatusError) as err:
        call()
    return err.value.message


def test_cluster_ip_allocated_in_range_never_the_kubernetes_one():
    alloc = allocator("198.19.0.0/28")  # 14 usable, no static band
    assert alloc.kubernetes_ip == "198.19.0.1"
    got = [create(alloc, svc(f"s{i}"))["spec"]["clusterIP"] for i in range(13)]
    assert len(set(got)) == 13
    assert "198.19.0.1" not in got
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("198.19.0.0/28") for ip in got)
    assert {"198.19.0.0", "198.19.0.15"}.isdisjoint(got)
    obj = svc("s13")
    assert obj["spec"]["ipFamilies"] == ["IPv4"]
    assert message(lambda: create(alloc, obj)) == (
        "Internal error occurred: failed to allocate a serviceIP: range is full"
    )


def test_clusterips_mirror_clusterip():
    obj = create(allocator(), svc())
    assert obj["spec"]["clusterIPs"] == [obj["spec"]["clusterIP"]]


def test_requested_ip_honoured_or_refused_with_upstream_texts():
    alloc = allocator()
    assert create(alloc, svc("a", clusterIP="198.19.0.20"))["spec"]["clusterIPs"] == ["198.19.0.20"]
    taken = svc("b", clusterIP="198.19.0.20", clusterIPs=["198.19.0.20"])
    assert message(lambda: create(alloc, taken)) == (
        'Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"198.19.0.20"}: '
        "failed to allocate IP 198.19.0.20: provided IP is already allocated"
    )
    outside = svc("c", clusterIP="198.19.1.5", clusterIPs=["198.19.1.5"])
    assert message(lambda: create(alloc, outside)) == (
        'Service "c" is invalid: spec.clusterIPs: Invalid value: []string{"198.19.1.5"}: '
        "failed to allocate IP 198.19.1.5: the provided IP (198.19.1.5) is not in the valid "
        "range. The range of valid IPs is 198.19.0.0/24"
    )
    # The `kubernetes` address is for default/kubernetes only.
    assert "already allocated" in message(lambda: create(alloc, svc("d", clusterIP="198.19.0.1")))
    k8s = create(alloc, svc("kubernetes", clusterIP="198.19.0.1"))
    assert k8s["spec"]["clusterIP"] == "198.19.0.1"


def test_headless_and_external_name_get_no_ip():
    alloc = allocator()
    headless = create(alloc, svc("h", clusterIP="None", clusterIPs=["None"]))
    assert headless["spec"]["clusterIPs"] == ["None"]
    ext = svc("e", type="ExternalName", externalName="example.test", ports=[])
    del ext["spec"]["ipFamilies"], ext["spec"]["ipFamilyPolicy"]
    assert "clusterIP" not in create(alloc, ext)["spec"]
    assert alloc.ips.used() == 1  # the kubernetes address only


def test_dual_stack_and_ipv6_are_refused_on_this_single_stack_cluster():
    alloc = allocator()
    msg = message(lambda: create(alloc, svc(ipFamilyPolicy="RequireDualStack")))
    assert (
        'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services'
        in msg
    )
    msg6 = message(lambda: create(alloc, svc(clusterIP="fd00::5", clusterIPs=["fd00::5"])))
    assert (
        'spec.clusterIPs[0]: Invalid value: []string{"fd00::5"}: IPv6 is not configured on this cluster'
        in msg6
    )


def test_dry_run_takes_nothing():
    alloc = allocator()
    used = alloc.ips.used()
    dry = create(alloc, svc(type="NodePort"), dry_run=True)
    # As upstream's dry runs: the network address and placeholder node ports.
    assert dry["spec"]["clusterIP"] == "198.19.0.0"
    assert dry["spec"]["ports"][0]["nodePort"] == 32769
    assert alloc.ips.used() == used and alloc.ports.free() == 2768
    # A requested address is only checked against the range.
    create(alloc, svc("a", clusterIP="198.19.0.30"))
    assert create(alloc, svc("b", clusterIP="198.19.0.30"), dry_run=True)
    assert "not in the valid range" in message(
        lambda: create(alloc, svc("c", clusterIP="198.19.5.5"), dry_run=True)
    )


def test_revert_gives_everything_back():
    alloc = allocator()
    obj = svc(type="NodePort", clusterIP="198.19.0.40")
    txn = asyncio.run(alloc.on_create(obj, Context()))
    port = obj["spec"]["ports"][0]["nodePort"]
    assert alloc.ips.has("198.19.0.40") and alloc.ports.has(port)
    txn.revert()
    assert not alloc.ips.has("198.19.0.40") and not alloc.ports.has(port)


def test_node_ports_allocated_requested_and_refused():
    alloc = allocator()
    two = svc(
        type="NodePort",
        ports=[
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            {"name": "web", "port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30080},
        ],
    )
    ports = create(alloc, two)["spec"]["ports"]
    assert ports[0]["nodePort"] == ports[1]["nodePort"]  # same port number: one node port
    assert 30000 <= ports[0]["nodePort"] <= 32767
    assert ports[2]["nodePort"] == 30080
    clash = svc(
        "y",
        type="NodePort",
        ports=[{"port": 81, "protocol": "TCP", "targetPort": 80, "nodePort": 30080}],
    )
    assert message(lambda: create(alloc, clash)) == (
        'Service "y" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
        "provided port is already allocated"
    )
    # The failed create gave its cluster IP back.
    assert alloc.ips.used() == 2


def test_load_balancer_node_ports_and_health_check_port():
    alloc = allocator()
    lb = create(alloc, svc(type="LoadBalancer", externalTrafficPolicy="Local"))
    assert lb["spec"]["ports"][0]["nodePort"]
    hc = lb["spec"]["healthCheckNodePort"]
    assert alloc.ports.has(hc)
    bare = create(alloc, svc("b", type="LoadBalancer", allocateLoadBalancerNodePorts=False))
    assert "nodePort" not in bare["spec"]["ports"][0]
    asyncio.run(alloc.on_delete(lb))
    assert not alloc.ports.has(hc)
    assert not alloc.ports.has(lb["spec"]["ports"][0]["nodePort"])


def test_type_changes_allocate_and_release_as_upstream():
    alloc = allocator()
    old = create(alloc, svc(type="NodePort"))
    ip, port = old["spec"]["clusterIP"], old["spec"]["ports"][0]["nodePort"]
    # NodePort -> ClusterIP: the node port goes back, only once the write is stored.
    to_cip = copy.deepcopy(old)
    to_cip["spec"]["type"] = "ClusterIP"
    del to_cip["spec"]["ports"][0]["nodePort"]
    update(alloc, copy.deepcopy(to_cip), old, ok=False)
    assert alloc.ports.has(port)
    update(alloc, to_cip, old)
    assert not alloc.ports.has(port)
    # ClusterIP -> ExternalName: the cluster IP goes back.
    ext = copy.deepcopy(to_cip)
    ext["spec"] = {"type": "ExternalName", "externalName": "example.test"}
    update(alloc, ext, to_cip)
    assert not alloc.ips.has(ip)
    # ExternalName -> ClusterIP: a new cluster IP.
    back = svc()
    update(alloc, back, ext)
    assert alloc.ips.has(back["spec"]["clusterIP"])
    # ClusterIP -> NodePort with a second port: node ports for both.
    np = copy.deepcopy(back)
    np["spec"]["type"] = "NodePort"
    np["spec"]["ports"].append({"name": "b", "port": 81, "protocol": "TCP", "targetPort": 81})
    np["spec"]["ports"][0]["name"] = "a"
    update(alloc, np, back)
    got = [p["nodePort"] for p in np["spec"]["ports"]]
    assert all(alloc.ports.has(p) for p in got)
    # Dropping a port gives its node port back.
    fewer = copy.deepcopy(np)
    fewer["spec"]["ports"].pop()
    update(alloc, fewer, np)
    assert alloc.ports.has(got[0]) and not alloc.ports.has(got[1])


def test_health_check_port_follows_the_traffic_policy():
    alloc = allocator()
    old = create(alloc, svc(type="LoadBalancer", externalTrafficPolicy="Cluster"))
    local = copy.deepcopy(old)
    local["spec"]["externalTrafficPolicy"] = "Local"
    update(alloc, local, old)
    hc = local["spec"]["healthCheckNodePort"]
    assert alloc.ports.has(hc)
    cluster = copy.deepcopy(local)
    cluster["spec"]["externalTrafficPolicy"] = "Cluster"
    update(alloc, cluster, local)
    assert not alloc.ports.has(hc)


def test_update_that_loses_its_race_takes_nothing():
    alloc = allocator()
    old = create(alloc, svc())
    new = copy.deepcopy(old)
    new["spec"]["type"] = "NodePort"
    txn = asyncio.run(alloc.on_update(new, old, Context()))
    port = new["spec"]["ports"][0]["nodePort"]
    txn.revert()
    assert not alloc.ports.has(port)


def test_delete_releases_so_the_same_ip_can_be_requested_again():
    alloc = allocator()
    obj = create(alloc, svc(clusterIP="198.19.0.50", type="NodePort"))
    asyncio.run(alloc.on_delete(obj))
    again = create(
        alloc,
        svc(
            "again",
            clusterIP="198.19.0.50",
            type="NodePort",
            ports=[
                {
                    "port": 80,
                    "protocol": "TCP",
                    "targetPort": 80,
                    "nodePort": obj["spec"]["ports"][0]["nodePort"],
                }
            ],
        ),
    )
    assert again["spec"]["clusterIP"] == "198.19.0.50"


def test_rebuild_from_stored_services_never_double_allocates():
    first = allocator()
    stored = [
        create(first, svc("kubernetes", clusterIP="198.19.0.1")),
        create(first, svc("a")),
        create(first, svc("b", type="NodePort")),
        create(first, svc("c", type="LoadBalancer", externalTrafficPolicy="Local")),
        create(first, svc("h", clusterIP="None", clusterIPs=["None"])),
    ]
    after = allocator()
    after.rebuild(stored)
    assert after.ips.used() == first.ips.used() == 4
    assert after.ports.free() == first.ports.free()
    for obj in stored[1:4]:
        ip = obj["spec"]["clusterIP"]
        assert "already allocated" in message(lambda ip=ip: create(after, svc("n", clusterIP=ip)))
    for _ in range(50):
        assert create(after, svc("m"))["spec"]["clusterIP"] not in {
            o["spec"]["clusterIP"] for o in stored
        }


def test_only_ipv4_service_ranges():
    with pytest.raises(ValueError):
        ServiceAllocator(ServiceNetwork("fd00::/112"))
