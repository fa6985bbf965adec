"""LoadBalancer Services get an address from a configured pool (what MetalLB's
controller or k3s's servicelb does where no cloud provider is there to).

`--service-lb-pool` (ControlPlaneConfig.service_lb_pool) names the pool: CIDRs
and first-last ranges, comma-separated; every address in them is usable, as in a
MetalLB pool without avoidBuggyIPs. Each LoadBalancer Service gets one address of
its own (so no two services ever clash on a port), the lowest free one, unless it
asks for one with spec.loadBalancerIP or MetalLB's
`metallb.universe.tf/loadBalancerIPs` annotation. The address goes into
status.loadBalancer.ingress as {ip, ipMode: VIP}; the service proxy on every node
steers it to the service.

When the pool is exhausted (or the requested address is not to be had), the
Service keeps an empty status (kubectl shows <pending>) and gets MetalLB's
Warning AllocationFailed; it is tried again whenever an address is released.
Services with a loadBalancerClass belong to another implementation and are left
alone; without a pool every LoadBalancer Service stays <pending>, as upstream
without a cloud provider.

The pool's state lives in the Services: the informer's first list marks every
address already in a status as taken before any worker runs, so a restart never
hands one out twice.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from pyk8s.client import is_not_found, object_key
from pyk8s.controllers.base import Controller

Obj = dict[str, Any]
log = logging.getLogger(__name__)

REQUEST_ANNOTATION = "metallb.universe.tf/loadBalancerIPs"
# A pool larger than this is cut short: nobody needs more load balancer addresses.
MAX_POOL = 1 << 16


class PoolError(Exception):
    pass


def parse_pool(text: str) -> list[int]:
    """Every address of "CIDR,first-last,..." in order, as integers (IPv4)."""
    out: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "-" in part:
            first_s, last_s = part.split("-", 1)
            first = int(ipaddress.IPv4Address(first_s.strip()))
            last = int(ipaddress.IPv4Address(last_s.strip()))
            if last < first:
                raise ValueError(f"invalid address range {part!r}")
            out.extend(range(first, last + 1))
        else:
            net = ipaddress.IPv4Network(part, strict=False)
            first = int(net.network_address)
            out.extend(range(first, first + net.num_addresses))
        if len(out) > MAX_POOL:
            return out[:MAX_POOL]
    return out


class LBPool:
    """Addresses of the pool, each held by at most one service key."""

    def __init__(self, text: str) -> None:
        self.addresses = parse_pool(text)
        self._members = set(self.addresses)
        self.owner: dict[int, str] = {}

    def __bool__(self) -> bool:
        return bool(self.addresses)

    def contains(self, ip: str) -> bool:
        return _as_int(ip) in self._members

    def hold(self, key: str, ip: str) -> bool:
        """Record that `key` holds `ip` (seen in its status); False if someone else does."""
        n = _as_int(ip)
        if n not in self._members:
            return False
        holder = self.owner.setdefault(n, key)
        return holder == key

    def allocate(self, key: str, wanted: str = "") -> str:
        if wanted:
            n = _as_int(wanted)
            if n not in self._members:
                raise PoolError(f'"{wanted}" is not allowed in config')
            holder = self.owner.get(n)
            if holder not in (None, key):
                raise PoolError(f"address also in use by {holder}")
            self.owner[n] = key
            return wanted
        for n in self.addresses:
            if n not in self.owner:
                self.owner[n] = key
                return str(ipaddress.IPv4Address(n))
        raise PoolError("no available IPs")

    def release(self, key: str, ip: str) -> bool:
        n = _as_int(ip)
        if self.owner.get(n) == key:
            del self.owner[n]
            return True
        return False


def _as_int(ip: str) -> int:
    try:
        return int(ipaddress.IPv4Address(ip))
    except ValueError:
        return -1


def ingress_ips(svc: Obj) -> list[str]:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [i["ip"] for i in ingress if isinstance(i, dict) and i.get("ip")]


def requested_ip(svc: Obj) -> str:
    """spec.loadBalancerIP, else the first IPv4 address of MetalLB's annotation."""
    spec = svc.get("spec") or {}
    if spec.get("loadBalancerIP"):
        return str(spec["loadBalancerIP"])
    annotations = (svc.get("metadata") or {}).get("annotations") or {}
    for ip in str(annotations.get(REQUEST_ANNOTATION, "")).split(","):
        if ip.strip() and ":" not in ip:
            return ip.strip()
    return ""


def wants_pool_address(svc: Obj) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")


class ServiceLBController(Controller):
    name = "servicelb"

    def setup(self) -> None:
        self.recorder.component = "service-lb-controller"
        self.pool = LBPool(str(self.options.get("pool") or ""))
        self.assigned: dict[str, str] = {}  # service key -> the address it holds
        self.pending: set[str] = set()  # services waiting for an address to be released
        if not self.pool:
            return  # nothing to hand out: LoadBalancer Services stay <pending>
        self.services = self.informer("v1", "services")
        self.services.add_handler(
            on_add=self._on_service,
            on_update=lambda _old, new: self._on_service(new),
            on_delete=self._on_delete,
        )

    def _on_service(self, svc: Obj) -> None:
        key = object_key(svc)
        if key not in self.assigned and wants_pool_address(svc):
            # An address already in the status (after a restart) is kept, if ours.
            for ip in ingress_ips(svc):
                if self.pool.hold(key, ip):
                    self.assigned[key] = ip
                    break
        self.enqueue_key(key)

    def _on_delete(self, svc: Obj) -> None:
        self.enqueue_key(object_key(svc))

    def _release(self, key: str) -> None:
        ip = self.assigned.pop(key, None)
        self.pending.discard(key)
        if ip is not None and self.pool.release(key, ip):
            # Someone may have been waiting for exactly this.
            for waiting in list(self.pending):
                self.enqueue_key(waiting)

    async def sync(self, key: str) -> None:
        svc = self.services.get(key)
        if svc is None or not wants_pool_address(svc):
            self._release(key)
            return
        ip = self.assigned.get(key)
        wanted = requested_ip(svc)
        if ip is not None and wanted and wanted != ip:
            self._release(key)  # the user asked for another address
            ip = None
        if ip is None:
            ip = await self._allocate(svc, key, wanted)
            if ip is None:
                return
        await self._publish(svc, ip)

    async def _allocate(self, svc: Obj, key: str, wanted: str) -> str | None:
        try:
            ip = self.pool.allocate(key, wanted)
        except PoolError as e:
            self.pending.add(key)
            await self.recorder.event(
                svc, "Warning", "AllocationFailed", f'Failed to allocate IP for "{key}": {e}'
            )
            if ingress_ips(svc):
                await self._write_status(svc, [])  # an address it may not keep
            return None
        self.pending.discard(key)
        self.assigned[key] = ip
        await self.recorder.event(svc, "Normal", "IPAllocated", f'Assigned IP ["{ip}"]')
        return ip

    async def _publish(self, svc: Obj, ip: str) -> None:
        ingress = [{"ip": ip, "ipMode": "VIP"}]
        current = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        if current != ingress:
            await self._write_status(svc, ingress)

    async def _write_status(self, svc: Obj, ingress: list[Obj]) -> None:
        md = svc["metadata"]
        patch = {"status": {"loadBalancer": {"ingress": ingress or None}}}
        try:
            await self.client.patch(
                self.services.res,
                md["name"],
                patch,
                md.get("namespace", ""),
                patch_type="merge",
                subresource="status",
            )
        except Exception as e:
            if not is_not_found(e):
                raise
