"""NodeUnschedulable: cordoned nodes (spec.unschedulable) take no new pods, unless
the pod tolerates node.kubernetes.io/unschedulable:NoSchedule (DaemonSet pods do)."""

from __future__ import annotations

import numpy as np

from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import SUCCESS, CycleState, Plugin, Status, unresolvable
from pyk8s.scheduler.plugins.tainttoleration import tolerates, tolerations
from pyk8s.scheduler.podinfo import PodInfo

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = ("node.kubernetes.io/unschedulable", "", "NoSchedule")


def tolerates_unschedulable(pod: PodInfo) -> bool:
    return any(tolerates(t, UNSCHEDULABLE_TAINT) for t in tolerations(pod))


class NodeUnschedulable(Plugin):
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if node.unschedulable and not tolerates_unschedulable(pod):
            return unresolvable(NAME, REASON)
        return SUCCESS

    def filter_mask(self, state: CycleState, pod: PodInfo) -> np.ndarray | None:
        if tolerates_unschedulable(pod):
            return None
        return ~self.cache.unschedulable[: self.cache.size]
