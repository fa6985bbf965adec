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


POD = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "labels": {"app": "web"},
        "annotations": {"note": "x"},
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-5d",
                "uid": "u-1",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
        "finalizers": ["f/one"],
        "creationTimestamp": "2024-01-02T03:04:05Z",
        "deletionGracePeriodSeconds": 30,
    },
    "spec": {
        "volumes": [
            {"name": "data", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420, "optional": True}},
            {"name": "sec", "secret": {"secretName": "s", "items": [{"key": "k", "path": "p"}]}},
            {"name": "claim", "persistentVolumeClaim": {"claimName": "pvc", "readOnly": True}},
            {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
            {
                "name": "proj",
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                        {"downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "x"}}]}},
                    ]
                },
            },
        ],
        "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"]}],
        "containers": [
            {
                "name": "web",
                "image": "nginx:1.25",
                "args": ["-g", "daemon off;"],
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "env": [
                    {"name": "A", "value": "1"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {
                        "name": "PASS",
                        "valueFrom": {
                            "secretKeyRef": {"name": "db", "key": "pw", "optional": False}
                        },
                    },
                ],
                "envFrom": [{"prefix": "C_", "configMapRef": {"name": "cfg"}}],
                "resources": {
                    "limits": {"cpu": "500m", "memory": "128Mi"},
                    "requests": {"cpu": "250m"},
                },
                "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}],
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                    "initialDelaySeconds": 3,
                    "periodSeconds": 10,
                },
                "readinessProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 3},
                "startupProbe": {"exec": {"command": ["cat", "/ready"]}},
                "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                "securityContext": {
                    "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                    "runAsUser": 1000,
                    "allowPrivilegeEscalation": False,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "imagePullPolicy": "IfNotPresent",
                "stdin": False,
            }
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "nodeSelector": {"disk": "ssd"},
        "serviceAccountName": "default",
        "securityContext": {"fsGroup": 2000, "supplementalGroups": [1, 2], "runAsNonRoot": True},
        "imagePullSecrets": [{"name": "regcred"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                    ]
                }
            },
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": {"app": "web"}},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }
                ]
            },
        },
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
            {"key": "k", "operator": "Equal", "value": "v", "tolerationSeconds": 300},
        ],
        "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["foo.local"]}],
        "priority": 0,
        "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}]},
        "enableServiceLinks": True,
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
        ],
        "overhead": {"cpu": "10m"},
        "os": {"name": "linux"},
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-02T03:04:06Z"}
        ],
        "hostIP": "10.0.0.1",
        "podIPs": [{"ip": "10.1.0.5"}],
        "startTime": "2024-01-02T03:04:05Z",
        "containerStatuses": [
            {
                "name": "web",
                "state": {"running": {"startedAt": "2024-01-02T03:04:06Z"}},
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": "nginx:1.25",
                "imageID": "sha256:abc",
                "containerID": "containerd://1",
                "started": True,
            }
        ],
        "qosClass": "Burstable",
    },
}

