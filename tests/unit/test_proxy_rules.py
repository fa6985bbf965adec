"""build_rules / build_ruleset: Services and EndpointSlices -> the proxy's iptables rules."""

from __future__ import annotations

import re

import pytest

from pyk8s.proxy import ProxyConfig, build_rules, build_ruleset
from pyk8s.proxy.rules import MAX_CHAIN

PREFIX = "PT0A1B2"
CIDR = "198.18.224.0/24"
NODES = {"n1": "198.18.225.1", "n2": "198.18.225.2"}
CFG = ProxyConfig(PREFIX, NODES, CIDR)
IP = "198.19.224.10"
EPS = ("198.18.224.11", "198.18.224.12", "198.18.224.13")


def svc(name: str = "web", *, ports=None, **spec) -> dict:
    spec.setdefault("clusterIP", IP)
    spec["ports"] = ports or [{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}]
    status = spec.pop("status", {})
    return {"metadata": {"namespace": "default", "name": name}, "spec": spec, "status": status}


def ep(ip: str, ready=True, node="n1", **cond) -> dict:
    return {"addresses": [ip], "conditions": {"ready": ready, **cond}, "nodeName": node}


def eslice(endpoints, name: str = "web", ports=None, slice_name: str = "") -> dict:
    return {
        "metadata": {
            "namespace": "default",
            "name": slice_name or f"{name}-x",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "ports": ports or [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints,
    }


def nat(rs, chain_kind: str) -> dict[str, list[str]]:
    """The nat chains whose names start with PREFIX-<chain_kind>."""
    head = f"{PREFIX}-{chain_kind}"
    return {n: r for n, r in rs.tables["nat"].items() if n.startswith(head)}


def only(chains: dict[str, list[str]]) -> list[str]:
    assert len(chains) == 1, list(chains)
    return next(iter(chains.values()))


def rules_matching(rs, table: str, chain: str, needle: str) -> list[str]:
    return [r for r in rs.tables[table][f"{PREFIX}-{chain}"] if needle in r]


def dnat_targets(rs) -> set[str]:
    found = set()
    for rules in nat(rs, "SEP").values():
        for r in rules:
            if m := re.search(r"--to-destination (\S+)", r):
                found.add(m.group(1))
    return found


def test_cluster_ip_balances_over_three_ready_endpoints() -> None:
    rs = build_ruleset([svc()], [eslice([ep(ip) for ip in EPS])], CFG)
    capture = rules_matching(rs, "nat", "SERVICES", f"-d {IP}/32")
    assert len(capture) == 1 and "--dport 80" in capture[0] and "-p tcp" in capture[0]
    svc_rules = only(nat(rs, "SVC"))
    balancing = [r for r in svc_rules if "-j " + PREFIX + "-SEP" in r]
    probs = [re.search(r"--probability (\S+)", r) for r in balancing]
    assert [p.group(1) if p else None for p in probs] == ["0.3333333333", "0.5000000000", None]
    assert dnat_targets(rs) == {f"{ip}:8080" for ip in EPS}


def test_traffic_from_outside_the_pod_range_to_a_cluster_ip_is_masqueraded() -> None:
    rs = build_ruleset([svc()], [eslice([ep(EPS[0])])], CFG)
    first = only(nat(rs, "SVC"))[0]
    assert f"-d {IP}/32" in first and f"! -s {CIDR}" in first
    assert first.endswith(f"-j {PREFIX}-MARK-MASQ")
    masq = rs.tables["nat"][f"{PREFIX}-POSTROUTING"]
    assert any("! --mark 0x4000/0x4000 -j RETURN" in r for r in masq)
    assert any("--xor-mark 0x4000" in r for r in masq)
    assert masq[-1].split(" -j ")[-1].startswith("MASQUERADE")


def test_not_ready_endpoints_are_left_out() -> None:
    rs = build_ruleset([svc()], [eslice([ep(EPS[0]), ep(EPS[1], ready=False)])], CFG)
    assert dnat_targets(rs) == {f"{EPS[0]}:8080"}
    assert not any("--probability" in r for r in only(nat(rs, "SVC")))


def test_serving_terminating_endpoints_are_the_fallback_when_none_is_ready() -> None:
    endpoints = [
        ep(EPS[0], ready=False, serving=True, terminating=True),
        ep(EPS[1], ready=False, serving=False, terminating=True),
    ]
    rs = build_ruleset([svc()], [eslice(endpoints)], CFG)
    assert dnat_targets(rs) == {f"{EPS[0]}:8080"}


def test_no_endpoints_rejects_in_the_filter_table() -> None:
    for slices in ([], [eslice([ep(EPS[0], ready=False)])]):
        rs = build_ruleset([svc()], slices, CFG)
        assert not rules_matching(rs, "nat", "SERVICES", IP)
        assert nat(rs, "SVC") == {} and nat(rs, "SEP") == {}
        (reject,) = rules_matching(rs, "filter", "SERVICES", IP)
        assert '"default/web:http has no endpoints"' in reject
        assert reject.endswith("-j REJECT --reject-with icmp-port-unreachable")


def node_port_svc(**spec) -> dict:
    ports = [{"name": "http", "port": 80, "targetPort": "web", "nodePort": 30080}]
    return svc(type="NodePort", ports=ports, **spec)


def test_node_port_answers_on_every_node_ip() -> None:
    rs = build_ruleset([node_port_svc()], [eslice([ep(ip) for ip in EPS])], CFG)
    to_nodeports = rules_matching(rs, "nat", "SERVICES", f"-j {PREFIX}-NODEPORTS")
    assert [re.search(r"-d (\S+)", r).group(1) for r in to_nodeports] == [
        "198.18.225.1/32",
        "198.18.225.2/32",
    ]
    assert rs.tables["nat"][f"{PREFIX}-SERVICES"][-2:] == to_nodeports  # last in the chain
    (capture,) = rs.tables["nat"][f"{PREFIX}-NODEPORTS"]
    assert "--dport 30080" in capture
    ext_name = capture.split(" -j ")[-1]
    ext = rs.tables["nat"][ext_name]
    assert ext[0].endswith(f"-j {PREFIX}-MARK-MASQ")  # cluster policy: always masquerade
    assert ext[1] == f"-A {ext_name} -j {next(iter(nat(rs, 'SVC')))}"


def test_external_traffic_policy_local_uses_each_nodes_own_endpoints() -> None:
    endpoints = [ep(EPS[0], node="n1"), ep(EPS[1], node="n1"), ep(EPS[2], node="n3")]
    rs = build_ruleset([node_port_svc(externalTrafficPolicy="Local")], [eslice(endpoints)], CFG)
    n1, n2 = rules_matching(rs, "nat", "NODEPORTS", "--dport 30080")
    assert "-d 198.18.225.1/32" in n1 and "-d 198.18.225.2/32" in n2
    ext1 = rs.tables["nat"][n1.split(" -j ")[-1]]
    assert any(f"-s {CIDR} -j {PREFIX}-SVC-" in r for r in ext1)  # pods short-circuit
    assert any("--src-type LOCAL -j " + PREFIX + "-MARK-MASQ" in r for r in ext1)
    svl = rs.tables["nat"][ext1[-1].split(" -j ")[-1]]
    assert f"{PREFIX}-SVL-" in ext1[-1]
    svl_targets = {rs.tables["nat"][r.split(" -j ")[-1]][-1].split()[-1] for r in svl}
    assert svl_targets == {f"{EPS[0]}:8080", f"{EPS[1]}:8080"}
    # n2 has no endpoint of its own: its EXT chain ends without SVL, filter drops the rest.
    ext2 = rs.tables["nat"][n2.split(" -j ")[-1]]
    assert not any("-SVL-" in r for r in ext2)
    (drop,) = rules_matching(rs, "filter", "EXT-SERVICES", "30080")
    assert "-d 198.18.225.2/32" in drop and drop.endswith("-j DROP")
    assert "has no local endpoints" in drop
    # Under the Local policy only the host's own traffic is masqueraded (source IPs are kept).
    assert all("--src-type LOCAL" in r for r in ext1 if r.endswith("-MARK-MASQ"))


def test_session_affinity_client_ip() -> None:
    spec = {
        "sessionAffinity": "ClientIP",
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
    }
    rs = build_ruleset([svc(**spec)], [eslice([ep(ip) for ip in EPS])], CFG)
    svc_rules = only(nat(rs, "SVC"))
    checks = [r for r in svc_rules if "--rcheck" in r]
    assert len(checks) == 3 and all("--seconds 600 --reap" in r for r in checks)
    # The affinity checks come before the random choice.
    assert svc_rules.index(checks[-1]) < min(
        i for i, r in enumerate(svc_rules) if "--probability" in r
    )
    for name, rules in nat(rs, "SEP").items():
        assert any(f"-m recent --name {name} --set" in r for r in rules)
    default = build_ruleset([svc(sessionAffinity="ClientIP")], [eslice([ep(EPS[0])])], CFG)
    assert any("--seconds 10800" in r for r in only(nat(default, "SVC")))


def test_named_target_port_resolves_through_the_slice_port_of_the_same_name() -> None:
    ports = [
        {"name": "metrics", "port": 9090, "protocol": "TCP"},
        {"name": "http", "port": 8081, "protocol": "TCP"},
    ]
    rs = build_ruleset([svc()], [eslice([ep(EPS[0])], ports=ports)], CFG)
    assert dnat_targets(rs) == {f"{EPS[0]}:8081"}


def test_multiple_ports_get_their_own_chains() -> None:
    ports = [
        {"name": "http", "port": 80, "protocol": "TCP"},
        {"name": "dns", "port": 53, "protocol": "UDP"},
    ]
    slice_ports = [
        {"name": "http", "port": 8080, "protocol": "TCP"},
        {"name": "dns", "port": 5353, "protocol": "UDP"},
    ]
    rs = build_ruleset([svc(ports=ports)], [eslice([ep(EPS[0])], ports=slice_ports)], CFG)
    assert len(nat(rs, "SVC")) == 2
    captures = rules_matching(rs, "nat", "SERVICES", IP)
    assert {re.search(r"-p (\w+)", r).group(1) for r in captures} == {"tcp", "udp"}
    assert dnat_targets(rs) == {f"{EPS[0]}:8080", f"{EPS[0]}:5353"}
    sep_rules = [r for rules in nat(rs, "SEP").values() for r in rules]
    assert any(
        r.endswith(f"-p udp -m udp -j DNAT --to-destination {EPS[0]}:5353") for r in sep_rules
    )


def test_headless_and_external_name_services_get_no_rules() -> None:
    empty = build_rules([], [], CFG)
    headless = svc("h", clusterIP="None")
    external = {"metadata": {"namespace": "default", "name": "x"},
                "spec": {"type": "ExternalName", "externalName": "example.test"}}  # fmt: skip
    slices = [eslice([ep(EPS[0])], name="h"), eslice([ep(EPS[1])], name="x")]
    assert build_rules([headless, external], slices, CFG) == empty


def test_hairpin_traffic_is_masqueraded() -> None:
    rs = build_ruleset([svc()], [eslice([ep(EPS[0])])], CFG)
    sep = only(nat(rs, "SEP"))
    assert sep[0].endswith(f"-s {EPS[0]}/32 -j {PREFIX}-MARK-MASQ")
    assert sep[-1].endswith(f"-j DNAT --to-destination {EPS[0]}:8080")


def test_load_balancer_ingress_and_source_ranges() -> None:
    lb = svc(
        type="LoadBalancer",
        ports=[{"name": "http", "port": 80, "nodePort": 30081}],
        loadBalancerSourceRanges=["198.18.230.0/24"],
        status={"loadBalancer": {"ingress": [{"ip": "198.18.240.5"}]}},
    )
    rs = build_ruleset([lb], [eslice([ep(EPS[0])])], CFG)
    (capture,) = rules_matching(rs, "nat", "SERVICES", "198.18.240.5")
    fw = capture.split(" -j ")[-1]
    assert fw.startswith(f"{PREFIX}-FW-")
    assert any("-s 198.18.230.0/24 -j " + PREFIX + "-EXT-" in r for r in rs.tables["nat"][fw])
    (drop,) = rules_matching(rs, "filter", "FIREWALL", "198.18.240.5")
    assert drop.endswith("-j DROP")
    proxied = svc(type="LoadBalancer", ports=[{"name": "http", "port": 80}],
                  status={"loadBalancer": {"ingress": [{"ip": "198.18.240.6", "ipMode": "Proxy"}]}})  # fmt: skip
    assert not rules_matching(build_ruleset([proxied], [eslice([ep(EPS[0])])], CFG),
                              "nat", "SERVICES", "198.18.240.6")  # fmt: skip


def test_internal_traffic_policy_local() -> None:
    endpoints = [ep(EPS[0], node="n1"), ep(EPS[1], node="elsewhere")]
    rs = build_ruleset([svc(internalTrafficPolicy="Local")], [eslice(endpoints)], CFG)
    (capture,) = rules_matching(rs, "nat", "SERVICES", IP)
    assert f"-j {PREFIX}-SVL-" in capture
    assert dnat_targets(rs) == {f"{EPS[0]}:8080"}
    remote_only = build_ruleset([svc(internalTrafficPolicy="Local")],
                                [eslice([ep(EPS[1], node="elsewhere")])], CFG)  # fmt: skip
    (drop,) = rules_matching(remote_only, "filter", "SERVICES", IP)
    assert drop.endswith("-j DROP")


def test_chain_names_carry_the_prefix_and_fit_iptables() -> None:
    lb = svc(
        "a-very-long-service-name-that-is-still-valid-for-kubernetes-objects",
        type="LoadBalancer",
        externalTrafficPolicy="Local",
        sessionAffinity="ClientIP",
        ports=[{"name": "a-long-port-name", "port": 80, "nodePort": 30081}],
        loadBalancerSourceRanges=["198.18.230.0/24"],
        status={"loadBalancer": {"ingress": [{"ip": "198.18.240.5"}]}},
    )
    slices = [eslice([ep(ip) for ip in EPS], name=lb["metadata"]["name"],
                     ports=[{"name": "a-long-port-name", "port": 80}])]  # fmt: skip
    cfg = ProxyConfig("P1234567", NODES, CIDR)
    text = build_rules([lb], slices, cfg)
    chains = re.findall(r"^:(\S+)", text, re.M)
    assert len(chains) > 10
    assert all(c.startswith("P1234567-") and len(c) <= MAX_CHAIN for c in chains)
    targets = re.findall(r"-j (\S+)", text)
    builtin = {"MARK", "MASQUERADE", "DNAT", "REJECT", "DROP", "ACCEPT", "RETURN"}
    assert all(t in builtin or t in chains for t in targets)
    recent = re.findall(r"--name (\S+)", text)
    assert recent and all(n.startswith("P1234567-") for n in recent)


def test_prefix_is_validated() -> None:
    for bad in ("", "1ABC", "P123456789", "P-1"):
        with pytest.raises(ValueError):
            ProxyConfig(bad)
    with pytest.raises(ValueError):
        ProxyConfig("P1", {"n": "not-an-ip"})


def test_route_localnet_guard_only_for_loopback_node_ips() -> None:
    loop = build_ruleset([], [], ProxyConfig(PREFIX, {"n1": "127.0.0.5"}, CIDR))
    assert any("127.0.0.0/8" in r for r in loop.tables["filter"][f"{PREFIX}-FIREWALL"])
    assert not build_ruleset([], [], CFG).tables["filter"][f"{PREFIX}-FIREWALL"]


def test_output_is_deterministic() -> None:
    slices = [eslice([ep(ip) for ip in reversed(EPS)])]
    assert build_rules([svc(), svc("b")], slices, CFG) == build_rules(
        [svc("b"), svc()], [eslice([ep(ip) for ip in EPS])], CFG
    )
