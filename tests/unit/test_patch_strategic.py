"""Strategic merge patch: directives, list strategies, kubectl's real patches, errors."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pytest

from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.patch import SchemaNode, apply_strategic_merge_patch


@dataclass
class Node:
    """A tiny SchemaNode: enough of the built-in types' patch metadata for these tests."""

    type: str
    patch_strategy: str | None = None
    patch_merge_key: str | None = None
    fields: dict[str, Node] = field(default_factory=dict)
    element: Node | None = None

    @property
    def items(self) -> Node | None:
        return self.element

    def property(self, name: str) -> Node | None:
        return self.fields.get(name)


def obj(**fields: Node) -> Node:
    return Node("object", fields=fields)


def merged_list(key: str, element: Node, strategy: str = "merge") -> Node:
    return Node("array", strategy, key, element=element)


STRING = Node("string")
STRINGS = Node("map", element=STRING)

CONTAINER = obj(
    name=STRING,
    image=STRING,
    args=Node("array", element=STRING),
    env=merged_list("name", obj(name=STRING, value=STRING)),
    ports=merged_list("containerPort", obj(containerPort=Node("integer"))),
    volumeMounts=merged_list("mountPath", obj(name=STRING, mountPath=STRING)),
    resources=obj(limits=STRINGS, requests=STRINGS),
)
POD_SPEC = obj(
    containers=merged_list("name", CONTAINER),
    volumes=merged_list("name", obj(name=STRING), "merge,retainKeys"),
    tolerations=Node("array", element=obj(key=STRING)),
    nodeSelector=STRINGS,
)
METADATA = obj(
    labels=STRINGS,
    annotations=STRINGS,
    finalizers=Node("array", "merge", element=STRING),
    ownerReferences=merged_list("uid", obj(uid=STRING, name=STRING)),
)
CONDITIONS = merged_list("type", obj(type=STRING, status=STRING))
DEPLOYMENT = obj(
    metadata=METADATA,
    spec=obj(
        replicas=Node("integer"),
        selector=Node("object", "replace"),
        strategy=Node("object", "retainKeys", fields={"type": STRING, "rollingUpdate": obj()}),
        template=obj(metadata=METADATA, spec=POD_SPEC),
    ),
    status=obj(conditions=CONDITIONS),
)
NODE = obj(metadata=METADATA, spec=obj(unschedulable=Node("boolean"), taints=Node("array")))


def test_fake_schema_satisfies_the_protocol():
    node: SchemaNode = DEPLOYMENT
    assert node.property("spec") is not None


def smp(doc, patch, schema=DEPLOYMENT):
    """Apply, checking neither input changes and the result shares nothing with them."""
    doc_before, patch_before = copy.deepcopy(doc), copy.deepcopy(patch)
    result = apply_strategic_merge_patch(doc, patch, schema)
    assert doc == doc_before and patch == patch_before
    _scribble(result)
    assert doc == doc_before and patch == patch_before
    return apply_strategic_merge_patch(doc, patch, schema)


def _scribble(value):
    if isinstance(value, dict):
        for v in list(value.values()):
            _scribble(v)
        value["__scribble__"] = 1
    elif isinstance(value, list):
        for v in value:
            _scribble(v)
        value.append("__scribble__")


def failure(doc, patch, schema=DEPLOYMENT) -> StatusError:
    with pytest.raises(StatusError) as info:
        apply_strategic_merge_patch(doc, patch, schema)
    return info.value


def deployment(containers, **spec):
    return {
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 2, **spec, "template": {"spec": {"containers": containers}}},
    }


def containers_of(obj):
    return obj["spec"]["template"]["spec"]["containers"]


NGINX = {"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}
SIDECAR = {"name": "sidecar", "image": "busybox", "args": ["sleep", "1d"]}


# --- kubectl's patches -----------------------------------------------------------------


def test_kubectl_set_image_merges_into_the_named_container():
    doc = deployment([NGINX, SIDECAR])
    patch = {
        "spec": {"template": {"spec": {"containers": [{"image": "nginx:1.16.0", "name": "nginx"}]}}}
    }
    result = smp(doc, patch)
    assert containers_of(result) == [{**NGINX, "image": "nginx:1.16.0"}, SIDECAR]
    assert result["spec"]["replicas"] == 2 and result["metadata"] == doc["metadata"]


def test_a_new_list_item_without_set_element_order_goes_first_as_upstream():
    # Upstream's documented behaviour (kubectl patch task page): the patch's new container
    # is placed before the server-only ones.
    doc = deployment([NGINX])
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "redis", "image": "redis"}]}}}}
    assert [c["name"] for c in containers_of(smp(doc, patch))] == ["redis", "nginx"]


