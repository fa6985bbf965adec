"""Decoding Kubernetes protobuf objects: kubectl's bodies, round trips, table checks."""

import copy

import pytest
from protobuf_encoder import encode_message, encode_object, envelope, length_delimited

from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.protobuf import (
    decode_message,
    decode_object,
    decode_object_and_unknown,
    is_protobuf_envelope,
    message_for,
)
from pyk8s.machinery.protobuf.schema import SPECIAL, get_message, registry

# The decoded `kubectl create deployment echo-hname --image=...` body (protocol map §1.2).
KUBECTL_DEPLOYMENT = {
    "kind": "Deployment",
    "apiVersion": "apps/v1",
    "metadata": {
        "name": "echo-hname",
        "generation": 0,
        "creationTimestamp": None,
        "labels": {"app": "echo-hname"},
    },
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "echo-hname"}},
        "template": {
            "metadata": {
                "generation": 0,
                "creationTimestamp": None,
                "labels": {"app": "echo-hname"},
            },
            "spec": {
                "containers": [
                    {
                        "name": "echo-hname",
                        "image": "sysnet4admin/echo-hname",
                        "resources": {},
                        "stdin": False,
                        "stdinOnce": False,
                        "tty": False,
                    }
                ],
                "hostNetwork": False,
                "hostPID": False,
                "hostIPC": False,
            },
        },
        "minReadySeconds": 0,
        "paused": False,
    },
    "status": {
        "observedGeneration": 0,
        "replicas": 0,
        "updatedReplicas": 0,
        "availableReplicas": 0,
        "unavailableReplicas": 0,
        "readyReplicas": 0,
    },
}

DEPLOYMENT = "k8s.io.api.apps.v1.Deployment"


def test_kubectl_create_deployment_body_decodes_exactly():
    body = encode_object(KUBECTL_DEPLOYMENT, DEPLOYMENT)
    assert is_protobuf_envelope(body)
    assert decode_object(body) == KUBECTL_DEPLOYMENT


def test_go_style_empty_strings_are_dropped_and_structs_kept():
    # Go writes every non-pointer field; empty strings mean "unset" and must vanish.
    go = copy.deepcopy(KUBECTL_DEPLOYMENT)
    blank = dict.fromkeys(["generateName", "namespace", "selfLink", "uid", "resourceVersion"], "")
    go["metadata"].update(blank)
    go["spec"]["template"]["metadata"].update(blank, name="")
    go["spec"]["strategy"] = {"type": ""}
    pod = go["spec"]["template"]["spec"]
    pod.update(dict.fromkeys(["restartPolicy", "dnsPolicy", "serviceAccountName", "nodeName"], ""))
    pod.update(dict.fromkeys(["serviceAccount", "hostname", "subdomain", "schedulerName"], ""))
    pod["containers"][0].update(
        dict.fromkeys(["workingDir", "terminationMessagePath", "imagePullPolicy"], "")
    )
    pod["containers"][0]["terminationMessagePolicy"] = ""
    expected = copy.deepcopy(KUBECTL_DEPLOYMENT)
    expected["spec"]["strategy"] = {}  # a non-pointer struct: Go's JSON shows it as {}
    assert decode_object(encode_object(go, DEPLOYMENT)) == expected


def test_pointer_string_empty_value_is_kept():
    pvc = {"spec": {"storageClassName": "", "accessModes": ["ReadWriteOnce"]}}
    data = encode_message("k8s.io.api.core.v1.PersistentVolumeClaim", pvc)
    assert decode_message("k8s.io.api.core.v1.PersistentVolumeClaim", data) == pvc


def test_delete_options_is_registered_in_every_group_version():
    for api_version in ("v1", "apps/v1", "batch/v1", "meta.k8s.io/v1"):
        assert message_for(api_version, "DeleteOptions").endswith("meta.v1.DeleteOptions")
    assert message_for("v1", "Deployment") is None
    assert message_for("apps/v1", "Nope") is None


def test_unknown_fields_are_skipped_and_reported():
    spec = encode_message("k8s.io.api.apps.v1.DeploymentSpec", {"replicas": 2})
    spec += length_delimited(99, b"future")
    raw = length_delimited(2, spec)
    body = envelope("apps/v1", "Deployment", raw)
    obj, unknown = decode_object_and_unknown(body)
    assert obj == {"kind": "Deployment", "apiVersion": "apps/v1", "spec": {"replicas": 2}}
    assert unknown == ["spec.#99"]
    assert decode_object(body) == obj
    with pytest.raises(StatusError) as err:
        decode_object(body, strict=True)
    assert err.value.code == 400
    assert err.value.message == 'strict decoding error: unknown field "spec.#99"'


