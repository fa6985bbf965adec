"""What the proxy reads from Services and EndpointSlices, as small frozen records.

A Service becomes one `ServicePort` per entry of spec.ports (headless and
ExternalName services become none); EndpointSlices become `Endpoint`s grouped by
(namespace, service, port name, protocol), the key upstream's proxy uses too.
A service port finds its endpoints through its *name*, never its targetPort:
the EndpointSlice controller has already resolved a named targetPort to each
pod's container port, so the slice's port for that name carries the number.

`categorize` picks the endpoints traffic may go to, as upstream's
CategorizeEndpoints does without topology hints: Ready endpoints, or, when a
set has none, the ones that are serving and terminating (so a rolling update
whose old pods are draining still answers). publishNotReadyAddresses needs
nothing here: the EndpointSlice controller then marks every address ready.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_TIMEOUT = 10800  # upstream's default sessionAffinityConfig.clientIP.timeoutSeconds
EXTERNAL_TYPES = ("NodePort", "LoadBalancer")

PortKey = tuple[str, str, str, str]  # namespace, service name, port name, protocol


@dataclass(frozen=True)
class ServicePort:
    namespace: str
    name: str
    port_name: str
    protocol: str  # TCP, UDP or SCTP
    port: int
    cluster_ip: str
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    lb_ips: tuple[str, ...] = ()
    lb_source_ranges: tuple[str, ...] = ()
    affinity_timeout: int = 0  # seconds; 0 means no ClientIP affinity
    external_local: bool = False  # externalTrafficPolicy: Local
    internal_local: bool = False  # internalTrafficPolicy: Local

    @property
    def key(self) -> PortKey:
        return (self.namespace, self.name, self.port_name, self.protocol)

    @property
    def label(self) -> str:
        """ "ns/name:port" as upstream prints a ServicePortName ("ns/name" if unnamed)."""
        suffix = f":{self.port_name}" if self.port_name else ""
        return f"{self.namespace}/{self.name}{suffix}"

    @property
    def proto(self) -> str:
        return self.protocol.lower()

    @property
    def externally_accessible(self) -> bool:
        return bool(self.node_port or self.external_ips or self.lb_ips)


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    node_name: str = ""

    @functools.cached_property
    def addr(self) -> str:
        return f"{self.ip}:{self.port}"


def _ipv4(value: Any) -> str:
    """value if it is an IPv4 address (IPv6 services are not proxied yet), else ""."""
    return _parse_ipv4(value) if isinstance(value, str) and value else ""


@functools.lru_cache(maxsize=65536)  # every sync reads the same few thousand addresses
def _parse_ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        return ""


def _ipv4s(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(ip for ip in (_ipv4(v) for v in values) if ip)


def _cluster_ip(spec: Obj) -> str:
    for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
        if found := _ipv4(ip):
            return found
    return ""


def _affinity_timeout(spec: Obj) -> int:
    if spec.get("sessionAffinity") != "ClientIP":
        return 0
    config = ((spec.get("sessionAffinityConfig") or {}).get("clientIP")) or {}
    return int(config.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)


def _lb_ips(svc: Obj) -> tuple[str, ...]:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    # ipMode Proxy: the load balancer itself proxies, so the node must not capture the VIP.
    return _ipv4s(i.get("ip") for i in ingress if i.get("ipMode") != "Proxy")


def service_ports(svc: Obj) -> list[ServicePort]:
    """The proxied ports of a Service (none for headless and ExternalName services)."""
    spec = svc.get("spec") or {}
    svc_type = spec.get("type") or "ClusterIP"
    cluster_ip = _cluster_ip(spec)
    if svc_type == "ExternalName" or not cluster_ip:
        return []
    md = svc.get("metadata") or {}
    external = svc_type in EXTERNAL_TYPES
    is_lb = svc_type == "LoadBalancer"
    common = {
        "namespace": md.get("namespace") or "default",
        "name": md.get("name") or "",
        "cluster_ip": cluster_ip,
        "external_ips": _ipv4s(spec.get("externalIPs") or []),
        "lb_ips": _lb_ips(svc) if is_lb else (),
        "lb_source_ranges": tuple(spec.get("loadBalancerSourceRanges") or []) if is_lb else (),
        "affinity_timeout": _affinity_timeout(spec),
        "internal_local": spec.get("internalTrafficPolicy") == "Local",
    }
    out = []
    for p in spec.get("ports") or []:
        sp = ServicePort(
            port_name=p.get("name") or "",
            protocol=p.get("protocol") or "TCP",
            port=int(p.get("port") or 0),
            node_port=int(p.get("nodePort") or 0) if external else 0,
            **common,
        )
        # Only external traffic has an external policy (upstream's ExternalPolicyLocal).
        local = sp.externally_accessible and spec.get("externalTrafficPolicy") == "Local"
        out.append(replace(sp, external_local=True) if local else sp)
    return out


def _endpoint(ep: Obj, port: int) -> Endpoint | None:
    addresses = ep.get("addresses") or []
    ip = _ipv4(addresses[0]) if addresses else ""
    if not ip:
        return None
    cond = ep.get("conditions") or {}
    ready = cond.get("ready") is not False  # unset means ready (EndpointConditions)
    serving = ready if cond.get("serving") is None else bool(cond["serving"])
    terminating = bool(cond.get("terminating"))
    return Endpoint(ip, port, ready, serving, terminating, ep.get("nodeName") or "")


def slice_service(es: Obj) -> tuple[str, str] | None:
    """The (namespace, service) an EndpointSlice belongs to, or None."""
    md = es.get("metadata") or {}
    name = (md.get("labels") or {}).get(SERVICE_NAME_LABEL)
    if not name or es.get("addressType", "IPv4") != "IPv4":
        return None
    return (md.get("namespace") or "default", name)


def slice_endpoints(es: Obj) -> dict[PortKey, list[Endpoint]]:
    """One slice's endpoints per service port key."""
    owner = slice_service(es)
    if owner is None:
        return {}
    out: dict[PortKey, list[Endpoint]] = {}
    for p in es.get("ports") or []:
        number = p.get("port")
        if not number:
            continue
        key = (owner[0], owner[1], p.get("name") or "", p.get("protocol") or "TCP")
        eps = out.setdefault(key, [])
        for ep in es.get("endpoints") or []:
            if (found := _endpoint(ep, int(number))) is not None:
                eps.append(found)
    return out


