"""NodeName: a pod that names a node fits only that node."""

from __future__ import annotations

import numpy as np

from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import SUCCESS, CycleState, Plugin, Status, unresolvable
from pyk8s.scheduler.podinfo import PodInfo

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"


class NodeName(Plugin):
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not pod.node_name or pod.node_name == node.name:
            return SUCCESS
        return unresolvable(NAME, REASON)

    def filter_mask(self, state: CycleState, pod: PodInfo) -> np.ndarray | None:
        if not pod.node_name:
            return None
        mask = np.zeros(self.cache.size, dtype=bool)
        idx = self.cache.slot(pod.node_name)
        if idx is not None:
            mask[idx] = True
        return mask
