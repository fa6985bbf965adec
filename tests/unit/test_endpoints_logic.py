"""Endpoints subsets and EndpointSlice planning."""

from __future__ import annotations

from pyk8s.controllers import endpoints as ep
from pyk8s.controllers import endpointslice as es


def _svc(**spec) -> dict:
    return {
        "metadata": {"name": "web", "namespace": "ns", "uid": "s1", "labels": {"l": "v"}},
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}],
            **spec,
        },
    }


def _pod(
    name: str,
    ip: str = "",
    ready: bool = True,
    port_name: str = "web",
    deleting: bool = False,
    phase: str = "Running",
) -> dict:
    md = {"name": name, "namespace": "ns", "uid": f"u-{name}", "labels": {"app": "web"}}
    if deleting:
        md["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    status = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    if ip:
        status["podIP"] = ip
    return {
        "metadata": md,
        "spec": {
            "nodeName": "n1",
            "containers": [{"name": "c", "ports": [{"name": port_name, "containerPort": 8080}]}],
        },
        "status": status,
    }


def test_find_port_by_number_and_name():
    pod = _pod("a")
    assert ep.find_port(pod, {"port": 80, "targetPort": 9090}) == 9090
    assert ep.find_port(pod, {"port": 80, "targetPort": "web", "protocol": "TCP"}) == 8080
    assert ep.find_port(pod, {"port": 80, "targetPort": "web", "protocol": "UDP"}) is None
    assert ep.find_port(pod, {"port": 80}) == 80


def test_subsets_split_ready_and_not_ready_and_skip_the_rest():
    pods = [
        _pod("b", "198.18.0.2"),
        _pod("a", "198.18.0.1", ready=False),
        _pod("noip"),
        _pod("gone", "198.18.0.3", deleting=True),
        _pod("done", "198.18.0.4", phase="Succeeded"),
    ]
    (subset,) = ep.build_subsets(_svc(), pods)
    assert [a["ip"] for a in subset["addresses"]] == ["198.18.0.2"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["198.18.0.1"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert subset["addresses"][0]["targetRef"] == {
        "kind": "Pod",
        "namespace": "ns",
        "name": "b",
        "uid": "u-b",
    }


def test_subsets_group_pods_by_resolved_port():
    pods = [_pod("a", "198.18.0.1"), _pod("b", "198.18.0.2", port_name="other")]
    svc = _svc(
        ports=[
            {"port": 80, "targetPort": "web", "protocol": "TCP"},
            {"name": "x", "port": 81, "targetPort": 81, "protocol": "TCP"},
        ]
    )
    subsets = ep.build_subsets(svc, pods)
    assert len(subsets) == 2
    ports_by_ip = {s["addresses"][0]["ip"]: [p["port"] for p in s["ports"]] for s in subsets}
    assert ports_by_ip == {"198.18.0.1": [8080, 81], "198.18.0.2": [81]}


def test_publish_not_ready_addresses():
    (subset,) = ep.build_subsets(
        _svc(publishNotReadyAddresses=True), [_pod("a", "198.18.0.1", ready=False)]
    )
    assert [a["ip"] for a in subset["addresses"]] == ["198.18.0.1"]


def test_slice_endpoint_conditions():
    pods = [_pod("a", "198.18.0.1"), _pod("t", "198.18.0.2", deleting=True)]
    ((key, (atype, ports, eps)),) = es.desired_groups(_svc(), pods).items()
    assert atype == "IPv4" and ports == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    conds = {e["targetRef"]["name"]: e["conditions"] for e in eps}
    assert conds["a"] == {"ready": True, "serving": True, "terminating": False}
    assert conds["t"] == {"ready": False, "serving": True, "terminating": True}


def test_no_endpoints_gives_a_placeholder_group():
    groups = es.desired_groups(_svc(), [])
    assert groups == {("IPv4", ()): ("IPv4", None, [])}


def _eps(*names):
    return [{"addresses": ["1.1.1.1"], "targetRef": {"uid": n}} for n in names]


def test_plan_keeps_endpoints_in_place_and_fills_before_creating():
    existing = [
        {"metadata": {"name": "s1"}, "endpoints": _eps("a", "b")},
        {"metadata": {"name": "s2"}, "endpoints": _eps("c")},
    ]
    kept, new, gone = es.plan_group(
        existing, _eps("a", "c", "d", "e", "f"), placeholder=False, limit=2
    )
    placed = {sl["metadata"]["name"]: [e["targetRef"]["uid"] for e in eps] for sl, eps in kept}
    assert placed == {"s1": ["a", "d"], "s2": ["c", "e"]}
    assert [[e["targetRef"]["uid"] for e in chunk] for chunk in new] == [["f"]]
    assert gone == []


def test_plan_deletes_emptied_slices_and_keeps_one_placeholder():
    existing = [
        {"metadata": {"name": "s1"}, "endpoints": _eps("a")},
        {"metadata": {"name": "s2"}, "endpoints": _eps("b")},
    ]
    kept, new, gone = es.plan_group(existing, _eps("b"), placeholder=False)
    assert [sl["metadata"]["name"] for sl, _ in kept] == ["s2"] and [
        g["metadata"]["name"] for g in gone
    ] == ["s1"]
    kept, new, gone = es.plan_group(existing, [], placeholder=True)
    assert [sl["metadata"]["name"] for sl, _ in kept] == ["s1"] and new == [] and len(gone) == 1
    kept, new, gone = es.plan_group([], [], placeholder=True)
    assert kept == [] and new == [[]]
