"""Addresses of their own for the nodes of a local cluster (`pyk8s up
--node-ip-range`): every node of one machine gets an IP on an interface the cluster
owns (a bridge with no ports: the "dummy" link type needs a kernel module that
is not everywhere), so NodePorts answer on each node's address, the API server and the
cluster DNS are reachable from pods at the server node's address, and
LoadBalancer addresses of `--service-lb-pool` are local to the machine (a local
route over the pool, as an "AnyIP" range), reachable from the host and from pods.

Deleting the interface removes its addresses and routes at once; nothing else of
the host is touched.
"""

from __future__ import annotations

import hashlib
import ipaddress
import subprocess
from pathlib import Path


class NodeAddressError(RuntimeError):
    """The addresses cannot be set up (the message says why)."""


def interface_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]
    return f"pk8sn{digest}"  # 13 characters: within the kernel's 15


def node_ip(cidr: str, index: int) -> str:
    """The address of node `index` (0 = the server node): the range's hosts in order."""
    net = ipaddress.ip_network(cidr, strict=False)
    hosts = net.num_addresses - 2 if net.prefixlen < 31 else net.num_addresses
    if index >= hosts:
        raise NodeAddressError(f"--node-ip-range {cidr} has room for {hosts} nodes only")
    first = int(net.network_address) + (1 if net.prefixlen < 31 else 0)
    return str(ipaddress.ip_address(first + index))


def pool_networks(pool: str) -> list[str]:
    """The CIDRs of a pool written as CIDRs or first-last ranges, comma-separated."""
    nets: list[str] = []
    for item in filter(None, (part.strip() for part in pool.split(","))):
        if "-" in item:
            first, last = (ipaddress.ip_address(x.strip()) for x in item.split("-", 1))
            nets += [str(n) for n in ipaddress.summarize_address_range(first, last)]
        else:
            nets.append(str(ipaddress.ip_network(item, strict=False)))
    return nets


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


class NodeAddresses:
    def __init__(self, data_dir: Path, cidr: str) -> None:
        self.cidr = cidr
        self.name = interface_name(data_dir)

    def setup(self, count: int, lb_pool: str = "") -> list[str]:
        """Create the interface with `count` node addresses; returns them in order."""
        addresses = [node_ip(self.cidr, i) for i in range(count)]
        if not Path(f"/sys/class/net/{self.name}").exists():
            self._check(_ip("link", "add", self.name, "type", "bridge"), "create")
        self._check(_ip("link", "set", self.name, "up"), "bring up")
        for address in addresses:
            done = _ip("addr", "replace", f"{address}/32", "dev", self.name)
            self._check(done, f"add {address} to")
        for net in pool_networks(lb_pool):
            done = _ip("route", "replace", "local", net, "dev", self.name)
            self._check(done, f"route {net} through")
        return addresses

    def _check(self, done: subprocess.CompletedProcess, what: str) -> None:
        if done.returncode != 0:
            raise NodeAddressError(f"cannot {what} interface {self.name}: {done.stderr.strip()}")

    def teardown(self) -> None:
        if Path(f"/sys/class/net/{self.name}").exists():
            _ip("link", "delete", self.name)
