"""Cluster names to records: the Kubernetes DNS schema (kubernetes/dns specification
1.1.0), answered as CoreDNS's kubernetes plugin answers it, from informer caches.

Names inside the cluster zone (all comparisons case-insensitive):

- `<svc>.<ns>.svc.<zone>`: A/AAAA of the ClusterIP(s); for a headless service one
  record per ready endpoint address (no ready endpoint: an empty NOERROR, the
  service exists); an ExternalName service answers a CNAME to its externalName.
- `<hostname>.<svc>.<ns>.svc.<zone>`: the ready endpoints whose hostname (or, lacking
  one, dashed IP "10-1-2-3") is `<hostname>`.
- `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV: one per matching named port, target
  the service name (ClusterIP) or one per ready endpoint, target
  `<hostname>.<svc>...` (headless); the targets' addresses ride in Additional.
  An SRV query for the service name itself lists every port.
- `<a-b-c-d>.<ns>.pod.<zone>`: A when a pod in `<ns>` has that IP (CoreDNS's
  `pods verified`).
- `dns-version.<zone>` TXT "1.1.0"; the apex answers SOA and NS (ns.dns.<zone>,
  whose A is the kube-dns Service IP).

An unknown name gets NXDOMAIN and an existing one asked for a type it lacks gets
NOERROR with no answer (NODATA), both with the zone's SOA in Authority, whose
minimum is the TTL (5 s, the plugin's default) so negative answers are cached no
longer than positive ones. PTR names of service and endpoint addresses are answered
by `reverse`; any other reverse name is the caller's to forward (the plugin's
`fallthrough in-addr.arpa ip6.arpa`).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from pyk8s.dns.wire import (
    AAAA,
    CNAME,
    NOERROR,
    NS,
    NXDOMAIN,
    PTR,
    RR,
    SOA,
    SRV,
    TXT,
    A,
)

Obj = dict[str, Any]

TTL = 5
SCHEMA_VERSION = "1.1.0"
SCHEMA_TTL = 28800
SERVICE_NAME_LABEL = "kubernetes.io/service-name"

SLICE_SERVICE_INDEX = "dns:service"
SLICE_ADDRESS_INDEX = "dns:address"
SERVICE_IP_INDEX = "dns:clusterip"
POD_IP_INDEX = "dns:podip"


class Cache(Protocol):
    """What the resolver reads: an Informer, or a bare Indexer in tests."""

    def get(self, key: str) -> Obj | None: ...

    def by_index(self, name: str, value: str) -> list[Obj]: ...

    def add_index(self, name: str, fn: Any) -> None: ...


@dataclass
class Answer:
    rcode: int
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    # An ExternalName's target still to be resolved (for the same type) and appended.
    chase: str = ""


class Target(NamedTuple):
    host: str  # the name an SRV record points at
    ip: str
    port: int | None


# -- indexes over the caches ---------------------------------------------------------------


def normalize_ip(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


def _md(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def slice_service_index(sl: Obj) -> list[str]:
    name = (_md(sl).get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{_md(sl).get('namespace', '')}/{name}"] if name else []


def slice_address_index(sl: Obj) -> list[str]:
    return [normalize_ip(a) for ep in ready_endpoints(sl) for a in ep.get("addresses") or []]


def service_ip_index(svc: Obj) -> list[str]:
    return [normalize_ip(ip) for ip in cluster_ips(svc)]


def pod_ip_index(pod: Obj) -> list[str]:
    status = pod.get("status") or {}
    ips = [p.get("ip", "") for p in status.get("podIPs") or []]
    if status.get("podIP"):
        ips.append(status["podIP"])
    return sorted({normalize_ip(ip) for ip in ips if ip})


def install_indexes(services: Cache, slices: Cache, pods: Cache | None) -> None:
    """Add the resolver's indexes to the caches (already there: left alone)."""
    wanted: list[tuple[Cache | None, str, Any]] = [
        (services, SERVICE_IP_INDEX, service_ip_index),
        (slices, SLICE_SERVICE_INDEX, slice_service_index),
        (slices, SLICE_ADDRESS_INDEX, slice_address_index),
        (pods, POD_IP_INDEX, pod_ip_index),
    ]
    for cache, name, fn in wanted:
        if cache is None:
            continue
        try:
            cache.add_index(name, fn)
        except ValueError:
            pass  # shared cache, index added before