def test_patch_items_already_live_keep_the_live_order():
    doc = deployment([NGINX, SIDECAR])
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "b2"}, {"name": "nginx", "image": "n2"},
    ]}}}}  # fmt: skip
    assert [c["name"] for c in containers_of(smp(doc, patch))] == ["sidecar", "nginx"]


def test_kubectl_apply_patch_with_set_element_order_and_last_applied():
    doc = deployment([NGINX, SIDECAR])
    doc["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{old}"}
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{new}"}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}, {"name": "log"}],
            "containers": [
                {
                    "name": "nginx",
                    "image": "nginx:1.16.0",
                    "$setElementOrder/ports": [{"containerPort": 8080}],
                    "ports": [{"containerPort": 8080}, {"$patch": "delete", "containerPort": 80}],
                },
                {"name": "log", "image": "fluentd"},
            ],
        }}},
    }  # fmt: skip
    result = smp(doc, patch)
    assert result["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/last-applied-configuration": "{new}"
    }
    assert containers_of(result) == [
        {"name": "nginx", "image": "nginx:1.16.0", "ports": [{"containerPort": 8080}]},
        SIDECAR,
        {"name": "log", "image": "fluentd"},
    ]


def test_set_element_order_reorders_without_content_changes():
    doc = deployment([NGINX, SIDECAR])
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "nginx"}],
    }}}}  # fmt: skip
    assert containers_of(smp(doc, patch)) == [SIDECAR, NGINX]


def test_set_element_order_for_a_primitive_list():
    doc = {"metadata": {"finalizers": ["a", "b", "c"]}}
    patch = {"metadata": {"$setElementOrder/finalizers": ["c", "a", "d"], "finalizers": ["d"]}}
    # The directive orders c, a, d; server-only "b" goes before "c", which follows it live.
    assert smp(doc, patch)["metadata"]["finalizers"] == ["b", "c", "a", "d"]


def test_kubectl_apply_retain_keys_switches_deployment_strategy():
    doc = deployment(
        [NGINX],
        strategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        },
    )
    patch = {
        "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}
    }
    assert smp(doc, patch)["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_on_list_elements_clears_the_other_volume_source():
    doc = deployment([NGINX])
    doc["spec"]["template"]["spec"]["volumes"] = [
        {"name": "data", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "c"}},
    ]
    patch = {"spec": {"template": {"spec": {"volumes": [
        {"$retainKeys": ["hostPath", "name"], "name": "data", "hostPath": {"path": "/srv"}},
    ]}}}}  # fmt: skip
    assert smp(doc, patch)["spec"]["template"]["spec"]["volumes"] == [
        {"name": "data", "hostPath": {"path": "/srv"}},
        {"name": "cfg", "configMap": {"name": "c"}},
    ]


def test_kubectl_cordon_and_uncordon():
    node = {"metadata": {"name": "w1"}, "spec": {"podCIDR": "198.18.1.0/24"}}
    cordoned = smp(node, {"spec": {"unschedulable": True}}, NODE)
    assert cordoned["spec"] == {"podCIDR": "198.18.1.0/24", "unschedulable": True}
    uncordoned = smp(cordoned, {"spec": {"unschedulable": None}}, NODE)
    assert uncordoned["spec"] == {"podCIDR": "198.18.1.0/24"}


def test_kubectl_label_and_annotate():
    doc = {"metadata": {"name": "p", "labels": {"app": "x", "tier": "web"}}}
    patch = {"metadata": {"labels": {"tier": None, "env": "prod"}, "annotations": {"note": "hi"}}}
    assert smp(doc, patch)["metadata"] == {
        "name": "p",
        "labels": {"app": "x", "env": "prod"},
        "annotations": {"note": "hi"},
    }


