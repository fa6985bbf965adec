"""The in-tree plugins, by name: the registry the framework builds profiles from."""

from __future__ import annotations

from pyk8s.scheduler.framework import PluginFactory
from pyk8s.scheduler.plugins import (
    nodeaffinity,
    nodename,
    nodeports,
    noderesources,
    nodeunschedulable,
    podtopologyspread,
    tainttoleration,
)

REGISTRY: dict[str, PluginFactory] = {
    nodeunschedulable.NAME: nodeunschedulable.NodeUnschedulable,
    nodename.NAME: nodename.NodeName,
    tainttoleration.NAME: tainttoleration.TaintToleration,
    nodeaffinity.NAME: nodeaffinity.NodeAffinity,
    nodeports.NAME: nodeports.NodePorts,
    noderesources.FIT: noderesources.Fit,
    noderesources.BALANCED: noderesources.BalancedAllocation,
    podtopologyspread.NAME: podtopologyspread.PodTopologySpread,
}
