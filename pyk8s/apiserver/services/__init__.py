"""The API server's side of Services: cluster IP and node port allocation
(`allocator`, over the ranges of `ranges`) and the `kubernetes` Service that points
at the server itself (`kubernetes`)."""

from pyk8s.apiserver.services.allocator import ServiceAllocator, ServiceNetwork, Transaction
from pyk8s.apiserver.services.ranges import (
    AllocationError,
    AlreadyAllocated,
    IPNotInRange,
    NodePorts,
    PortNotInRange,
    RangeFull,
    ServiceIPs,
)

__all__ = [
    "AllocationError",
    "AlreadyAllocated",
    "IPNotInRange",
    "NodePorts",
    "PortNotInRange",
    "RangeFull",
    "ServiceAllocator",
    "ServiceIPs",
    "ServiceNetwork",
    "Transaction",
]
