"""The API server's side of Services: cluster IPs and node ports handed out when a
Service is created, re-balanced when its type changes, and given back when it is
deleted (upstream's service REST storage, pkg/registry/core/service/storage/alloc.go).

The allocator runs as registry hooks, after validation and before the store
write. Each hook returns a transaction: the registry commits it once the write
is stored (releasing what the update gave up) and reverts it when the write
fails (releasing what the request took), so a lost race or a failed create never
leaks an address. State lives in memory only and is rebuilt from the stored
Services when the server starts, so a restart keeps every allocation.

Dry runs behave as upstream's: a requested IP is only checked against the range,
a dynamic one shows the network address, and node ports are checked or given
placeholder numbers; nothing is taken.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pyk8s.api.kinds._util import go_string_slice, invalid_rendered
from pyk8s.apiserver.services.portop import PortOperation
from pyk8s.apiserver.services.ranges import (
    AllocationError,
    NodePorts,
    ServiceIPs,
    parse_port_range,
)
from pyk8s.machinery import errors

Obj = dict[str, Any]
log = logging.getLogger(__name__)

KUBERNETES_KEY = "default/kubernetes"
EXTERNAL_TYPES = ("NodePort", "LoadBalancer")
SERVICE = ("", "Service")


@dataclass
class ServiceNetwork:
    """kube-apiserver's --service-cluster-ip-range, --service-node-port-range and
    --advertise-address."""

    cidr: str
    node_port_range: str = "30000-32767"
    advertise_address: str = "127.0.0.1"


class Transaction:
    """What to do once the write is stored (commit) or has failed (revert)."""

    def __init__(
        self, commit: Callable[[], None] | None = None, revert: Callable[[], None] | None = None
    ) -> None:
        self._commit = commit
        self._revert = revert

    def commit(self) -> None:
        if self._commit is not None:
            self._commit()

    def revert(self) -> None:
        if self._revert is not None:
            self._revert()


# -- reading a Service --------------------------------------------------------------


def _spec(svc: Obj) -> Obj:
    spec = svc.get("spec")
    return spec if isinstance(spec, dict) else {}


def _type(spec: Obj) -> str:
    return spec.get("type") or "ClusterIP"


def cluster_ips(spec: Obj) -> list[str]:
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [ip for ip in ips if isinstance(ip, str)]


def _gets_ip(spec: Obj) -> bool:
    """Not ExternalName and not headless: a Service that holds a cluster IP."""
    return _type(spec) != "ExternalName" and (cluster_ips(spec) or [""])[0] != "None"


def _needs_health_check(spec: Obj) -> bool:
    return _type(spec) == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _allocates_node_ports(spec: Obj) -> bool:
    if _type(spec) == "NodePort":
        return True
    return _type(spec) == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False


def _ports(spec: Obj) -> list[Obj]:
    return [p for p in spec.get("ports") or [] if isinstance(p, dict)]


def node_ports(spec: Obj) -> list[int]:
    return [
        p["nodePort"] for p in _ports(spec) if isinstance(p.get("nodePort"), int) and p["nodePort"]
    ]


def _key(svc: Obj) -> str:
    md = svc.get("metadata") or {}
    return f"{md.get('namespace', '')}/{md.get('name', '')}"


def _name(svc: Obj) -> str:
    return (svc.get("metadata") or {}).get("name", "")


def _invalid(svc: Obj, causes: list[errors.Cause]) -> errors.StatusError:
    return errors.invalid("Service", "", _name(svc), causes)


# -- the allocator ------------------------------------------------------------------


class ServiceAllocator:
    def __init__(self, network: ServiceNetwork, rng: Any = None) -> None:
        self.network = network
        self.ips = ServiceIPs(network.cidr, rng)
        if self.ips.family != "IPv4":
            raise ValueError(f"service CIDR {network.cidr}: only IPv4 service ranges are supported")
        self.ports = NodePorts(*parse_port_range(network.node_port_range), rng=rng)
        # The first address belongs to the `kubernetes` Service, whether or not it exists yet.
        self.kubernetes_ip = self.ips.nth(1)
        self.ips.allocate(self.kubernetes_ip)

    def install(self, registry: Any) -> None:
        """Hook into the registry's Service writes."""
        registry.create_hooks.setdefault(SERVICE, []).append(self.on_create)
        registry.update_hooks.setdefault(SERVICE, []).append(self.on_update)
        registry.delete_hooks.setdefault(SERVICE, []).append(self.on_delete)

    # -- restart ----------------------------------------------------------------------

    def rebuild(self, services: Iterable[Obj]) -> None:
        """Mark what stored Services hold (the server's start, before any request)."""
        for svc in services:
            spec = _spec(svc)
            if _gets_ip(spec):
                for ip in cluster_ips(spec)[:1]:
                    self._occupy(_key(svc), ip)
            held = node_ports(spec)
            if _needs_health_check(spec) and spec.get("healthCheckNodePort"):
                held.append(spec["healthCheckNodePort"])
            for port in held:
                try:
                    self.ports.allocate(port)
                except AllocationError as e:
                    log.warning("service %s: node port %s: %s", _key(svc), port, e)

    def _occupy(self, key: str, ip: str) -> None:
        if ip == self.kubernetes_ip and key == KUBERNETES_KEY:
            return
        try:
            self.ips.allocate(ip)
        except AllocationError as e:
            log.warning("service %s: cluster IP %s: %s; please recreate the service", key, ip, e)

    # -- hooks ------------------------------------------------------------------------

    async def on_create(self, svc: Obj, ctx: Any) -> Transaction:
        return self.allocate_create(svc, bool(getattr(ctx, "dry_run", False)))

    async def on_update(self, new: Obj, old: Obj, ctx: Any) -> Transaction:
        # The spec may be shared with the caller's object, which a retry offers again.
        new["spec"] = copy.deepcopy(_spec(new))
        return self.allocate_update(new, old, bool(getattr(ctx, "dry_run", False)))

    async def on_delete(self, svc: Obj) -> None:
        self.release(svc)

    # -- create -----------------------------------------------------------------------

    def allocate_create(self, svc: Obj, dry_run: bool) -> Transaction:
        ips = self._alloc_cluster_ip(svc, dry_run)
        op = PortOperation(self.ports, dry_run)
        spec = _spec(svc)
        try:
            if _type(spec) in EXTERNAL_TYPES:
                self._init_node_ports(svc, op)
            if _needs_health_check(spec):
                self._alloc_health_check(spec, op)
        except BaseException:
            op.rollback()
            self._release_ips(ips, dry_run)
            raise

        def revert() -> None:
            op.rollback()
            self._release_ips(ips, dry_run)

        return Transaction(commit=op.commit, revert=revert)

    def _alloc_cluster_ip(self, svc: Obj, dry_run: bool) -> list[str]:
        """Give the Service its cluster IP; returns what was taken (for a revert)."""
        spec = _spec(svc)
        if not _gets_ip(spec):
            return []
        self._check_families(svc)
        requested = (cluster_ips(spec) or [""])[0]
        ip = self._allocate_ip(svc, requested, dry_run)
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
        return [ip]

    def _check_families(self, svc: Obj) -> None:
        """A single-stack cluster refuses what only dual-stack or IPv6 could give."""
        spec = _spec(svc)
        causes: list[errors.Cause] = []
        if spec.get("ipFamilyPolicy") == "RequireDualStack":
            causes.append(
                errors.field_invalid(
                    "spec.ipFamilyPolicy",
                    "RequireDualStack",
                    "this cluster is not configured for dual-stack services",
                )
            )
        for i, family in enumerate(spec.get("ipFamilies") or []):
            if family != self.ips.family:
                causes.append(
                    errors.field_invalid(
                        f"spec.ipFamilies[{i}]", family, "not configured on this cluster"
                    )
                )
        ips = cluster_ips(spec)
        for i, ip in enumerate(ips):
            if ":" in ip:
                causes.append(
                    invalid_rendered(
                        f"spec.clusterIPs[{i}]",
                        go_string_slice(ips),
                        "IPv6 is not configured on this cluster",
                    )
                )
        if causes:
            raise _invalid(svc, causes)

    def _allocate_ip(self, svc: Obj, requested: str, dry_run: bool) -> str:
        if not requested:
            if dry_run:
                return str(self.ips.network.network_address)
            try:
                return self.ips.allocate_next()
            except AllocationError as e:
                raise errors.internal(f"failed to allocate a serviceIP: {e}") from None
        if requested == self.kubernetes_ip and _key(svc) == KUBERNETES_KEY:
            return requested
        try:
            if dry_run:
                self.ips.check(requested)
            else:
                self.ips.allocate(requested)
        except AllocationError as e:
            rendered = go_string_slice(cluster_ips(_spec(svc)) or [requested])
            detail = f"failed to allocate IP {requested}: {e}"
            raise _invalid(svc, [invalid_rendered("spec.clusterIPs", rendered, detail)]) from None
        return requested

    def _init_node_ports(self, svc: Obj, op: PortOperation) -> None:
        """Every port of a NodePort/LoadBalancer Service gets a node port; ports that
        share a port number (TCP and UDP 53) share their node port."""
        spec = _spec(svc)
        ports = _ports(spec)
        allocate_new = _allocates_node_ports(spec)
        by_port: dict[Any, int] = {}
        for i, port in enumerate(ports):
            if not port.get("nodePort") and not allocate_new:
                continue  # no new ports, but requested ones are honoured
            have = by_port.get(port.get("port"))
            if not have:
                wanted = _requested_node_port(port.get("port"), ports)
                if wanted:
                    self._take_port(svc, op, wanted, i)
                    port["nodePort"] = wanted
                else:
                    port["nodePort"] = self._next_port(op)
                by_port[port.get("port")] = port["nodePort"]
            elif port.get("nodePort") != have:
                if not port.get("nodePort"):
                    port["nodePort"] = have
                else:
                    self._take_port(svc, op, port["nodePort"], i)

    def _take_port(self, svc: Obj, op: PortOperation, port: int, index: int) -> None:
        try:
            op.allocate(port)
        except AllocationError as e:
            cause = errors.field_invalid(f"spec.ports[{index}].nodePort", port, str(e))
            raise _invalid(svc, [cause]) from None

    @staticmethod
    def _next_port(op: PortOperation) -> int:
        try:
            return op.allocate_next()
        except AllocationError as e:
            raise errors.internal(f"failed to allocate a nodePort: {e}") from None

    @staticmethod
    def _alloc_health_check(spec: Obj, op: PortOperation) -> None:
        wanted = spec.get("healthCheckNodePort")
        try:
            if wanted:
                op.allocate(wanted)
            else:
                spec["healthCheckNodePort"] = op.allocate_next()
        except AllocationError as e:
            what = (
                f"requested HealthCheck NodePort {wanted}" if wanted else "a HealthCheck NodePort 0"
            )
            raise errors.internal(f"failed to allocate {what}: {e}") from None

    # -- update -----------------------------------------------------------------------

    def allocate_update(self, new: Obj, old: Obj, dry_run: bool) -> Transaction:
        taken, given_up = self._update_cluster_ips(new, old, dry_run)
        op = PortOperation(self.ports, dry_run)
        try:
            self._update_node_ports(new, old, op)
            self._update_health_check(new, old, op)
        except BaseException:
            op.rollback()
            self._release_ips(taken, dry_run)
            raise

        def commit() -> None:
            self._release_ips(given_up, dry_run)
            op.commit()

        def revert() -> None:
            op.rollback()
            self._release_ips(taken, dry_run)

        return Transaction(commit=commit, revert=revert)

    def _update_cluster_ips(self, new: Obj, old: Obj, dry_run: bool) -> tuple[list[str], list[str]]:
        """(taken now, to give back once stored) for a type change."""
        nspec, ospec = _spec(new), _spec(old)
        if _type(ospec) == "ExternalName" and _type(nspec) != "ExternalName":
            return self._alloc_cluster_ip(new, dry_run), []
        if not _gets_ip(ospec) and _type(ospec) != "ExternalName":
            return [], []  # headless stays headless (clusterIP is immutable)
        if _type(nspec) == "ExternalName":
            return [], cluster_ips(ospec)
        if not cluster_ips(ospec):
            # Stored before this server allocated anything: it gets its IP now.
            return self._alloc_cluster_ip(new, dry_run), []
        return [], []

    def _update_node_ports(self, new: Obj, old: Obj, op: PortOperation) -> None:
        nspec, ospec = _spec(new), _spec(old)
        if _type(ospec) in EXTERNAL_TYPES and _type(nspec) not in EXTERNAL_TYPES:
            for port in node_ports(ospec):
                op.release_deferred(port)
        if _type(nspec) not in EXTERNAL_TYPES:
            return
        before = node_ports(ospec) if _type(ospec) in EXTERNAL_TYPES else []
        allocate_new = _allocates_node_ports(nspec)
        seen: set[tuple[str, int]] = set()
        taken_now: set[int] = set()
        for i, port in enumerate(_ports(nspec)):
            wanted = port.get("nodePort")
            if not wanted and not allocate_new:
                continue
            if wanted:
                if wanted not in before and wanted not in taken_now:
                    self._take_port(new, op, wanted, i)
                    taken_now.add(wanted)
            else:
                wanted = port["nodePort"] = self._next_port(op)
            pair = (port.get("protocol") or "TCP", wanted)
            if pair in seen:
                raise errors.internal(f"duplicate nodePort: {{{pair[0]} {pair[1]}}}")
            seen.add(pair)
        kept = set(node_ports(nspec))
        for port in before:
            if port not in kept:
                op.release_deferred(port)

    def _update_health_check(self, new: Obj, old: Obj, op: PortOperation) -> None:
        nspec, ospec = _spec(new), _spec(old)
        needed, needs = _needs_health_check(ospec), _needs_health_check(nspec)
        if needs and not needed:
            self._alloc_health_check(nspec, op)
        elif needed and not needs and ospec.get("healthCheckNodePort"):
            op.release_deferred(ospec["healthCheckNodePort"])

    # -- delete -----------------------------------------------------------------------

    def release(self, svc: Obj) -> None:
        """Give back everything a deleted Service held."""
        spec = _spec(svc)
        if _gets_ip(spec):
            self._release_ips(cluster_ips(spec), False)
        for port in node_ports(spec):
            self.ports.release(port)
        if _needs_health_check(spec) and spec.get("healthCheckNodePort"):
            self.ports.release(spec["healthCheckNodePort"])

    def _release_ips(self, ips: list[str], dry_run: bool) -> None:
        if dry_run:
            return
        for ip in ips:
            if ip != self.kubernetes_ip:  # reserved for the `kubernetes` Service for good
                self.ips.release(ip)


def _requested_node_port(port: Any, ports: list[Obj]) -> int:
    """The node port some entry with this port number asks for, 0 if none does."""
    for p in ports:
        if p.get("port") == port and p.get("nodePort"):
            return int(p["nodePort"])
    return 0