def test_owner_references_merge_by_uid():
    doc = {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}}
    patch = {
        "metadata": {
            "ownerReferences": [{"uid": "2", "name": "b2"}, {"$patch": "delete", "uid": "1"}]
        }
    }
    assert smp(doc, patch)["metadata"]["ownerReferences"] == [{"uid": "2", "name": "b2"}]


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list():
    doc = {"metadata": {"finalizers": ["a", "b"]}}
    assert smp(doc, {"metadata": {"finalizers": ["b", "c"]}})["metadata"]["finalizers"] == [
        "a",
        "b",
        "c",
    ]
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zzz"]}}
    assert smp(doc, patch)["metadata"]["finalizers"] == ["b"]


def test_delete_from_primitive_list_of_an_absent_field_adds_nothing():
    assert smp({"metadata": {}}, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}) == {
        "metadata": {}
    }


def test_env_merges_by_name_ports_by_container_port_mounts_by_mount_path():
    doc = deployment([{
        "name": "app",
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "ports": [{"containerPort": 80, "name": "http"}],
        "volumeMounts": [{"name": "v", "mountPath": "/data", "readOnly": True}],
    }])  # fmt: skip
    patch = {"spec": {"template": {"spec": {"containers": [{
        "name": "app",
        "env": [{"name": "B", "value": "20"}],
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "volumeMounts": [{"mountPath": "/data", "readOnly": None}],
    }]}}}}  # fmt: skip
    [app] = containers_of(smp(doc, patch))
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "20"}]
    assert app["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}]
    assert app["volumeMounts"] == [{"name": "v", "mountPath": "/data"}]


def test_lists_without_strategy_are_replaced():
    doc = deployment([SIDECAR])
    doc["spec"]["template"]["spec"]["tolerations"] = [{"key": "a"}, {"key": "b"}]
    patch = {"spec": {"template": {"spec": {
        "tolerations": [{"key": "c"}],
        "containers": [{"name": "sidecar", "args": ["sleep", "2d"]}],
    }}}}  # fmt: skip
    result = smp(doc, patch)
    assert result["spec"]["template"]["spec"]["tolerations"] == [{"key": "c"}]
    assert containers_of(result)[0]["args"] == ["sleep", "2d"]


def test_status_conditions_merge_by_type():
    doc = {
        "status": {
            "conditions": [
                {"type": "Available", "status": "False"},
                {"type": "Progressing", "status": "True"},
            ]
        }
    }
    patch = {"status": {"conditions": [{"type": "Available", "status": "True"}]}}
    assert smp(doc, patch)["status"]["conditions"] == [
        {"type": "Available", "status": "True"},
        {"type": "Progressing", "status": "True"},
    ]


# --- directives ------------------------------------------------------------------------


def test_patch_replace_on_a_map_and_replace_strategy_fields():
    doc = {
        "metadata": {"labels": {"a": "1", "b": "2"}},
        "spec": {"selector": {"matchLabels": {"a": "1"}}},
    }
    patch = {
        "metadata": {"labels": {"$patch": "replace", "c": "3"}},
        "spec": {"selector": {"matchExpressions": []}},
    }
    result = smp(doc, patch)
    assert result["metadata"]["labels"] == {"c": "3"}
    assert result["spec"]["selector"] == {"matchExpressions": []}


def test_patch_delete_on_a_map_empties_it():
    doc = {"metadata": {"labels": {"a": "1"}, "name": "x"}}
    assert smp(doc, {"metadata": {"labels": {"$patch": "delete"}}})["metadata"] == {
        "labels": {},
        "name": "x",
    }


def test_patch_replace_in_a_merged_list_replaces_it():
    doc = deployment([NGINX, SIDECAR])
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "only", "image": "x"}, {"$patch": "replace"},
    ]}}}}  # fmt: skip
    assert containers_of(smp(doc, patch)) == [{"name": "only", "image": "x"}]


def test_new_values_are_cleaned_of_nulls_and_directives():
    doc = {"spec": {}}
    patch = {
        "spec": {
            "template": {"metadata": {"labels": {"a": "1", "b": None}}, "x": {"$patch": "delete"}}
        }
    }
    assert smp(doc, patch) == {"spec": {"template": {"metadata": {"labels": {"a": "1"}}}}}


