"""Service validation and update carry-over."""

from __future__ import annotations

import copy

from pyk8s.api.kinds import STRATEGIES

SVC = STRATEGIES[("", "Service")]


def service(**spec: object) -> dict:
    obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec},
    }
    SVC.default(obj)
    return obj


def messages(causes: list) -> list[str]:
    return [f"{c['field']}: {c['message']}" for c in causes]


def test_valid_and_initial_status() -> None:
    obj = service()
    SVC.prepare_for_create(obj)
    assert obj["status"] == {"loadBalancer": {}}
    assert SVC.validate(obj) == []


def test_name_is_dns1035_label() -> None:
    obj = service()
    obj["metadata"]["name"] = "1web"
    assert SVC.validate(obj) == []  # metadata is the API server's; the rule is the strategy's
    got = messages(SVC.validate_meta(obj))
    assert got == [
        'metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric '
        "characters or '-', start with an alphabetic character, and end with an alphanumeric character "
        "(e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    ]


def test_ports_required_except_headless_and_external_name() -> None:
    assert messages(SVC.validate(service(ports=[]))) == ["spec.ports: Required value"]
    assert SVC.validate(service(ports=[], clusterIP="None")) == []
    ext = service(ports=[], type="ExternalName", externalName="example.com.")
    assert SVC.validate(ext) == []
    ext["spec"].pop("externalName")
    assert messages(SVC.validate(ext)) == ["spec.externalName: Required value"]


def test_port_checks() -> None:
    obj = service(ports=[{"port": 0, "targetPort": 70000}, {"port": 81, "name": "b"}])
    assert messages(SVC.validate(obj)) == [
        "spec.ports[0].name: Required value",
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ]
    dup = service(ports=[{"port": 80, "name": "a"}, {"port": 81, "name": "a"}])
    assert messages(SVC.validate(dup)) == ['spec.ports[1].name: Duplicate value: "a"']


def test_type_and_affinity_values() -> None:
    assert messages(SVC.validate(service(type="Magic"))) == [
        'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'
    ]
    assert messages(SVC.validate(service(sessionAffinity="Sticky"))) == [
        'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'
    ]


def test_node_port_rules() -> None:
    cluster_ip = service(ports=[{"port": 80, "nodePort": 30080}])
    assert messages(SVC.validate(cluster_ip)) == [
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
    ]
    out_of_range = service(type="NodePort", ports=[{"port": 80, "nodePort": 80}])
    assert messages(SVC.validate(out_of_range)) == [
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. "
        "The range of valid ports is 30000-32767"
    ]
    assert SVC.validate(service(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])) == []


def test_external_traffic_policy_only_for_external_types() -> None:
    assert messages(SVC.validate(service(externalTrafficPolicy="Local"))) == [
        "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set when `type` is 'NodePort' or 'LoadBalancer'"
    ]


def test_cluster_ip_is_immutable_and_kept() -> None:
    old = service(clusterIP="198.19.0.10", clusterIPs=["198.19.0.10"])
    # An apply/PUT without clusterIP keeps the allocated one.
    new = service()
    SVC.prepare_for_update(new, old)
    assert new["spec"]["clusterIP"] == "198.19.0.10"
    assert new["spec"]["clusterIPs"] == ["198.19.0.10"]
    assert SVC.validate_update(new, old) == []
    changed = copy.deepcopy(old)
    changed["spec"]["clusterIP"] = "198.19.0.11"
    changed["spec"]["clusterIPs"] = ["198.19.0.11"]
    assert messages(SVC.validate_update(changed, old)) == [
        'spec.clusterIPs[0]: Invalid value: []string{"198.19.0.11"}: may not change once set'
    ]


def test_node_ports_are_kept_on_update() -> None:
    old = service(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    new = service(type="NodePort", ports=[{"port": 80}, {"port": 443, "name": "https"}])
    SVC.prepare_for_update(new, old)
    assert new["spec"]["ports"][0]["nodePort"] == 30080
    assert "nodePort" not in new["spec"]["ports"][1]


def test_bad_cluster_ip() -> None:
    assert messages(SVC.validate(service(clusterIP="198.18.0.300"))) == [
        'spec.clusterIPs[0]: Invalid value: "198.18.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'
    ]
