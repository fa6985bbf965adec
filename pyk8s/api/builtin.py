"""The built-in resources: every kind pyk8s serves out of the box, with its scope,
short names, categories, verbs, subresources and selectable fields, as upstream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyk8s.api.resources import ALL_VERBS, ResourceType, Subresource


def _sub(name: str, group: str, version: str, kind: str, *verbs: str) -> tuple[str, Subresource]:
    return name, Subresource(name, group, version, kind, verbs)


def _status(group: str, version: str, kind: str) -> tuple[str, Subresource]:
    return _sub("status", group, version, kind, "get", "patch", "update")


def _scale() -> tuple[str, Subresource]:
    return _sub("scale", "autoscaling", "v1", "Scale", "get", "patch", "update")


def _spec_path(*path: str) -> Callable[[dict[str, Any]], str]:
    def get(obj: dict[str, Any]) -> str:
        cur: Any = obj
        for p in path:
            if not isinstance(cur, dict):
                return ""
            cur = cur.get(p)
        if cur is None:
            return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)

    return get


def builtin_resources() -> list[ResourceType]:
    core = "io.k8s.api.core.v1."
    apps = "io.k8s.api.apps.v1."
    pod_fields = {
        "spec.nodeName": _spec_path("spec", "nodeName"),
        "spec.restartPolicy": _spec_path("spec", "restartPolicy"),
        "spec.schedulerName": _spec_path("spec", "schedulerName"),
        "spec.serviceAccountName": _spec_path("spec", "serviceAccountName"),
        "spec.hostNetwork": _spec_path("spec", "hostNetwork"),
        "status.phase": _spec_path("status", "phase"),
        "status.podIP": _spec_path("status", "podIP"),
        "status.nominatedNodeName": _spec_path("status", "nominatedNodeName"),
    }
    event_fields = {
        f"involvedObject.{f}": _spec_path("involvedObject", f)
        for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    }
    event_fields.update(
        {
            "reason": _spec_path("reason"),
            "reportingComponent": _spec_path("reportingComponent"),
            "source": _spec_path("source", "component"),
            "type": _spec_path("type"),
        }
    )
    r = ResourceType
    return [
        # core/v1
        r(
            "",
            "v1",
            "Namespace",
            "namespaces",
            False,
            ["ns"],
            [],
            ["create", "delete", "get", "list", "patch", "update", "watch"],
            dict(
                [_status("", "v1", "Namespace"), _sub("finalize", "", "v1", "Namespace", "update")]
            ),
            core + "Namespace",
            selectable_fields={"status.phase": _spec_path("status", "phase")},
        ),
        r(
            "",
            "v1",
            "Node",
            "nodes",
            False,
            ["no"],
            [],
            list(ALL_VERBS),
            dict(
                [
                    _status("", "v1", "Node"),
                    _sub(
                        "proxy",
                        "",
                        "v1",
                        "NodeProxyOptions",
                        "create",
                        "delete",
                        "get",
                        "patch",
                        "update",
                    ),
                ]
            ),
            core + "Node",
            selectable_fields={"spec.unschedulable": _spec_path("spec", "unschedulable")},
        ),
        r(
            "",
            "v1",
            "Pod",
            "pods",
            True,
            ["po"],
            ["all"],
            list(ALL_VERBS),
            dict(
                [
                    _status("", "v1", "Pod"),
                    _sub("binding", "", "v1", "Binding", "create"),
                    _sub("eviction", "policy", "v1", "Eviction", "create"),
                    _sub("log", "", "v1", "Pod", "get"),
                    _sub("exec", "", "v1", "PodExecOptions", "create", "get"),
                    _sub("attach", "", "v1", "PodAttachOptions", "create", "get"),
                    _sub("portforward", "", "v1", "PodPortForwardOptions", "create", "get"),
                    _sub(
                        "proxy",
                        "",
                        "v1",
                        "PodProxyOptions",
                        "create",
                        "delete",
                        "get",
                        "patch",
                        "update",
                    ),
                    _sub("ephemeralcontainers", "", "v1", "Pod", "get", "patch", "update"),
                    _sub("resize", "", "v1", "Pod", "get", "patch", "update"),
                ]
            ),
            core + "Pod",
            selectable_fields=pod_fields,
        ),
        r("", "v1", "Binding", "bindings", True, [], [], ["create"], {}, core + "Binding"),
        r(
            "",
            "v1",
            "Service",
            "services",
            True,
            ["svc"],
            ["all"],
            list(ALL_VERBS),
            dict(
                [
                    _status("", "v1", "Service"),
                    _sub(
                        "proxy",
                        "",
                        "v1",
                        "ServiceProxyOptions",
                        "create",
                        "delete",
                        "get",
                        "patch",
                        "update",
                    ),
                ]
            ),
            core + "Service",
        ),
        r(
            "",
            "v1",
            "Endpoints",
            "endpoints",
            True,
            ["ep"],
            [],
            list(ALL_VERBS),
            {},
            core + "Endpoints",
        ),
        r(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            True,
            ["cm"],
            [],
            list(ALL_VERBS),
            {},
            core + "ConfigMap",
        ),
        r(
            "",
            "v1",
            "Secret",
            "secrets",
            True,
            [],
            [],
            list(ALL_VERBS),
            {},
            core + "Secret",
            selectable_fields={"type": _spec_path("type")},
        ),
        r(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            True,
            ["sa"],
            [],
            list(ALL_VERBS),
            dict([_sub("token", "authentication.k8s.io", "v1", "TokenRequest", "create")]),
            core + "ServiceAccount",
        ),
        r(
            "",
            "v1",
            "Event",
            "events",
            True,
            ["ev"],
            [],
            list(ALL_VERBS),
            {},
            core + "Event",
            selectable_fields=event_fields,
        ),
        r(
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            False,
            ["pv"],
            [],
            list(ALL_VERBS),
            dict([_status("", "v1", "PersistentVolume")]),
            core + "PersistentVolume",
        ),
        r(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            True,
            ["pvc"],
            [],
            list(ALL_VERBS),
            dict([_status("", "v1", "PersistentVolumeClaim")]),
            core + "PersistentVolumeClaim",
        ),
        r(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            True,
            ["rc"],
            ["all"],
            list(ALL_VERBS),
            dict(
                [
                    _status("", "v1", "ReplicationController"),
                    _sub("scale", "autoscaling", "v1", "Scale", "get", "patch", "update"),
                ]
            ),
            core + "ReplicationController",
        ),
        r(
            "",
            "v1",
            "LimitRange",
            "limitranges",
            True,
            ["limits"],
            [],
            list(ALL_VERBS),
            {},
            core + "LimitRange",
        ),
        r(
            "",
            "v1",
            "ResourceQuota",
            "resourcequotas",
            True,
            ["quota"],
            [],
            list(ALL_VERBS),
            dict([_status("", "v1", "ResourceQuota")]),
            core + "ResourceQuota",
        ),
        r(
            "",
            "v1",
            "PodTemplate",
            "podtemplates",
            True,
            [],
            [],
            list(ALL_VERBS),
            {},
            core + "PodTemplate",
        ),
        # apps/v1
        r(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            True,
            ["deploy"],
            ["all"],
            list(ALL_VERBS),
            dict([_status("apps", "v1", "Deployment"), _scale()]),
            apps + "Deployment",
        ),
        r(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            True,
            ["rs"],
            ["all"],
            list(ALL_VERBS),
            dict([_status("apps", "v1", "ReplicaSet"), _scale()]),
            apps + "ReplicaSet",
        ),
        r(
            "apps",
            "v1",
            "DaemonSet",
            "daemonsets",
            True,
            ["ds"],
            ["all"],
            list(ALL_VERBS),
            dict([_status("apps", "v1", "DaemonSet")]),
            apps + "DaemonSet",
        ),
        r(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            True,
            ["sts"],
            ["all"],
            list(ALL_VERBS),
            dict([_status("apps", "v1", "StatefulSet"), _scale()]),
            apps + "StatefulSet",
        ),
        r(
            "apps",
            "v1",
            "ControllerRevision",
            "controllerrevisions",
            True,
            [],
            [],
            list(ALL_VERBS),
            {},
            apps + "ControllerRevision",
        ),
        # batch/v1
        r(
            "batch",
            "v1",
            "Job",
            "jobs",
            True,
            [],
            ["all"],
            list(ALL_VERBS),
            dict([_status("batch", "v1", "Job")]),
            "io.k8s.api.batch.v1.Job",
        ),
        r(
            "batch",
            "v1",
            "CronJob",
            "cronjobs",
            True,
            ["cj"],
            ["all"],
            list(ALL_VERBS),
            dict([_status("batch", "v1", "CronJob")]),
            "io.k8s.api.batch.v1.CronJob",
        ),
        # coordination.k8s.io/v1
        r(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            True,
            [],
            [],
            list(ALL_VERBS),
            {},
            "io.k8s.api.coordination.v1.Lease",
        ),
        # policy/v1
        r(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            True,
            ["pdb"],
            [],
            list(ALL_VERBS),
            dict([_status("policy", "v1", "PodDisruptionBudget")]),
            "io.k8s.api.policy.v1.PodDisruptionBudget",
        ),
        # events.k8s.io/v1
        r(
            "events.k8s.io",
            "v1",
            "Event",
            "events",
            True,
            ["ev"],
            [],
            list(ALL_VERBS),
            {},
            "io.k8s.api.events.v1.Event",
            selectable_fields={
                f"regarding.{f}": _spec_path("regarding", f)
                for f in ("kind", "namespace", "name", "uid")
            },
        ),
        # apiextensions.k8s.io/v1
        r(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            False,
            ["crd", "crds"],
            ["api-extensions"],
            list(ALL_VERBS),
            dict([_status("apiextensions.k8s.io", "v1", "CustomResourceDefinition")]),
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
        ),
        # discovery.k8s.io/v1
        r(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            True,
            [],
            [],
            list(ALL_VERBS),
            {},
            "io.k8s.api.discovery.v1.EndpointSlice",
        ),
    ]