def test_maps_merge_and_lists_replace_without_a_schema():
    doc = {"spec": {"a": {"b": 1, "c": 2}, "l": [{"name": "x", "v": 1}], "s": "old"}}
    patch = {"spec": {"a": {"c": None, "d": 3}, "l": [{"name": "y"}], "s": "new"}}
    expected = {"spec": {"a": {"b": 1, "d": 3}, "l": [{"name": "y"}], "s": "new"}}
    assert smp(doc, patch, None) == expected
    assert smp(doc, patch, obj(spec=obj())) == expected  # fields unknown to the schema


def test_type_change_replaces_the_value():
    doc = {"spec": {"template": {"spec": {"containers": "weird"}}}}
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}
    assert containers_of(smp(doc, patch)) == [{"name": "a"}]


def test_null_patch_changes_nothing():
    doc = deployment([NGINX])
    assert smp(doc, None) == doc


# --- errors ----------------------------------------------------------------------------


def test_missing_merge_key_is_a_500_with_upstream_text():
    doc = deployment([NGINX])
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "nginx:1.25"}]}}}}
    err = failure(doc, patch)
    assert (err.code, err.reason) == (500, "")
    assert err.message == "map: map[image:nginx:1.25] does not contain declared merge key: name"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"spec": {"strategy": {"$retainKeys": "type"}}}, "invalid patch format of retainKeys"),
        (
            {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}},
            "invalid patch format of retainKeys",
        ),
        (
            {"metadata": {"$deleteFromPrimitiveListX/finalizers": ["a"]}},
            "invalid patch format of primitive list",
        ),
        (
            {"metadata": {"$setElementOrderfinalizers": ["a"]}},
            "invalid patch format of setElementOrder list",
        ),
    ],
)
def test_malformed_directives_are_400(patch, message):
    doc = deployment([NGINX], strategy={"type": "Recreate"})
    doc["metadata"]["finalizers"] = ["a"]
    err = failure(doc, patch)
    assert (err.code, err.reason, err.message) == (400, "BadRequest", message)


def test_lists_of_lists_are_422():
    doc = {"metadata": {"finalizers": [["a"]]}}
    err = failure(doc, {"metadata": {"finalizers": [["b"]]}})
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.details["causes"][0]["message"] == "lists of lists are not supported"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {
                "spec": {
                    "template": {"spec": {"containers": [{"$patch": "merge", "name": "nginx"}]}}
                }
            },
            "merging lists cannot yet be specified in the patch",
        ),
        (
            {"metadata": {"labels": {"$patch": "merge"}}},
            "unknown patch type: merge in map: map[$patch:merge]",
        ),
        (
            {
                "spec": {
                    "template": {
                        "spec": {
                            "$setElementOrder/containers": [{"name": "nginx"}],
                            "containers": [{"name": "nginx"}, {"name": "extra"}],
                        }
                    }
                }
            },  # fmt: skip
            "the order in patch list:\n[map[name:nginx] map[name:extra]]\n doesn't match "
            "$setElementOrder list:\n[map[name:nginx]]",
        ),
        (
            {"spec": {"template": {"spec": {"containers": ["nginx"]}}}},
            "list element types are not identical: [[map[image:nginx:1.14.2 name:nginx "
            "ports:[map[containerPort:80]]]] [nginx]]",
        ),
    ],
)
def test_other_failures_are_plain_500s(patch, message):
    err = failure(deployment([NGINX]), patch)
    assert (err.code, err.message) == (500, message)


def test_a_patch_that_is_not_an_object_is_400():
    err = failure({}, ["x"])
    assert (err.code, err.message) == (
        400,
        "json: cannot unmarshal array into Go value of type map[string]interface {}",
    )


def test_malformed_patch_strategy_in_the_schema_is_reported():
    schema = obj(spec=obj(l=Node("array", "merge,replace", "name", element=obj())))
    err = failure({"spec": {"l": [{"name": "a"}]}}, {"spec": {"l": [{"name": "b"}]}}, schema)
    assert err.message == "unexpected patch strategy: [merge replace]"
