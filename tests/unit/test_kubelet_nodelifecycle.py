"""Node lifecycle decisions (taints from conditions, tolerations, Unknown
conditions) and the agent's join token."""

from __future__ import annotations

import pytest

from pyk8s.cli.agent import JoinError, make_join_token, parse_join_token, trusted_ca
from pyk8s.controllers.nodelifecycle_taints import (
    eviction_delay,
    mark_unknown,
    reconcile_taints,
    tolerates,
)

NOW = "2025-01-01T00:00:00Z"


def _node(ready: str, taints: list | None = None, unschedulable: bool = False) -> dict:
    return {
        "metadata": {"name": "w1", "creationTimestamp": NOW},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"conditions": [{"type": "Ready", "status": ready}]},
    }


def test_unknown_node_gets_unreachable_taints_and_keeps_others() -> None:
    cp = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    taints = reconcile_taints(_node("Unknown", [cp]), NOW)
    assert taints == [
        cp,
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": NOW},
        {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": NOW},
    ]
    assert reconcile_taints(_node("Unknown", taints), "later") is None  # stable


def test_not_ready_and_cordon_taints_and_their_removal() -> None:
    taints = reconcile_taints(_node("False", unschedulable=True), NOW)
    keys = [(t["key"], t["effect"]) for t in taints or []]
    assert keys == [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/not-ready", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ]
    assert reconcile_taints(_node("True", taints), NOW) == []


def test_tolerations() -> None:
    taint = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
    assert tolerates({"operator": "Exists"}, taint)
    assert tolerates({"key": taint["key"], "operator": "Exists", "effect": "NoExecute"}, taint)
    assert not tolerates({"key": taint["key"], "operator": "Exists", "effect": "NoSchedule"}, taint)
    assert not tolerates({"key": "other", "operator": "Exists"}, taint)
    assert tolerates({"key": "k", "value": "v"}, {"key": "k", "value": "v", "effect": "NoExecute"})


def test_eviction_delay_from_tolerations() -> None:
    taints = [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]
    default = {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    }
    assert eviction_delay({"spec": {"tolerations": [default]}}, taints) == 300
    assert eviction_delay({"spec": {}}, taints) == 0  # not tolerated: at once
    daemon = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}
    assert eviction_delay({"spec": {"tolerations": [daemon]}}, taints) is None  # forever


def test_mark_unknown() -> None:
    node = _node("True")
    node["status"]["conditions"][0]["lastHeartbeatTime"] = "hb"
    conditions = mark_unknown(node, NOW)
    assert conditions is not None
    ready = conditions[0]
    assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert ready["lastHeartbeatTime"] == "hb" and ready["lastTransitionTime"] == NOW
    missing = {c["type"]: c for c in conditions[1:]}
    assert missing["MemoryPressure"]["reason"] == "NodeStatusNeverUpdated"
    assert mark_unknown({**node, "status": {"conditions": conditions}}, NOW) is None


def test_join_token_round_trip_and_ca_check(tmp_path) -> None:
    ca = b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    token = make_join_token(ca, "s3cret")
    assert token.startswith("K10") and token.endswith("::server:s3cret")
    parsed = parse_join_token(token)
    assert parsed.secret == "s3cret" and len(parsed.ca_hash) == 64
    good = tmp_path / "ca.crt"
    good.write_bytes(ca)
    assert trusted_ca("https://127.0.0.1:1", parsed, good) == ca
    bad = tmp_path / "other.crt"
    bad.write_bytes(ca + b"x")
    with pytest.raises(JoinError, match="does not match"):
        trusted_ca("https://127.0.0.1:1", parsed, bad)
    assert parse_join_token("plain").ca_hash == ""
    with pytest.raises(JoinError):
        trusted_ca("https://127.0.0.1:1", parse_join_token("plain"), None)
