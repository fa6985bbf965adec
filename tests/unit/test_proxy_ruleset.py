"""The proxy's restore text: only changed chains, deletions, jumps, cleanup by prefix;
and the memo that lets a sync reuse unchanged services' rules."""

from __future__ import annotations

import copy

from pyk8s.proxy import ProxyConfig, build_ruleset
from pyk8s.proxy.memo import Memo
from pyk8s.proxy.rules import jumps
from pyk8s.proxy.ruleset import (
    Ruleset,
    cleanup_text,
    drifted,
    has_jump,
    own_chains,
    parse_save,
    restore_text,
)

CFG = ProxyConfig("PR1", {"n1": "198.18.225.1"}, "198.18.224.0/24")


def objects(n: int, version: str = "1") -> tuple[list[dict], list[dict]]:
    services, slices = [], []
    for i in range(n):
        md = {"namespace": "default", "name": f"s{i}", "resourceVersion": version, "uid": f"u{i}"}
        services.append({"metadata": md, "spec": {"clusterIP": f"198.19.0.{i + 1}",
                                                   "ports": [{"port": 80}]}})  # fmt: skip
        slices.append({
            "metadata": {"namespace": "default", "name": f"s{i}-x", "uid": f"e{i}",
                         "resourceVersion": version,
                         "labels": {"kubernetes.io/service-name": f"s{i}"}},
            "addressType": "IPv4",
            "ports": [{"port": 8080}],
            "endpoints": [{"addresses": [f"198.18.224.{10 + i}"]}],
        })  # fmt: skip
    return services, slices


def test_full_text_declares_every_chain() -> None:
    rs = build_ruleset(*objects(2), CFG)
    text = restore_text(rs, None)
    for table in ("filter", "nat"):
        for chain in rs.chains(table):
            assert f":{chain} - [0:0]" in text
    assert text.count("COMMIT") == 2


def test_diff_names_only_changed_chains_and_deletes_unused_ones() -> None:
    services, slices = objects(3)
    old = build_ruleset(services, slices, CFG)
    changed = copy.deepcopy(slices)
    changed[1]["endpoints"][0]["addresses"] = ["198.18.224.99"]
    new = build_ruleset(services, changed, CFG)
    text = restore_text(new, old)
    declared = [line[1:].split()[0] for line in text.splitlines() if line.startswith(":")]
    gone = set(old.chains("nat")) - set(new.chains("nat"))
    added = set(new.chains("nat")) - set(old.chains("nat"))
    assert len(gone) == 1 and len(added) == 1  # the old and new endpoint's SEP chains
    svc_chain = {
        c
        for c, rules in new.tables["nat"].items()
        if "-SVC-" in c and any("198.18.224.99" in r for r in rules)
    }
    assert len(svc_chain) == 1
    assert set(declared) == gone | added | svc_chain
    assert f"-X {gone.pop()}" in text
    assert "*filter" not in text  # nothing changed there
    assert restore_text(new, new) == ""


def test_jumps_are_inserted_at_the_top_with_the_proxy_comment() -> None:
    rs = Ruleset()
    text = restore_text(rs, rs, insert_jumps=jumps(CFG), comment=CFG.comment)
    assert '-I PREROUTING 1 -m comment --comment "pyk8s proxy PR1" -j PR1-SERVICES' in text
    assert (
        '-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "pyk8s proxy PR1" '
        "-j PR1-EXT-SERVICES" in text
    )


SAVED = """\
*filter
:INPUT ACCEPT [0:0]
:PR1-SERVICES - [0:0]
:PR12-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "pyk8s proxy PR1" -j PR1-SERVICES
-A INPUT -m conntrack --ctstate NEW -m comment --comment "pyk8s proxy PR12" -j PR12-SERVICES
-A INPUT -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:PR1-SERVICES - [0:0]
:PR1-SVC-ABC - [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "pyk8s proxy PR1" -j PR1-SERVICES
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PR1-SERVICES -d 198.19.0.1/32 -j PR1-SVC-ABC
COMMIT
*mangle
:PR1-ODD - [0:0]
COMMIT
"""


def test_cleanup_names_only_its_own_chains_and_jumps() -> None:
    saved = parse_save(SAVED)
    text = cleanup_text(saved, "PR1", "pyk8s proxy PR1")
    assert "PR12" not in text and "KUBE-" not in text and "ODD" not in text
    assert '-D INPUT -m conntrack --ctstate NEW -m comment --comment "pyk8s proxy PR1"' in text
    assert "-D PREROUTING" in text and "-X PR1-SVC-ABC" in text and "-X PR1-SERVICES" in text
    for block in text.split("*")[1:]:
        kinds = [
            line.split(" ")[0] if line.startswith("-") else ":" for line in block.splitlines()[1:-1]
        ]  # between *table and COMMIT
        # Chains are flushed first, then the jumps go, then the chains.
        assert kinds == sorted(kinds, key=[":", "-D", "-X"].index)
    assert cleanup_text(parse_save("*nat\nCOMMIT\n"), "PR1", "pyk8s proxy PR1") == ""


def test_own_chains_and_jump_presence() -> None:
    saved = parse_save(SAVED)
    assert own_chains(saved, "PR1") == {
        "filter": {"PR1-SERVICES"},
        "nat": {"PR1-SERVICES", "PR1-SVC-ABC"},
    }
    by_target = {(j.table, j.chain, j.target): j for j in jumps(CFG)}
    assert has_jump(saved, by_target[("nat", "PREROUTING", "PR1-SERVICES")], CFG.comment)
    assert not has_jump(saved, by_target[("nat", "OUTPUT", "PR1-SERVICES")], CFG.comment)


def test_drift_is_a_difference_in_chains_or_rule_counts() -> None:
    applied = Ruleset()
    applied.add("nat", "PR1-SERVICES", "-d 198.19.0.1/32 -j PR1-SVC-ABC")
    applied.chain("nat", "PR1-SVC-ABC")
    applied.chain("filter", "PR1-SERVICES")
    assert not drifted(parse_save(SAVED), applied, "PR1")
    applied.add("nat", "PR1-SVC-ABC", "-j RETURN")
    assert drifted(parse_save(SAVED), applied, "PR1")


def test_a_memo_gives_the_same_rules_and_follows_versions() -> None:
    services, slices = objects(5)
    memo = Memo()
    assert (
        build_ruleset(services, slices, CFG, memo).render()
        == build_ruleset(services, slices, CFG).render()
    )
    again = build_ruleset(services, slices, CFG, memo)
    assert again.render() == build_ruleset(services, slices, CFG).render()
    changed = copy.deepcopy(slices)
    changed[2]["endpoints"][0]["addresses"] = ["198.18.224.99"]
    changed[2]["metadata"]["resourceVersion"] = "2"
    text = build_ruleset(services, changed, CFG, memo).render()
    assert "198.18.224.99:8080" in text and "198.18.224.12:8080" not in text
    # A deleted service's rules are gone from the memo's output too.
    assert "198.19.0.1/32" not in build_ruleset(services[1:], changed[1:], CFG, memo).render()
