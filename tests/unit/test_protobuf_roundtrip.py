"""Round trips of realistic objects through the test encoder and the decoder."""

from __future__ import annotations

import pytest
from protobuf_encoder import encode_message, encode_object

from pyk8s.machinery.protobuf import decode_message, decode_object_and_unknown, message_for

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
        "hostIP": "198.18.0.1",
        "podIPs": [{"ip": "198.18.0.5"}],
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
                    "addresses": ["198.18.0.5"],
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
