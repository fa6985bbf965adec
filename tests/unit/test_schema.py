"""The type schema: navigation, patch metadata, strict validation, pruning, decode errors."""

from __future__ import annotations

import copy
import importlib.util

import pytest

from pyk8s.api import mergekeys, schema
from pyk8s.api.resources import builtin_resources
from pyk8s.api.schema import (
    prune,
    schema_for,
    schema_for_kind,
    strict_decoding_error,
    type_errors,
    unknown_fields,
    walk,
)

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"


def deployment(**spec_extra):
    spec = {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx",
                        "ports": [{"containerPort": 80}],
                        "env": [{"name": "A", "value": "1"}],
                        "resources": {"limits": {"cpu": "500m", "memory": 128}},
                    }
                ]
            },
        },
    }
    spec.update(spec_extra)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": spec,
    }


# ---------------------------------------------------------------- navigation


def test_navigate_to_container_env_merge_key():
    node = schema_for(DEPLOYMENT)
    spec = node.property("spec")
    template = spec.property("template")
    pod_spec = template.property("spec")
    containers = pod_spec.property("containers")
    assert containers.type == "array"
    assert (containers.patch_strategy, containers.patch_merge_key) == ("merge", "name")
    container = containers.items
    assert container.definition == "io.k8s.api.core.v1.Container"
    env = container.property("env")
    assert (env.patch_strategy, env.patch_merge_key) == ("merge", "name")
    assert env.items.definition == "io.k8s.api.core.v1.EnvVar"
    assert container.required == ["name"]


@pytest.mark.parametrize(
    "path,strategy,key",
    [
        ("spec.template.spec.volumes", "merge,retainKeys", "name"),
        ("spec.template.spec.initContainers", "merge", "name"),
        ("spec.template.spec.imagePullSecrets", "merge", "name"),
        ("spec.template.spec.hostAliases", "merge", "ip"),
        ("spec.template.spec.containers.ports", "merge", "containerPort"),
        ("spec.template.spec.containers.volumeMounts", "merge", "mountPath"),
        ("spec.template.spec.containers.volumeDevices", "merge", "devicePath"),
        ("spec.template.spec.tolerations", None, None),
        ("spec.template.spec.containers.resizePolicy", None, None),
        ("spec.strategy", "retainKeys", None),
        ("status.conditions", "merge", "type"),
        ("metadata.finalizers", "merge", None),
        ("metadata.ownerReferences", "merge", "uid"),
        ("spec.template.metadata.ownerReferences", "merge", "uid"),
    ],
)
def test_deployment_patch_metadata(path, strategy, key):
    node = walk(schema_for(DEPLOYMENT), path)
    assert node is not None
    assert (node.patch_strategy, node.patch_merge_key) == (strategy, key)


def test_other_kinds_patch_metadata():
    pod = schema_for_kind("", "v1", "Pod")
    assert walk(pod, "status.podIPs").patch_merge_key == "ip"
    assert walk(pod, "status.conditions").patch_merge_key == "type"
    assert walk(pod, "spec.ephemeralContainers.env").patch_merge_key == "name"
    node = schema_for_kind("", "v1", "Node")
    assert walk(node, "status.addresses").patch_merge_key == "type"
    assert walk(node, "spec.taints").patch_strategy is None
    svc = schema_for_kind("", "v1", "Service")
    assert walk(svc, "spec.ports").patch_merge_key == "port"
    pdb = schema_for_kind("policy", "v1", "PodDisruptionBudget")
    assert walk(pdb, "spec.selector").patch_strategy == "replace"
    assert walk(pdb, "status.conditions").patch_merge_key == "type"
    job = schema_for_kind("batch", "v1", "Job")
    assert walk(job, "status.conditions").patch_merge_key == "type"


def test_merge_key_table_names_real_fields():
    for (definition, field), (_, key) in mergekeys.PATCH_STRATEGIES.items():
        node = schema_for(definition).property(field)
        assert node is not None, (definition, field)
        if key is not None:
            assert node.type == "array"
            assert node.items.property(key) is not None, (definition, field, key)


def test_upstream_types_restored():
    d = schema_for(DEPLOYMENT)
    assert walk(d, "spec.strategy.rollingUpdate.maxSurge").type == "int-or-string"
    assert walk(d, "spec.replicas").type == "integer"
    assert walk(d, "spec.replicas").format == "int32"
    assert walk(d, "metadata.generation").format == "int64"
    limits = walk(d, "spec.template.spec.containers.resources.limits")
    assert limits.type == "map" and limits.items.type == "quantity"
    assert walk(d, "metadata.labels").items.type == "string"
    assert walk(d, "metadata.creationTimestamp").type == "time"
    assert walk(d, "spec.template.spec.volumes.emptyDir.sizeLimit").type == "quantity"
    svc = schema_for_kind("", "v1", "Service")
    assert walk(svc, "spec.ports.targetPort").definition.endswith("intstr.IntOrString")
    event = schema_for_kind("events.k8s.io", "v1", "Event")
    assert walk(event, "eventTime").definition.endswith("meta.v1.MicroTime")
    assert walk(schema_for_kind("", "v1", "Secret"), "data").items.format == "byte"


def test_descriptions_present():
    d = schema_for(DEPLOYMENT)
    assert "desired pods" in walk(d, "spec.replicas").description
    # Fields pointing at a definition fall back to the definition's description.
    assert walk(d, "spec.selector").description.startswith("A label selector")


