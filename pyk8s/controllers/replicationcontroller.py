"""The ReplicationController controller: the ReplicaSet controller on core/v1
ReplicationControllers, as upstream runs it (pkg/controller/replication wraps the
replica set logic). The differences: the resource, the kind in owner references,
the Event source, and a selector that is a plain label map."""

from __future__ import annotations

from typing import Any

from pyk8s.controllers.replicaset import ReplicaSetController
from pyk8s.machinery.labels import Selector, nothing, selector_from_set

Obj = dict[str, Any]


class ReplicationControllerController(ReplicaSetController):
    name = "replicationcontroller"
    component = "replication-controller"
    api_version = "v1"
    plural = "replicationcontrollers"
    kind = "ReplicationController"

    def selector_of(self, rs: Obj) -> Selector:
        selector = (rs.get("spec") or {}).get("selector")
        # Validation requires a selector (defaulted from the template labels); an
        # empty one must not select every pod of the namespace.
        return selector_from_set(selector) if selector else nothing()