def test_unknown_fields_inside_lists_get_indexed_paths():
    container = encode_message("k8s.io.api.core.v1.Container", {"name": "a"})
    spec = length_delimited(2, container) + length_delimited(
        2, container + length_delimited(77, b"")
    )
    pod = length_delimited(2, spec)
    with pytest.raises(StatusError, match=r'unknown field "spec\.containers\[1\]\.#77"'):
        decode_message("k8s.io.api.core.v1.Pod", pod, strict=True)


# Field numbers checked by hand against upstream's generated.proto files
# (core/v1, apps/v1, batch/v1, authentication/v1, meta/v1).
@pytest.mark.parametrize(
    "message,number,name",
    [
        ("k8s.io.api.core.v1.PodSpec", 34, "ephemeralContainers"),
        ("k8s.io.api.core.v1.PodSpec", 20, "initContainers"),
        ("k8s.io.api.core.v1.Container", 19, "envFrom"),
        ("k8s.io.api.core.v1.Container", 22, "startupProbe"),
        ("k8s.io.api.core.v1.ServiceSpec", 18, "clusterIPs"),
        ("k8s.io.api.core.v1.VolumeSource", 26, "projected"),
        ("k8s.io.api.core.v1.Secret", 5, "immutable"),
        ("k8s.io.api.apps.v1.DeploymentStatus", 7, "readyReplicas"),
        ("k8s.io.api.apps.v1.DeploymentSpec", 9, "progressDeadlineSeconds"),
        ("k8s.io.api.batch.v1.CronJobSpec", 8, "timeZone"),
        ("k8s.io.api.authentication.v1.TokenRequestSpec", 4, "expirationSeconds"),
        ("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", 17, "managedFields"),
        ("k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference", 5, "apiVersion"),
        ("k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions", 5, "dryRun"),
    ],
)
def test_field_numbers_match_upstream(message, number, name):
    assert get_message(message).fields[number].name == name


def test_inline_structs_flatten_into_parent():
    probe = get_message("k8s.io.api.core.v1.Probe").fields[1]
    assert probe.inline and probe.type == "k8s.io.api.core.v1.ProbeHandler"
    assert get_message("k8s.io.api.core.v1.Volume").fields[2].inline


# Fields the official client does not model (alpha fields of newer/other releases),
# and fields of newer releases whose numbers are not in our tables yet (skipped on
# the wire as unknown fields until added).
_NOT_IN_CLIENT = {
    ("NodeFeatures", "containerUlimits"),
    ("PodSpec", "workloadRef"),
    ("SecurityContext", "ulimits"),
    ("DeploymentSpec", "podReplacementPolicy"),
}
_CLIENT_TYPES = {"s": "str", "b": "bool", "i": "int", "y": "bytes", "d": "float", "f": "float"}
_SPECIAL_TYPES = {
    "time": "datetime",
    "microtime": "datetime",
    "int_or_string": "object",
    "quantity": "str",
    "json_raw": "object",
    "string_list": "List[str]",
    "duration": "str",
}


def _client_model(full_name: str):
    models = pytest.importorskip("kubernetes.client.models")
    package, name = full_name.rsplit(".", 1)
    group = package.split(".")[-2].capitalize()
    for prefix in ("V1", f"{group}V1"):
        model = getattr(models, prefix + name, None)
        if model is not None:
            return model
    return None


def _json_fields(message) -> dict:
    out = {}
    for field in message.fields.values():
        out.update(_json_fields(get_message(field.type)) if field.inline else {field.name: field})
    return out


def test_tables_agree_with_the_official_client_models():
    """JSON names and shapes of every field agree with kubernetes.client's models."""
    problems, checked = [], 0
    for full_name, message in registry().items():
        model = None if full_name in SPECIAL else _client_model(full_name)
        if model is None:
            continue
        by_json = {v: k for k, v in model.attribute_map.items()}
        for name, field in _json_fields(message).items():
            if (message.short_name, name) in _NOT_IN_CLIENT:
                continue
            if name not in by_json:
                problems.append(f"{full_name}.{name}: not in client")
                continue
            checked += 1
            client_type = model.openapi_types[by_json[name]]
            if client_type != _expected_client_type(field):
                problems.append(f"{full_name}.{name}: {client_type} != {field}")
    assert problems == []
    assert checked > 1000


def _expected_client_type(field) -> str:
    special = SPECIAL.get(field.type)
    if special:
        inner = _SPECIAL_TYPES[special]
    elif field.type in _CLIENT_TYPES:
        inner = _CLIENT_TYPES[field.type]
    else:
        model = _client_model(field.type)
        inner = model.__name__ if model else field.type
    if field.repeated:
        return f"List[{inner}]"
    if field.is_map:
        return f"Dict[str, {inner}]"
    return inner