def _rank(ep: Endpoint) -> tuple[bool, bool]:
    return (ep.ready, ep.serving)


def merge_slice_endpoints(
    per_slice: Iterable[dict[PortKey, list[Endpoint]]],
) -> dict[PortKey, list[Endpoint]]:
    """Endpoints of several slices per port key: one per ip:port (a ready copy wins
    over a stale one while a pod moves between slices), sorted by address."""
    merged: dict[PortKey, dict[str, Endpoint]] = {}
    for found in per_slice:
        for key, eps in found.items():
            by_addr = merged.setdefault(key, {})
            for ep in eps:
                old = by_addr.get(ep.addr)
                if old is None or _rank(ep) > _rank(old):
                    by_addr[ep.addr] = ep
    return {key: sorted(v.values(), key=_sort_key) for key, v in merged.items()}


def merge_endpoints(slices: Iterable[Obj]) -> dict[PortKey, list[Endpoint]]:
    return merge_slice_endpoints(slice_endpoints(es) for es in slices)


def _sort_key(ep: Endpoint) -> tuple[tuple[int, ...], int]:
    return (tuple(int(octet) for octet in ep.ip.split(".")), ep.port)


def usable(eps: Iterable[Endpoint], nodes: frozenset[str] | None = None) -> list[Endpoint]:
    """Ready endpoints (on `nodes`, if given), else the serving-terminating ones."""
    pool = [ep for ep in eps if nodes is None or ep.node_name in nodes]
    ready = [ep for ep in pool if ep.ready]
    return ready or [ep for ep in pool if ep.serving and ep.terminating]
