"""NodePorts: a pod's host ports must be free on the node (same protocol and port
conflict when either host IP is 0.0.0.0 or both are equal)."""

from __future__ import annotations

import numpy as np

from pyk8s.scheduler.cache import NodeInfo
from pyk8s.scheduler.framework import SUCCESS, CycleState, Plugin, Status, unschedulable
from pyk8s.scheduler.podinfo import PodInfo

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"
ANY_IP = "0.0.0.0"


def conflicts(wanted: tuple[str, str, int], used: dict[tuple[str, str, int], int]) -> bool:
    ip, proto, port = wanted
    for uip, uproto, uport in used:
        if uport == port and uproto == proto and (ANY_IP in (ip, uip) or ip == uip):
            return True
    return False


class NodePorts(Plugin):
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        used = node.used_ports
        if any(conflicts(p, used) for p in pod.ports):
            return unschedulable(NAME, REASON)
        return SUCCESS

    def filter_mask(self, state: CycleState, pod: PodInfo) -> np.ndarray | None:
        if not pod.ports:
            return None
        mask = np.ones(self.cache.size, dtype=bool)
        # Only nodes already using one of the ports can conflict.
        for _, _, port in pod.ports:
            for idx in self.cache.port_slots.get(port, ()):
                if any(conflicts(p, self.cache.node_ports[idx]) for p in pod.ports):
                    mask[idx] = False
        return mask
