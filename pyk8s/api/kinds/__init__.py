"""Per-kind strategies: upstream's defaults, validation and create/update preparation.

`STRATEGIES` maps (group, kind) to the strategy the resource table should use;
kinds not listed keep the generic `Strategy()`.
"""

from __future__ import annotations

from pyk8s.api.kinds._base import KindStrategy
from pyk8s.api.kinds.batch import CronJobStrategy, JobStrategy
from pyk8s.api.kinds.configmap import ConfigMapStrategy, SecretStrategy
from pyk8s.api.kinds.crd import CustomResourceDefinitionStrategy
from pyk8s.api.kinds.daemonset import DaemonSetStrategy
from pyk8s.api.kinds.deployment import DeploymentStrategy
from pyk8s.api.kinds.event import EventStrategy, EventsV1Strategy
from pyk8s.api.kinds.misc import (
    EndpointSliceStrategy,
    EndpointsStrategy,
    PersistentVolumeClaimStrategy,
    PersistentVolumeStrategy,
    PodDisruptionBudgetStrategy,
    PodTemplateStrategy,
    ResourceQuotaStrategy,
)
from pyk8s.api.kinds.namespace import NamespaceStrategy
from pyk8s.api.kinds.node import NodeStrategy
from pyk8s.api.kinds.pod import PodStrategy
from pyk8s.api.kinds.replicaset import ReplicaSetStrategy, ReplicationControllerStrategy
from pyk8s.api.kinds.service import ServiceStrategy
from pyk8s.api.kinds.statefulset import StatefulSetStrategy
from pyk8s.api.strategy import Strategy

STRATEGIES: dict[tuple[str, str], Strategy] = {
    ("", "Pod"): PodStrategy(),
    ("", "Service"): ServiceStrategy(),
    ("", "Node"): NodeStrategy(),
    ("", "Namespace"): NamespaceStrategy(),
    ("", "ConfigMap"): ConfigMapStrategy(),
    ("", "Secret"): SecretStrategy(),
    ("", "Event"): EventStrategy(),
    ("", "Endpoints"): EndpointsStrategy(),
    ("", "PersistentVolume"): PersistentVolumeStrategy(),
    ("", "PersistentVolumeClaim"): PersistentVolumeClaimStrategy(),
    ("", "ReplicationController"): ReplicationControllerStrategy(),
    ("", "ResourceQuota"): ResourceQuotaStrategy(),
    ("", "PodTemplate"): PodTemplateStrategy(),
    ("apps", "Deployment"): DeploymentStrategy(),
    ("apps", "ReplicaSet"): ReplicaSetStrategy(),
    ("apps", "DaemonSet"): DaemonSetStrategy(),
    ("apps", "StatefulSet"): StatefulSetStrategy(),
    ("batch", "Job"): JobStrategy(),
    ("batch", "CronJob"): CronJobStrategy(),
    ("policy", "PodDisruptionBudget"): PodDisruptionBudgetStrategy(),
    ("events.k8s.io", "Event"): EventsV1Strategy(),
    ("discovery.k8s.io", "EndpointSlice"): EndpointSliceStrategy(),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): CustomResourceDefinitionStrategy(),
    # No defaults of their own: only the metadata checks every kind gets.
    ("", "ServiceAccount"): KindStrategy(),
    ("", "LimitRange"): KindStrategy(),
    ("apps", "ControllerRevision"): KindStrategy(),
    ("coordination.k8s.io", "Lease"): KindStrategy(),
}

__all__ = ["STRATEGIES"]