def test_every_builtin_kind_resolves():
    for res in builtin_resources():
        node = schema_for(res.definition)
        assert node.type == "object"
        assert node.property("metadata") is not None, res.kind
        assert schema_for_kind(res.group, res.version, res.kind).definition == res.definition
        for sub in res.subresources.values():
            if sub.name in ("status", "scale", "eviction", "binding"):
                assert schema_for_kind(sub.group, sub.version, sub.kind) is not None, sub


def test_unknown_kind_and_definition():
    assert schema_for_kind("example.com", "v1", "Widget") is None
    with pytest.raises(KeyError):
        schema_for("io.k8s.api.apps.v1.Nope")


def test_model_name_mapping():
    assert schema.model_name(DEPLOYMENT) == "V1Deployment"
    assert schema.definition_of_model("V1ObjectMeta") == schema.META + "ObjectMeta"
    assert schema.definition_of_model("CoreV1Event") == "io.k8s.api.core.v1.Event"
    assert schema.definition_of_model("V1Scale") == "io.k8s.api.autoscaling.v1.Scale"
    assert schema.definition_of_model("V1PodTemplateSpec") == "io.k8s.api.core.v1.PodTemplateSpec"


# ---------------------------------------------------------------- unknown fields / prune


def test_valid_object_has_no_unknown_fields():
    assert unknown_fields(deployment(), schema_for(DEPLOYMENT)) == []


def test_unknown_fields_nested_lists_and_metadata():
    obj = deployment(replicax=3)
    obj["metadata"]["colour"] = "red"
    c = obj["spec"]["template"]["spec"]["containers"]
    c.append(
        {"name": "side", "image": "busybox", "foo": 1, "ports": [{"containerPort": 1, "x": 2}]}
    )
    obj["spec"]["template"]["metadata"]["bogus"] = {}
    got = unknown_fields(obj, schema_for(DEPLOYMENT))
    assert got == [
        "metadata.colour",
        "spec.template.metadata.bogus",
        "spec.template.spec.containers[1].foo",
        "spec.template.spec.containers[1].ports[0].x",
        "spec.replicax",
    ]


def test_unknown_fields_ignores_free_form_values():
    node = schema_for_kind("apps", "v1", "ControllerRevision")
    obj = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "revision": 1,
           "data": {"anything": {"goes": 1}}}  # fmt: skip
    assert unknown_fields(obj, node) == []
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"any-key": "v"}}
    assert unknown_fields(cm, schema_for_kind("", "v1", "ConfigMap")) == []


def test_prune_drops_unknown_and_keeps_known():
    obj = deployment(replicax=3)
    obj["spec"]["template"]["spec"]["containers"][0]["foo"] = 1
    pruned = prune(copy.deepcopy(obj), schema_for(DEPLOYMENT))
    assert "replicax" not in pruned["spec"]
    assert "foo" not in pruned["spec"]["template"]["spec"]["containers"][0]
    del obj["spec"]["replicax"]
    del obj["spec"]["template"]["spec"]["containers"][0]["foo"]
    assert pruned == obj


def test_strict_decoding_error_text():
    err = strict_decoding_error("Deployment", "v1", ["spec.replicax", "spec.foo"])
    assert err.code == 400 and err.reason == "BadRequest"
    assert err.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.replicax", unknown field "spec.foo"'
    )


# ---------------------------------------------------------------- type errors


def test_type_errors_upstream_text():
    obj = deployment(replicas="three")
    assert type_errors(obj, schema_for(DEPLOYMENT)) == [
        "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas "
        "of type int32"
    ]


def test_type_errors_nested_and_elements():
    obj = deployment()
    obj["metadata"]["labels"]["n"] = 5
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["ports"][0]["containerPort"] = "80"
    container["args"] = "not-a-list"
    obj["spec"]["paused"] = "true"
    errors = type_errors(obj, schema_for(DEPLOYMENT))
    assert errors == [
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels "
        "of type string",
        "json: cannot unmarshal string into Go struct field "
        "ContainerPort.spec.template.spec.containers.ports.containerPort of type int32",
        "json: cannot unmarshal string into Go struct field "
        "Container.spec.template.spec.containers.args of type []string",
        "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused "
        "of type bool",
    ]


def test_type_errors_numbers_and_flexible_types():
    d = schema_for(DEPLOYMENT)
    assert "number 1.5" in type_errors(deployment(replicas=1.5), d)[0]
    assert "number 4294967296" in type_errors(deployment(replicas=2**32), d)[0]
    assert type_errors(deployment(replicas=3.0), d) == []
    assert type_errors(deployment(replicas=None), d) == []
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}
    assert type_errors(deployment(strategy=rolling), d) == []
    rolling["rollingUpdate"]["maxSurge"] = True
    assert type_errors(deployment(strategy=rolling), d) == [
        "json: cannot unmarshal bool into Go struct field "
        "RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type intstr.IntOrString"
    ]
    assert "of type v1.DeploymentSpec" in type_errors({"spec": []}, d)[0]
    assert type_errors([], d) == [
        "json: cannot unmarshal array into Go value of type v1.Deployment"
    ]


# ---------------------------------------------------------------- snapshot freshness


def test_snapshot_matches_installed_client():
    if importlib.util.find_spec("kubernetes") is None:
        pytest.skip("official client not installed")
    import kubernetes

    from pyk8s.api import gen_schema

    wanted = schema.snapshot()["client_version"]
    if kubernetes.__version__ != wanted:
        pytest.skip(f"snapshot is from client {wanted}, installed {kubernetes.__version__}")
    assert gen_schema.render(gen_schema.build()) == schema.SNAPSHOT.read_bytes()