# -- reading objects -----------------------------------------------------------------------


def cluster_ips(svc: Obj) -> list[str]:
    spec = svc.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [ip for ip in ips if ip and ip != "None"]


def is_headless(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def ready_endpoints(sl: Obj) -> list[Obj]:
    """Endpoints whose ready condition is true or unset (unset means ready, as upstream)."""
    out = []
    for ep in sl.get("endpoints") or []:
        if (ep.get("conditions") or {}).get("ready") in (None, True):
            out.append(ep)
    return out


def dashed(ip: str) -> str:
    """The hostname of an endpoint without one: 10.1.2.3 -> 10-1-2-3, fd00::1 -> fd00--1."""
    return ip.replace(".", "-").replace(":", "-")


def ip_from_dashed(label: str) -> str | None:
    # The plugin's rule: three single dashes make an IPv4 address, anything else IPv6.
    ipv4 = label.count("-") == 3 and "--" not in label
    text = label.replace("-", "." if ipv4 else ":")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def ip_from_reverse(name: str) -> str | None:
    """The address of a full in-addr.arpa / ip6.arpa name; None for anything else."""
    labels = name.lower().rstrip(".").split(".")
    try:
        if labels[-2:] == ["in-addr", "arpa"] and len(labels) == 6:
            return str(ipaddress.IPv4Address(".".join(reversed(labels[:4]))))
        if labels[-2:] == ["ip6", "arpa"] and len(labels) == 34:
            nibbles = "".join(reversed(labels[:32]))
            return str(ipaddress.IPv6Address(int(nibbles, 16)))
    except ValueError:
        return None
    return None


def family(ip: str) -> int:
    """The record type of an address: AAAA for IPv6, A otherwise."""
    return AAAA if ":" in ip else A


def _port_matches(port: Obj, name: str, proto: str) -> bool:
    if name and (port.get("name") or "").lower() != name:
        return False
    return not proto or (port.get("protocol") or "TCP").lower() == proto


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


# -- the resolver --------------------------------------------------------------------------


class Resolver:
    def __init__(
        self,
        zone: str,
        services: Cache,
        slices: Cache,
        pods: Cache | None = None,
        namespaces: Cache | None = None,
        *,
        dns_ips: Iterable[str] = (),
        ttl: int = TTL,
    ) -> None:
        self.zone = zone.lower().strip(".")
        self.services, self.slices = services, slices
        self.pods, self.namespaces = pods, namespaces
        self.dns_ips = list(dns_ips)
        self.ttl = ttl
        self.serial = int(time.time())
        self.generation = 0  # bumped on every change of the caches (response cache key)
        install_indexes(services, slices, pods)

    def touch(self, *_: object) -> None:
        """A cached object changed: new SOA serial (the plugin's last-modified time)."""
        self.serial = int(time.time())
        self.generation += 1

    def in_zone(self, qname: str) -> bool:
        name = qname.lower().rstrip(".")
        return name == self.zone or name.endswith("." + self.zone)

    # -- answers ---------------------------------------------------------------------------

    def soa(self) -> RR:
        z = self.zone
        data = (f"ns.dns.{z}", f"hostmaster.{z}", self.serial, 7200, 1800, 86400, self.ttl)
        return RR(z, SOA, self.ttl, data)

    def nxdomain(self) -> Answer:
        return Answer(NXDOMAIN, authority=[self.soa()])

    def nodata(self) -> Answer:
        return Answer(NOERROR, authority=[self.soa()])

    def _records(self, qname: str, qtype: int, ips: Iterable[str]) -> Answer:
        answer = [RR(qname, qtype, self.ttl, ip) for ip in _unique(ips) if family(ip) == qtype]
        return Answer(NOERROR, answer) if answer else self.nodata()

    # -- names in the zone -----------------------------------------------------------------

    def resolve(self, qname: str, qtype: int) -> Answer:
        """The answer for a name inside the zone (`in_zone(qname)`)."""
        name = qname.lower().rstrip(".")
        base = name[: -len(self.zone)].rstrip(".")
        segs = base.split(".") if base else []
        if not segs:
            return self._apex(qname, qtype)
        if segs == ["dns-version"]:
            if qtype != TXT:
                return self.nodata()
            return Answer(NOERROR, [RR(qname, TXT, SCHEMA_TTL, (SCHEMA_VERSION,))])
        if segs == ["ns", "dns"]:
            return (
                self._records(qname, qtype, self.dns_ips) if qtype in (A, AAAA) else self.nodata()
            )
        kind = segs[-1]
        if kind not in ("svc", "pod"):
            return self.nxdomain()
        if len(segs) == 1:
            return self.nodata()
        ns = segs[-2]
        if not self._namespace_exists(ns):
            return self.nxdomain()
        if len(segs) == 2:
            return self.nodata()
        if kind == "pod":
            return self._pod(qname, qtype, segs[:-2], ns)
        return self._service_name(qname, qtype, segs[:-3], segs[-3], ns)

    def _apex(self, qname: str, qtype: int) -> Answer:
        if qtype == SOA:
            return Answer(NOERROR, [self.soa()._replace(name=qname)])
        if qtype == NS:
            ns_name = f"ns.dns.{self.zone}"
            extra = [RR(ns_name, family(ip), self.ttl, ip) for ip in self.dns_ips]
            return Answer(NOERROR, [RR(qname, NS, self.ttl, ns_name)], additional=extra)
        return self.nodata()

    def _namespace_exists(self, ns: str) -> bool:
        return self.namespaces is None or self.namespaces.get(ns) is not None

    def _pod(self, qname: str, qtype: int, rest: list[str], ns: str) -> Answer:
        ip = ip_from_dashed(rest[0]) if len(rest) == 1 else None
        if ip is None or self.pods is None:
            return self.nxdomain()
        found = [
            p
            for p in self.pods.by_index(POD_IP_INDEX, ip)
            if _md(p).get("namespace") == ns
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ]
        if not found:
            return self.nxdomain()
        return self._records(qname, qtype, [ip]) if qtype in (A, AAAA) else self.nodata()

    def _service_name(self, qname: str, qtype: int, rest: list[str], name: str, ns: str) -> Answer:
        endpoint = port = proto = ""
        if len(rest) == 1:
            endpoint = rest[0]
        elif len(rest) == 2:
            port, proto = rest[0].removeprefix("_"), rest[1].removeprefix("_")
        elif rest:
            return self.nxdomain()  # longer than any name of the schema
        svc = self.services.get(f"{ns}/{name}")
        if svc is None:
            return self.nxdomain()
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return self._external(qname, qtype, spec, bool(rest))
        fqdn = f"{name}.{ns}.svc.{self.zone}"
        targets = self._targets(svc, fqdn, endpoint, port, proto)
        if targets is None:
            return self.nxdomain()
        if qtype in (A, AAAA):
            return self._records(qname, qtype, (t.ip for t in targets))
        if qtype == SRV:
            return self._srv(qname, targets)
        return self.nodata()

    def _external(self, qname: str, qtype: int, spec: Obj, qualified: bool) -> Answer:
        # No endpoints and no ports of its own: a longer name under it does not exist.
        target = (spec.get("externalName") or "").rstrip(".")
        if qualified or not target:
            return self.nxdomain() if qualified else self.nodata()
        if qtype == SRV:
            return self.nodata()  # the plugin answers SRV from internal records only
        cname = RR(qname, CNAME, self.ttl, target)
        return Answer(NOERROR, [cname], chase="" if qtype == CNAME else target)

    def _targets(
        self, svc: Obj, fqdn: str, endpoint: str, port: str, proto: str
    ) -> list[Target] | None:
        """The (host, ip, port) the name stands for; None when a qualified name (an
        endpoint, a port) matches nothing, which makes it NXDOMAIN."""
        qualified = bool(endpoint or port or proto)
        if is_headless(svc) or endpoint:
            found = self._endpoint_targets(svc, fqdn, endpoint, port, proto)
            headless_name = is_headless(svc) and not qualified
            return found if found or headless_name else None
        ports = [
            p for p in (svc.get("spec") or {}).get("ports") or [] if _port_matches(p, port, proto)
        ]
        if qualified and not ports:
            return None
        numbers = [p.get("port") for p in ports] or [None]
        return [Target(fqdn, ip, n) for n in numbers for ip in cluster_ips(svc)]

    def _endpoint_targets(
        self, svc: Obj, fqdn: str, endpoint: str, port: str, proto: str
    ) -> list[Target]:
        key = f"{_md(svc).get('namespace', '')}/{_md(svc).get('name', '')}"
        out: list[Target] = []
        for sl in self.slices.by_index(SLICE_SERVICE_INDEX, key):
            slice_ports = sl.get("ports") or []
            ports = [p for p in slice_ports if _port_matches(p, port, proto)]
            numbers: list[int | None] = [p.get("port") for p in ports]
            if not slice_ports and not (port or proto):
                numbers = [None]  # a portless headless service still has addresses
            for ep in ready_endpoints(sl):
                for addr in ep.get("addresses") or []:
                    host = ep.get("hostname") or dashed(addr)
                    if endpoint and host.lower() != endpoint:
                        continue
                    out += [Target(f"{host}.{fqdn}", addr, n) for n in numbers]
        return _unique(out)

    def _srv(self, qname: str, targets: list[Target]) -> Answer:
        pairs = _unique((t.host, t.port) for t in targets if t.port is not None)
        if not pairs:
            return self.nodata()
        weight = 100 // len(pairs)  # equal shares, as the plugin splits 100 among them
        answer = [RR(qname, SRV, self.ttl, (0, weight, port, host)) for host, port in pairs]
        extra = [
            RR(host, family(ip), self.ttl, ip)
            for host, ip in _unique((t.host, t.ip) for t in targets if t.port is not None)
        ]
        return Answer(NOERROR, answer, additional=extra)

    # -- reverse names -------------------------------------------------------------------

    def reverse(self, qname: str, qtype: int) -> Answer | None:
        """PTR of a service's cluster IP or of a ready endpoint's address; None for any
        other name (left to the upstream resolvers)."""
        ip = ip_from_reverse(qname)
        if ip is None or qtype != PTR:
            return None
        names = [
            f"{_md(s).get('name')}.{_md(s).get('namespace')}.svc.{self.zone}"
            for s in self.services.by_index(SERVICE_IP_INDEX, ip)
        ]
        for sl in self.slices.by_index(SLICE_ADDRESS_INDEX, ip):
            svc = (_md(sl).get("labels") or {}).get(SERVICE_NAME_LABEL)
            for ep in ready_endpoints(sl):
                if ip in (normalize_ip(a) for a in ep.get("addresses") or []):
                    host = ep.get("hostname") or dashed(ip)
                    names.append(f"{host}.{svc}.{_md(sl).get('namespace')}.svc.{self.zone}")
        if not names:
            return None
        return Answer(NOERROR, [RR(qname, PTR, self.ttl, n) for n in _unique(names)])
