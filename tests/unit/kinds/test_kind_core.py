"""Namespace, Node, ConfigMap, Secret, Event, PV/PVC."""

from __future__ import annotations

import copy

from pyk8s.api.kinds import STRATEGIES

NS = STRATEGIES[("", "Namespace")]
NODE = STRATEGIES[("", "Node")]
CM = STRATEGIES[("", "ConfigMap")]
SECRET = STRATEGIES[("", "Secret")]


def messages(causes: list) -> list[str]:
    return [f"{c['field']}: {c['message']}" for c in causes]


def test_namespace_create() -> None:
    obj = {"metadata": {"name": "dev", "labels": {"kubernetes.io/metadata.name": "wrong"}}}
    NS.default(obj)
    NS.prepare_for_create(obj)
    assert obj["metadata"]["labels"] == {"kubernetes.io/metadata.name": "dev"}
    assert obj["spec"] == {"finalizers": ["kubernetes"]}
    assert obj["status"] == {"phase": "Active"}
    assert NS.validate(obj) == []


def test_namespace_name_is_label() -> None:
    obj = {"metadata": {"name": "a.b"}}
    NS.default(obj)
    assert NS.validate(obj) == []
    assert messages(NS.validate_meta(obj)) == [
        'metadata.name: Invalid value: "a.b": must not contain dots'
    ]
    assert messages(NS.validate_meta({"metadata": {"name": "a", "namespace": "x"}})) == [
        "metadata.namespace: Forbidden: not allowed on this type"
    ]


def test_namespace_update_keeps_finalizers_status_and_label() -> None:
    old = {"metadata": {"name": "dev"}}
    NS.default(old)
    NS.prepare_for_create(old)
    new = {
        "metadata": {"name": "dev", "labels": {}},
        "spec": {"finalizers": []},
        "status": {"phase": "Terminating"},
    }
    NS.default(new)
    NS.prepare_for_update(new, old)
    assert new["spec"]["finalizers"] == ["kubernetes"]
    assert new["status"] == {"phase": "Active"}
    assert new["metadata"]["labels"] == {"kubernetes.io/metadata.name": "dev"}


def test_node_create_keeps_status_and_validates_taints() -> None:
    obj = {"metadata": {"name": "w1-k8s"}, "status": {"capacity": {"pods": "110"}}}
    NODE.default(obj)
    NODE.prepare_for_create(obj)
    assert obj["status"]["allocatable"] == {"pods": "110"}
    assert NODE.validate(obj) == []
    obj["spec"] = {
        "taints": [
            {"key": "a", "effect": "NoSchedule"},
            {"key": "a", "effect": "NoSchedule"},
            {"key": "b", "effect": "Sometimes"},
            {"key": "c"},
        ]
    }
    assert messages(NODE.validate(obj)) == [
        'spec.taints[1]: Duplicate value: core.Taint{Key:"a", Value:"", Effect:"NoSchedule", '
        "TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair",
        'spec.taints[2].effect: Unsupported value: "Sometimes": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"',
        "spec.taints[3].effect: Required value",
    ]


def test_node_pod_cidr_is_set_once() -> None:
    old = {"metadata": {"name": "n"}, "spec": {}}
    new = copy.deepcopy(old)
    new["spec"]["podCIDRs"] = ["198.18.1.0/24"]
    assert NODE.validate_update(new, old) == []
    newer = copy.deepcopy(new)
    newer["spec"]["podCIDRs"] = ["198.18.2.0/24"]
    assert messages(NODE.validate_update(newer, new)) == [
        'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'
    ]


def test_configmap_keys() -> None:
    obj = {"metadata": {"name": "cm", "namespace": "default"}, "data": {"a b": "x", "ok.key": "y"}}
    assert messages(CM.validate(obj)) == [
        'data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '
        "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
    ]
    dup = {
        "metadata": {"name": "cm", "namespace": "default"},
        "data": {"k": "x"},
        "binaryData": {"k": "eA=="},
    }
    assert messages(CM.validate(dup)) == [
        'data[k]: Invalid value: "k": duplicate of key present in binaryData'
    ]


def test_immutable_configmap_and_secret() -> None:
    for strategy in (CM, SECRET):
        old = {
            "metadata": {"name": "x", "namespace": "default"},
            "data": {"k": "dg=="},
            "immutable": True,
        }
        strategy.default(old)
        new = copy.deepcopy(old)
        new["data"]["k"] = "dzI="
        assert messages(strategy.validate_update(new, old)) == [
            "data: Forbidden: field is immutable when `immutable` is set"
        ]
        new = copy.deepcopy(old)
        new["immutable"] = False
        assert messages(strategy.validate_update(new, old)) == [
            "immutable: Forbidden: field is immutable when `immutable` is set"
        ]
        mutable = dict(old, immutable=False)
        changed = dict(mutable, data={"k": "dzI="})
        assert strategy.validate_update(changed, mutable) == []


def test_secret_type_rules() -> None:
    old = {"metadata": {"name": "s", "namespace": "default"}, "data": {}}
    SECRET.default(old)
    assert old["type"] == "Opaque"
    new = dict(old, type="kubernetes.io/tls")
    assert messages(SECRET.validate_update(new, old)) == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable'
    ]
    assert messages(SECRET.validate(new)) == [
        "data[tls.crt]: Required value",
        "data[tls.key]: Required value",
    ]


def test_secret_size_limit() -> None:
    import base64

    big = base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()
    obj = {"metadata": {"name": "s", "namespace": "default"}, "type": "Opaque", "data": {"k": big}}
    assert messages(SECRET.validate(obj)) == ["data: Too long: must have at most 1048576 bytes"]


def test_event_namespace_must_match() -> None:
    ev = STRATEGIES[("", "Event")]
    obj = {
        "metadata": {"name": "web.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "other"},
        "type": "Normal",
    }
    assert messages(ev.validate(obj)) == [
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace'
    ]
    obj["involvedObject"]["namespace"] = "default"
    assert ev.validate(obj) == []


def test_pvc_lifecycle() -> None:
    pvc = STRATEGIES[("", "PersistentVolumeClaim")]
    obj = {"metadata": {"name": "data", "namespace": "default"}, "spec": {}}
    pvc.default(obj)
    pvc.prepare_for_create(obj)
    assert obj["status"] == {"phase": "Pending"}
    assert messages(pvc.validate(obj)) == [
        "spec.accessModes: Required value: at least 1 access mode is required",
        "spec.resources[storage]: Required value",
    ]
    obj["spec"] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    pvc.default(obj)
    assert pvc.validate(obj) == []
    bound = copy.deepcopy(obj)
    bound["spec"]["volumeName"] = "pv-1"
    assert pvc.validate_update(bound, obj) == []
    grown = copy.deepcopy(bound)
    grown["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert pvc.validate_update(grown, bound) == []
    moved = copy.deepcopy(bound)
    moved["spec"]["accessModes"] = ["ReadWriteMany"]
    assert messages(pvc.validate_update(moved, bound)) == [
        "spec: Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims"
    ]