OBJECTS = [
    (POD, "k8s.io.api.core.v1.Pod"),
    (
        {
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "ports": [
                    {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"},
                    {
                        "name": "n",
                        "protocol": "TCP",
                        "port": 81,
                        "targetPort": 8081,
                        "nodePort": 30081,
                    },
                ],
                "selector": {"app": "web"},
                "type": "NodePort",
                "sessionAffinity": "None",
                "externalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"],
            },
            "status": {"loadBalancer": {}},
        },
        "k8s.io.api.core.v1.Service",
    ),
    (
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "tls"},
            "data": {"tls.crt": "AAEC/w==", "tls.key": ""},
            "type": "kubernetes.io/tls",
        },
        "k8s.io.api.core.v1.Secret",
    ),
    (
        {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"name": "cfg"},
            "data": {"a": "1", "empty": ""},
            "binaryData": {"bin": "3q2+7w=="},
            "immutable": True,
        },
        "k8s.io.api.core.v1.ConfigMap",
    ),
    (
        {
            "kind": "Job",
            "apiVersion": "batch/v1",
            "metadata": {"name": "pi"},
            "spec": {
                "backoffLimit": 4,
                "template": {
                    "metadata": {"creationTimestamp": None},
                    "spec": {
                        "containers": [{"name": "pi", "image": "perl", "resources": {}}],
                        "restartPolicy": "Never",
                    },
                },
            },
            "status": {},
        },
        "k8s.io.api.batch.v1.Job",
    ),
    (
        {
            "kind": "CronJob",
            "apiVersion": "batch/v1",
            "metadata": {"name": "tick"},
            "spec": {
                "schedule": "*/1 * * * *",
                "jobTemplate": {
                    "metadata": {"name": "tick"},
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [{"name": "t", "image": "busybox"}],
                                "restartPolicy": "OnFailure",
                            }
                        }
                    },
                },
            },
            "status": {"lastScheduleTime": "2024-05-06T07:08:09Z"},
        },
        "k8s.io.api.batch.v1.CronJob",
    ),
    (
        {
            "kind": "PodDisruptionBudget",
            "apiVersion": "policy/v1",
            "metadata": {"name": "pdb"},
            "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}},
            "status": {
                "disruptionsAllowed": 0,
                "currentHealthy": 0,
                "desiredHealthy": 0,
                "expectedPods": 0,
            },
        },
        "k8s.io.api.policy.v1.PodDisruptionBudget",
    ),
    (
        {
            "kind": "Eviction",
            "apiVersion": "policy/v1",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": None},
            "deleteOptions": {},
        },
        "k8s.io.api.policy.v1.Eviction",
    ),
    (
        {
            "kind": "PriorityClass",
            "apiVersion": "scheduling.k8s.io/v1",
            "metadata": {"name": "high"},
            "value": 1000000,
            "globalDefault": False,
            "description": "high",
            "preemptionPolicy": "Never",
        },
        "k8s.io.api.scheduling.v1.PriorityClass",
    ),
    (
        {
            "kind": "ResourceQuota",
            "apiVersion": "v1",
            "metadata": {"name": "q"},
            "spec": {"hard": {"pods": "10", "requests.cpu": "2"}, "scopes": ["BestEffort"]},
            "status": {},
        },
        "k8s.io.api.core.v1.ResourceQuota",
    ),
    (
        {
            "kind": "ClusterRole",
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "metadata": {"name": "reader"},
            "rules": [
                {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
                {"verbs": ["get"], "nonResourceURLs": ["/healthz"]},
            ],
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "true"}}]},
        },
        "k8s.io.api.rbac.v1.ClusterRole",
    ),
    (
        {
            "kind": "RoleBinding",
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "metadata": {"name": "rb", "namespace": "default"},
            "subjects": [
                {"kind": "ServiceAccount", "name": "sa", "namespace": "default"},
                {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
            ],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        },
        "k8s.io.api.rbac.v1.RoleBinding",
    ),
    (
        {
            "kind": "Ingress",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "ing"},
            "spec": {
                "ingressClassName": "nginx",
                "rules": [
                    {
                        "host": "foo.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "svc", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
                "tls": [{"hosts": ["foo.com"], "secretName": "tls"}],
            },
            "status": {"loadBalancer": {}},
        },
        "k8s.io.api.networking.v1.Ingress",
    ),
    (
        {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": "default", "creationTimestamp": None},
            "spec": {"audiences": ["api"], "expirationSeconds": 3600},
            "status": {"token": "t", "expirationTimestamp": None},
        },
        "k8s.io.api.authentication.v1.TokenRequest",
    ),
    (
        {
            "kind": "Lease",
            "apiVersion": "coordination.k8s.io/v1",
            "metadata": {"name": "node-a", "namespace": "kube-node-lease"},
            "spec": {
                "holderIdentity": "node-a",
                "leaseDurationSeconds": 40,
                "renewTime": "2024-01-02T03:04:05.123456Z",
            },
        },
        "k8s.io.api.coordination.v1.Lease",
    ),
    (
        {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {"name": "web.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
            "reason": "Scheduled",
            "message": "Successfully assigned",
            "source": {"component": "default-scheduler"},
            "firstTimestamp": "2024-01-02T03:04:05Z",
            "count": 1,
            "type": "Normal",
            "eventTime": "2024-01-02T03:04:05.000001Z",
        },
        "k8s.io.api.core.v1.Event",
    ),
    (
        {
            "kind": "EndpointSlice",
            "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [
                {
                    "addresses": ["10.1.0.5"],
                    "conditions": {"ready": True, "serving": True, "terminating": False},
                    "targetRef": {"kind": "Pod", "name": "web", "namespace": "default"},
                    "nodeName": "node-a",
                }
            ],
            "ports": [{"name": "http", "protocol": "TCP", "port": 8080}],
        },
        "k8s.io.api.discovery.v1.EndpointSlice",
    ),
    (
        {
            "kind": "StatefulSet",
            "apiVersion": "apps/v1",
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"spec": {"containers": [{"name": "db", "image": "postgres"}]}},
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
                "serviceName": "db",
                "updateStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"partition": 0, "maxUnavailable": 1},
                },
            },
        },
        "k8s.io.api.apps.v1.StatefulSet",
    ),
    (
        {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "gracePeriodSeconds": -1,
            "preconditions": {"uid": "u-1", "resourceVersion": "7"},
            "propagationPolicy": "Background",
            "dryRun": ["All"],
        },
        "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    ),
    (
        {
            "kind": "ControllerRevision",
            "apiVersion": "apps/v1",
            "metadata": {"name": "rev-1"},
            "data": {"spec": {"template": {"metadata": {"labels": {"a": "b"}}}}},
            "revision": 1,
        },
        "k8s.io.api.apps.v1.ControllerRevision",
    ),
]


@pytest.mark.parametrize("obj,type_name", OBJECTS, ids=[o["kind"] for o, _ in OBJECTS])
def test_round_trip(obj, type_name):
    assert message_for(obj["apiVersion"], obj["kind"]) == type_name
    decoded, unknown = decode_object_and_unknown(encode_object(obj, type_name))
    assert decoded == obj
    assert unknown == []


def test_round_trip_with_packed_repeated_scalars():
    pod = {"spec": {"securityContext": {"supplementalGroups": [1, 300, 70000]}}}
    for packed in (False, True):
        data = encode_message("k8s.io.api.core.v1.Pod", pod, packed=packed)
        assert decode_message("k8s.io.api.core.v1.Pod", data) == pod


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
