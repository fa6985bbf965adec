"""The controllers that ship, by name (upstream's --controllers names)."""

from __future__ import annotations

from collections.abc import Callable

from pyk8s.controllers.base import Controller
from pyk8s.controllers.daemonset import DaemonSetsController
from pyk8s.controllers.deployment import DeploymentController
from pyk8s.controllers.disruption import DisruptionController
from pyk8s.controllers.endpoints import EndpointsController
from pyk8s.controllers.endpointslice import EndpointSliceController
from pyk8s.controllers.garbagecollector import GarbageCollector
from pyk8s.controllers.namespace import NamespaceController
from pyk8s.controllers.nodeipam import NodeIpamController
from pyk8s.controllers.nodelifecycle import NodeLifecycleController
from pyk8s.controllers.replicaset import ReplicaSetController
from pyk8s.controllers.replicationcontroller import ReplicationControllerController
from pyk8s.controllers.serviceaccount import ServiceAccountsController
from pyk8s.controllers.servicelb import ServiceLBController

CONTROLLERS: dict[str, Callable[..., Controller]] = {
    "deployment": DeploymentController,
    "replicaset": ReplicaSetController,
    "replicationcontroller": ReplicationControllerController,
    "daemonset": DaemonSetsController,
    "garbagecollector": GarbageCollector,
    "namespace": NamespaceController,
    "endpoints": EndpointsController,
    "endpointslice": EndpointSliceController,
    "nodeipam": NodeIpamController,
    "nodelifecycle": NodeLifecycleController,
    "disruption": DisruptionController,
    "serviceaccount": ServiceAccountsController,
    "servicelb": ServiceLBController,
}
