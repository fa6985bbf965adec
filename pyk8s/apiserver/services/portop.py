"""One request's node port allocations, as upstream's PortAllocationOperation:
allocate at once, release only once the Service is stored (better to leak a port
for a moment than to hand it out twice), and undo the allocations if the write
fails. A dry run changes nothing: requested ports are only checked, and dynamic
ones are placeholders counting up from 32769, as upstream's dry runs show them."""

from __future__ import annotations

from pyk8s.apiserver.services.ranges import AlreadyAllocated, NodePorts

DRY_RUN_FIRST_PORT = 32769


class PortOperation:
    def __init__(self, ports: NodePorts, dry_run: bool) -> None:
        self.ports = ports
        self.dry_run = dry_run
        self.allocated: list[int] = []
        self.deferred: list[int] = []

    def allocate(self, port: int) -> None:
        if self.dry_run:
            if self.ports.has(port) or port in self.allocated:
                raise AlreadyAllocated("provided port is already allocated")
        else:
            self.ports.allocate(port)
        self.allocated.append(port)

    def allocate_next(self) -> int:
        if self.dry_run:
            port = max(self.allocated, default=DRY_RUN_FIRST_PORT - 1) + 1
        else:
            port = self.ports.allocate_next()
        self.allocated.append(port)
        return port

    def release_deferred(self, port: int) -> None:
        self.deferred.append(port)

    def commit(self) -> None:
        if not self.dry_run:
            for port in self.deferred:
                self.ports.release(port)
        self.allocated, self.deferred = [], []

    def rollback(self) -> None:
        if not self.dry_run:
            for port in self.allocated:
                self.ports.release(port)
        self.allocated, self.deferred = [], []
