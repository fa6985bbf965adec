"""Ranges the API server hands Service values out of: cluster IPs from the service
CIDR and node ports from the node port range (upstream's ipallocator and
portallocator over their allocation bitmap).

Both split their range in two since upstream's static/dynamic subranges (1.24
for IPs, 1.27 for ports): a dynamic allocation picks a random free value from the
upper band first and falls back to the lower band only when the upper one is
full, so values people pick by hand (the kube-dns .10, a well-known node port)
are rarely taken by chance. The lower band's size is min(max(16, size/step), cap)
with step 16 and cap 256 for IPs, step 32 and cap 128 for ports.

The errors carry upstream's texts; the service allocator puts them in its 422s.
"""

from __future__ import annotations

import ipaddress
import random

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# The bitmap of an IPv6 range is capped, as upstream caps it.
MAX_IPV6_RANGE = 65536


class AllocationError(Exception):
    pass


class AlreadyAllocated(AllocationError):
    pass


class RangeFull(AllocationError):
    def __init__(self) -> None:
        super().__init__("range is full")


class IPNotInRange(AllocationError):
    def __init__(self, ip: str, valid: str) -> None:
        super().__init__(
            f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {valid}"
        )


class PortNotInRange(AllocationError):
    def __init__(self, valid: str) -> None:
        super().__init__(
            f"provided port is not in the valid range. The range of valid ports is {valid}"
        )


def static_band(size: int, step: int, cap: int, minimum: int = 16) -> int:
    """How many of a range's first offsets are kept for static allocation."""
    if size <= minimum:
        return 0
    return max(minimum, min(size // step, cap))


class OffsetSet:
    """Offsets 0..size-1, each free or taken; dynamic picks prefer [band, size)."""

    def __init__(self, size: int, band: int, rng: random.Random | None = None) -> None:
        self.size = size
        self.band = band
        self.rng = rng or random.Random()
        self.taken: set[int] = set()

    def take(self, offset: int) -> bool:
        """Mark `offset` taken; False when it already was."""
        if offset in self.taken:
            return False
        self.taken.add(offset)
        return True

    def take_next(self) -> int | None:
        """A random free offset, now taken (upper band first); None when full."""
        if len(self.taken) >= self.size:
            return None
        for lo, hi in ((self.band, self.size), (0, self.band)):
            offset = self._scan(lo, hi)
            if offset is not None:
                self.taken.add(offset)
                return offset
        return None

    def _scan(self, lo: int, hi: int) -> int | None:
        """From a random start in [lo, hi), the first free offset, wrapping around."""
        span = hi - lo
        if span <= 0:
            return None
        start = self.rng.randrange(span)
        for i in range(span):
            offset = lo + (start + i) % span
            if offset not in self.taken:
                return offset
        return None

    def free(self) -> int:
        return self.size - len(self.taken)


class ServiceIPs:
    """Cluster IPs of one service CIDR. The network address and (IPv4) the broadcast
    address are never handed out; offset 0 is the first usable address, which the
    `kubernetes` Service holds."""

    def __init__(self, cidr: str, rng: random.Random | None = None) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        self.cidr = str(self.network)
        size = self.network.num_addresses - 1  # no network address
        if self.network.version == 4:
            size -= 1  # no broadcast address
        else:
            size = min(size, MAX_IPV6_RANGE)
        self._base = int(self.network.network_address) + 1
        band = static_band(self.network.num_addresses, step=16, cap=256)
        self._bits = OffsetSet(max(size, 0), band, rng)

    @property
    def family(self) -> str:
        return "IPv4" if self.network.version == 4 else "IPv6"

    def nth(self, n: int) -> str:
        """The n-th usable address: nth(1) is the `kubernetes` Service's, nth(10)
        the conventional kube-dns one."""
        if not 1 <= n <= self._bits.size:
            raise ValueError(f"{self.cidr} has no address number {n}")
        return str(ipaddress.ip_address(self._base + n - 1))

    def _offset(self, ip: str) -> int | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if addr.version != self.network.version or addr not in self.network:
            return None
        offset = int(addr) - self._base
        return offset if 0 <= offset < self._bits.size else None

    def contains(self, ip: str) -> bool:
        return self._offset(ip) is not None

    def check(self, ip: str) -> None:
        """Raise IPNotInRange unless `ip` could be allocated here (a dry run's check)."""
        if self._offset(ip) is None:
            raise IPNotInRange(ip, self.cidr)

    def allocate(self, ip: str) -> None:
        """Take a requested IP: IPNotInRange or AlreadyAllocated if it cannot be had."""
        offset = self._offset(ip)
        if offset is None:
            raise IPNotInRange(ip, self.cidr)
        if not self._bits.take(offset):
            raise AlreadyAllocated("provided IP is already allocated")

    # The DNS service's well-known address is reserved the same way.
    reserve = allocate

    def allocate_next(self) -> str:
        offset = self._bits.take_next()
        if offset is None:
            raise RangeFull()
        return str(ipaddress.ip_address(self._base + offset))

    def release(self, ip: str) -> None:
        """Give an IP back; one out of range or not taken is ignored."""
        offset = self._offset(ip)
        if offset is not None:
            self._bits.taken.discard(offset)

    def has(self, ip: str) -> bool:
        offset = self._offset(ip)
        return offset is not None and offset in self._bits.taken

    def free(self) -> int:
        return self._bits.free()

    def used(self) -> int:
        return len(self._bits.taken)


def parse_port_range(text: str) -> tuple[int, int]:
    """Parse "30000-32767" (or a single port) into (30000, 32767)."""
    lo_s, sep, hi_s = text.strip().partition("-")
    lo = int(lo_s)
    hi = int(hi_s) if sep else lo
    if not 0 < lo <= hi <= 65535:
        raise ValueError(f"invalid port range {text!r}")
    return lo, hi


class NodePorts:
    """Node ports of one range, 30000-32767 unless told otherwise."""

    def __init__(self, lo: int = 30000, hi: int = 32767, rng: random.Random | None = None) -> None:
        self.lo, self.hi = lo, hi
        size = hi - lo + 1
        self._bits = OffsetSet(size, static_band(size, step=32, cap=128), rng)

    @property
    def range_text(self) -> str:
        return f"{self.lo}-{self.hi}"

    def contains(self, port: int) -> bool:
        return self.lo <= port <= self.hi

    def allocate(self, port: int) -> None:
        if not self.contains(port):
            raise PortNotInRange(self.range_text)
        if not self._bits.take(port - self.lo):
            raise AlreadyAllocated("provided port is already allocated")

    def allocate_next(self) -> int:
        offset = self._bits.take_next()
        if offset is None:
            raise RangeFull()
        return self.lo + offset

    def release(self, port: int) -> None:
        if self.contains(port):
            self._bits.taken.discard(port - self.lo)

    def has(self, port: int) -> bool:
        return self.contains(port) and port - self.lo in self._bits.taken

    def free(self) -> int:
        return self._bits.free()
