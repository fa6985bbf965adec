"""Services and EndpointSlices -> the proxy's iptables rules (a pure function).

The layout is upstream kube-proxy's iptables proxier, every chain name carrying
the proxy's prefix `P` (so several proxies share one network namespace):

nat table
  P-SERVICES     from PREROUTING and OUTPUT: ClusterIP, external IP and
                 load-balancer IP captures; last, one jump per node IP to
  P-NODEPORTS    NodePort captures
  P-SVC-<hash>   per service port: balance across its usable endpoints
                 (`-m statistic --mode random --probability 1/n`, 1/(n-1), ...)
  P-SVL-<hash>   the same over node-local endpoints (traffic policy Local)
  P-EXT-<hash>   external traffic (NodePort, LB, external IPs): masquerade and
                 SVC, or, for externalTrafficPolicy Local, short-circuit pod and
                 host traffic to SVC and send the rest to SVL
  P-FW-<hash>    loadBalancerSourceRanges
  P-SEP-<hash>   per endpoint: masquerade hairpin traffic, DNAT
  P-MARK-MASQ    set the masquerade bit; P-POSTROUTING masquerades marked packets
filter table
  P-SERVICES     REJECT for ClusterIPs without endpoints (DROP: none local)
  P-EXT-SERVICES the same for NodePorts, LB and external IPs
  P-FORWARD      accept marked and established forwarded traffic
  P-FIREWALL     drop LB traffic the source ranges refused

Hashes are 12 hex digits of a sha256 over the service port (and endpoint, and
node set), so a chain keeps its name across syncs and restarts.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pyk8s.proxy.memo import Memo
from pyk8s.proxy.model import Endpoint, Obj, PortKey, ServicePort, merge_slice_endpoints
from pyk8s.proxy.model import usable as usable_endpoints
from pyk8s.proxy.ruleset import Jump, Ruleset

MASQ_MARK = 0x4000  # kube-proxy's bit; several proxies may share it (see docs/proxy.md)
MAX_CHAIN = 28  # iptables' limit on chain names
PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,7}$")
REJECT = "REJECT --reject-with icmp-port-unreachable"
NODEPORTS_COMMENT = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"'


@dataclass(frozen=True)
class ProxyConfig:
    prefix: str
    node_ips: Mapping[str, str] = field(default_factory=dict)  # node name -> its NodePort IP
    cluster_cidr: str = ""  # pod range: traffic from elsewhere to a ClusterIP is masqueraded
    mark: int = MASQ_MARK

    def __post_init__(self) -> None:
        if not PREFIX_RE.match(self.prefix):
            raise ValueError(f"proxy prefix {self.prefix!r}: 1-8 letters/digits, a letter first")
        for ip in self.node_ips.values():
            ipaddress.IPv4Address(ip)
        if self.cluster_cidr:
            ipaddress.IPv4Network(self.cluster_cidr, strict=False)

    @property
    def comment(self) -> str:
        """The comment on the proxy's jumps in built-in chains."""
        return f"pyk8s proxy {self.prefix}"

    @property
    def mark_mask(self) -> str:
        return f"{self.mark:#x}/{self.mark:#x}"

    def chain(self, name: str) -> str:
        full = f"{self.prefix}-{name}"
        assert len(full) <= MAX_CHAIN, full
        return full


def chain_hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12].upper()


def jumps(cfg: ProxyConfig) -> list[Jump]:
    """Where the built-in chains enter the proxy's chains (as upstream's jump table)."""
    new = ("-m", "conntrack", "--ctstate", "NEW")
    c = cfg.chain
    return [
        Jump("nat", "PREROUTING", c("SERVICES")),
        Jump("nat", "OUTPUT", c("SERVICES")),
        Jump("nat", "POSTROUTING", c("POSTROUTING")),
        Jump("filter", "INPUT", c("EXT-SERVICES"), new),
        Jump("filter", "INPUT", c("FIREWALL"), new),
        Jump("filter", "FORWARD", c("SERVICES"), new),
        Jump("filter", "FORWARD", c("EXT-SERVICES"), new),
        Jump("filter", "FORWARD", c("FIREWALL"), new),
        Jump("filter", "FORWARD", c("FORWARD")),
        Jump("filter", "OUTPUT", c("SERVICES"), new),
        Jump("filter", "OUTPUT", c("FIREWALL"), new),
    ]


def needs_route_localnet(cfg: ProxyConfig) -> bool:
    """NodePorts on 127.x addresses only route with net.ipv4.conf.all.route_localnet=1."""
    return any(ipaddress.IPv4Address(ip).is_loopback for ip in cfg.node_ips.values())


def build_ruleset(
    services: Iterable[Obj], slices: Iterable[Obj], cfg: ProxyConfig, memo: Memo | None = None
) -> Ruleset:
    """The whole ruleset for these Services and EndpointSlices; a `Memo` kept from
    one call to the next (same cfg) makes unchanged services cost next to nothing."""
    memo = memo or Memo()
    endpoints = merge_slice_endpoints(memo.slice_endpoints(es) for es in slices)
    ports = sorted(
        (sp for svc in services for sp in memo.service_ports(svc)),
        key=lambda sp: (sp.label, sp.proto),
    )
    b = _Builder(cfg)
    for sp in ports:
        eps = tuple(endpoints.get(sp.key, ()))
        b.merge(memo.fragment((sp, eps), lambda sp=sp, eps=eps: b.port_rules(sp, list(eps))))
    memo.end_round()
    return b.finish()


def build_rules(services: Iterable[Obj], slices: Iterable[Obj], cfg: ProxyConfig) -> str:
    """The iptables-restore text (for `--noflush`) of the whole ruleset."""
    return build_ruleset(services, slices, cfg).render()


def _dst(ip: str, sp: ServicePort, port: int) -> tuple[str, ...]:
    return ("-d", f"{ip}/32", "-p", sp.proto, "-m", sp.proto, "--dport", str(port))


def _comment(text: str) -> tuple[str, str, str, str]:
    return ("-m", "comment", "--comment", f'"{text}"')


class _Builder:
    def __init__(self, cfg: ProxyConfig) -> None:
        self.cfg = cfg
        self.rs = Ruleset()
        self.all_nodes = frozenset(cfg.node_ips)
        c = cfg.chain
        self.services, self.nodeports = c("SERVICES"), c("NODEPORTS")
        self.mark_masq, self.postrouting = c("MARK-MASQ"), c("POSTROUTING")
        self.f_services, self.f_ext = c("SERVICES"), c("EXT-SERVICES")
        self.f_forward, self.f_firewall = c("FORWARD"), c("FIREWALL")
        self.shared = {
            "nat": (self.services, self.nodeports, self.mark_masq, self.postrouting),
            "filter": (self.f_services, self.f_ext, self.f_forward, self.f_firewall),
        }
        for table, names in self.shared.items():
            for name in names:
                self.rs.chain(table, name)

    # -- one service port -----------------------------------------------------

    def port_rules(self, sp: ServicePort, eps: list[Endpoint]) -> Ruleset:
        """A service port's rules on their own: lines for the shared chains, and its chains."""
        fragment = Ruleset()
        _PortRules(self, fragment, sp, eps).build()
        return fragment

    def merge(self, fragment: Ruleset) -> None:
        for table, chains in fragment.tables.items():
            mine = self.rs.tables[table]
            for name, rules in chains.items():
                if name in self.shared[table]:
                    mine[name].extend(rules)
                else:
                    mine[name] = rules  # the port's own chain: shared with the memo, never edited

    # -- the fixed chains ---------------------------------------------------------

    def finish(self) -> Ruleset:
        cfg, rs = self.cfg, self.rs
        for node in sorted(cfg.node_ips):
            ip = cfg.node_ips[node]
            rs.add("nat", self.services, "-m comment --comment", NODEPORTS_COMMENT,
                   "-d", f"{ip}/32", "-j", self.nodeports)  # fmt: skip
        rs.add("nat", self.mark_masq, "-j MARK --or-mark", f"{cfg.mark:#x}")
        rs.add("nat", self.postrouting, "-m mark ! --mark", cfg.mark_mask, "-j RETURN")
        # Clear the bit so a packet that traverses the stack again is not masqueraded twice.
        rs.add("nat", self.postrouting, "-j MARK --xor-mark", f"{cfg.mark:#x}")
        rs.add("nat", self.postrouting, *_comment("kubernetes service traffic requiring SNAT"),
               "-j MASQUERADE --random-fully")  # fmt: skip
        rs.add("filter", self.f_forward, "-m conntrack --ctstate INVALID -j DROP")
        rs.add("filter", self.f_forward, *_comment("kubernetes forwarding rules"),
               "-m mark --mark", cfg.mark_mask, "-j ACCEPT")  # fmt: skip
        rs.add("filter", self.f_forward, *_comment("kubernetes forwarding conntrack rule"),
               "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")  # fmt: skip
        if needs_route_localnet(cfg):
            # route_localnet lets outsiders reach 127/8; upstream's mitigation (issue 90259).
            rs.add("filter", self.f_firewall, *_comment("block incoming localnet connections"),
                   "-d 127.0.0.0/8 ! -s 127.0.0.0/8",
                   "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP")  # fmt: skip
        return rs


class _PortRules:
    """The rules of one service port: captures in the top-level chains, and its own chains."""

    def __init__(self, b: _Builder, rs: Ruleset, sp: ServicePort, eps: list[Endpoint]) -> None:
        self.b, self.rs, self.sp, self.eps = b, rs, sp, eps
        self.cfg = b.cfg
        self.cluster = usable_endpoints(eps)
        self.has_any = bool(self.cluster)
        self.proto_key = (sp.label, sp.proto)
        self._policy: dict[str, tuple[list[Endpoint], tuple[str, ...] | None]] = {}

    def build(self) -> None:
        self.internal()
        if self.sp.externally_accessible:
            self.external()
        for name, (eps, masq_dst) in self._policy.items():
            self.policy_chain(name, eps, masq_dst)

    # -- chain names --------------------------------------------------------------

    def _name(self, kind: str, *extra: str) -> str:
        return self.cfg.chain(f"{kind}-{chain_hash(*self.proto_key, *extra)}")

    def svc(self) -> str:
        return self._name("SVC")

    def svl(self, nodes: frozenset[str]) -> str:
        return self._name("SVL", *sorted(nodes))

    def sep(self, ep: Endpoint) -> str:
        return self._name("SEP", ep.addr)

    def local(self, nodes: frozenset[str]) -> list[Endpoint]:
        return usable_endpoints(self.eps, nodes)

    def use_policy(
        self, name: str, eps: list[Endpoint], masq_dst: tuple[str, ...] | None = None
    ) -> None:
        old = self._policy.get(name)
        self._policy[name] = (eps, masq_dst or (old[1] if old else None))

    # -- ClusterIP ------------------------------------------------------------------

    def internal(self) -> None:
        sp, b = self.sp, self.b
        dst = _dst(sp.cluster_ip, sp, sp.port)
        if sp.internal_local:
            chain, eps = self.svl(b.all_nodes), self.local(b.all_nodes)
        else:
            chain, eps = self.svc(), self.cluster
        if eps:
            self.rs.add("nat", b.services, *_comment(f"{sp.label} cluster IP"), *dst, "-j", chain)
            self.use_policy(chain, eps, dst)
        elif self.has_any:
            self.rs.add("filter", b.f_services, *_comment(f"{sp.label} has no local endpoints"),
                        *dst, "-j DROP")  # fmt: skip
        else:
            self.rs.add("filter", b.f_services, *_comment(f"{sp.label} has no endpoints"),
                        *dst, "-j", REJECT)  # fmt: skip

    # -- NodePort, load balancer and external IPs ----------------------------------

    def refusal(self) -> tuple[str, str]:
        if not self.has_any:
            return f"{self.sp.label} has no endpoints", REJECT
        return f"{self.sp.label} has no local endpoints", "DROP"

    def external(self) -> None:
        sp, b = self.sp, self.b
        for ip in sp.external_ips:
            self.capture(ip, sp.port, "external IP", b.all_nodes)
        fw = self.firewall() if sp.lb_ips and sp.lb_source_ranges and self.has_any else ""
        for ip in sp.lb_ips:
            self.capture(ip, sp.port, "loadbalancer IP", b.all_nodes, via=fw)
            if fw:
                self.rs.add("filter", b.f_firewall,
                            *_comment(f"{sp.label} traffic not accepted by {fw}"),
                            *_dst(ip, sp, sp.port), "-j DROP")  # fmt: skip
        if sp.node_port:
            self.node_port()

    def capture(self, ip: str, port: int, what: str, nodes: frozenset[str], via: str = "") -> None:
        """Send traffic for ip:port to the external chain, or refuse it in filter."""
        ext, has_eps = self.ext_chain(nodes)
        dst = _dst(ip, self.sp, port)
        if self.has_any:
            target = via or ext
            self.rs.add(
                "nat", self.b.services, *_comment(f"{self.sp.label} {what}"), *dst, "-j", target
            )
        if not has_eps:
            text, target = self.refusal()
            self.rs.add("filter", self.b.f_ext, *_comment(text), *dst, "-j", target)

    def node_port(self) -> None:
        sp, b = self.sp, self.b
        if not sp.external_local and self.has_any:
            ext, _ = self.ext_chain(b.all_nodes)
            self.rs.add("nat", b.nodeports, *_comment(sp.label), "-p", sp.proto, "-m", sp.proto,
                        "--dport", str(sp.node_port), "-j", ext)  # fmt: skip
        for node in sorted(self.cfg.node_ips):
            ip = self.cfg.node_ips[node]
            ext, has_eps = self.ext_chain(frozenset([node]))
            dst = _dst(ip, sp, sp.node_port)
            if sp.external_local and self.has_any:
                self.rs.add("nat", b.nodeports, *_comment(sp.label), *dst, "-j", ext)
            if not has_eps:
                text, target = self.refusal()
                self.rs.add("filter", b.f_ext, *_comment(text), *dst, "-j", target)

    def ext_chain(self, nodes: frozenset[str]) -> tuple[str, bool]:
        """The EXT chain for traffic arriving on `nodes` (all nodes for Cluster policy),
        built on first use; and whether that traffic has endpoints to go to."""
        sp = self.sp
        if not sp.external_local:
            name, has_eps = self._name("EXT"), self.has_any
        else:
            local = self.local(nodes)
            name, has_eps = self._name("EXT", *sorted(nodes)), bool(local)
        if self.has_any and name not in self.rs.tables["nat"]:
            self.fill_ext(name, nodes)
        return name, has_eps

    def fill_ext(self, name: str, nodes: frozenset[str]) -> None:
        sp, rs, b = self.sp, self.rs, self.b
        svc = self.svc()
        self.use_policy(svc, self.cluster)
        rs.chain("nat", name)
        if not sp.external_local:
            rs.add("nat", name, *_comment(f"masquerade traffic for {sp.label} external destinations"),
                   "-j", b.mark_masq)  # fmt: skip
            rs.add("nat", name, "-j", svc)
            return
        if self.cfg.cluster_cidr:
            # Pods reaching an external address are not subject to the external policy.
            rs.add("nat", name, *_comment(f"pod traffic for {sp.label} external destinations"),
                   "-s", self.cfg.cluster_cidr, "-j", svc)  # fmt: skip
        # The host's own traffic: its source is a local address, so it must be masqueraded.
        rs.add("nat", name, *_comment(f"masquerade LOCAL traffic for {sp.label} external destinations"),
               "-m addrtype --src-type LOCAL -j", b.mark_masq)  # fmt: skip
        rs.add("nat", name, *_comment(f"route LOCAL traffic for {sp.label} external destinations"),
               "-m addrtype --src-type LOCAL -j", svc)  # fmt: skip
        local = self.local(nodes)
        if local:
            svl = self.svl(nodes)
            self.use_policy(svl, local)
            rs.add("nat", name, "-j", svl)

    def firewall(self) -> str:
        sp, rs = self.sp, self.rs
        fw = self._name("FW")
        ext, _ = self.ext_chain(self.b.all_nodes)
        head = _comment(f"{sp.label} loadbalancer IP")
        allow_node = False
        node_ips = [ipaddress.IPv4Address(ip) for ip in self.cfg.node_ips.values()]
        for cidr in sp.lb_source_ranges:
            try:
                net = ipaddress.IPv4Network(cidr.strip(), strict=False)
            except ValueError:
                continue  # an IPv6 range, or one validation should have refused
            rs.add("nat", fw, *head, "-s", str(net), "-j", ext)
            allow_node = allow_node or any(ip in net for ip in node_ips)
        if allow_node:
            # A VIP held locally: the node's own request arrives from the VIP itself.
            for ip in sp.lb_ips:
                rs.add("nat", fw, *head, "-s", f"{ip}/32", "-j", ext)
        rs.add("nat", fw, *_comment(f"other traffic to {sp.label} will be dropped by "
                                    f"{self.b.f_firewall}"))  # fmt: skip
        return fw

    # -- balancing and endpoints ----------------------------------------------------

    def policy_chain(
        self, name: str, eps: list[Endpoint], masq_dst: tuple[str, ...] | None
    ) -> None:
        sp, rs, b = self.sp, self.rs, self.b
        rs.chain("nat", name)
        if masq_dst is not None:
            # Traffic from outside the pod network (the host, another machine) is
            # masqueraded, so replies come back through this node.
            source = ("!", "-s", self.cfg.cluster_cidr) if self.cfg.cluster_cidr else ()
            rs.add("nat", name, *_comment(f"{sp.label} cluster IP"), *masq_dst, *source,
                   "-j", b.mark_masq)  # fmt: skip
        if sp.affinity_timeout:
            for ep in eps:
                sep = self.sep(ep)
                rs.add("nat", name, *_comment(f"{sp.label} -> {ep.addr}"),
                       "-m recent --name", sep, "--rcheck --seconds", str(sp.affinity_timeout),
                       "--reap -j", sep)  # fmt: skip
        n = len(eps)
        for i, ep in enumerate(eps):
            stat = ("-m statistic --mode random --probability", f"{1.0 / (n - i):.10f}")
            rs.add("nat", name, *_comment(f"{sp.label} -> {ep.addr}"),
                   *(stat if i < n - 1 else ()), "-j", self.sep(ep))  # fmt: skip
        for ep in eps:
            self.endpoint_chain(ep)

    def endpoint_chain(self, ep: Endpoint) -> None:
        sp, rs = self.sp, self.rs
        name = self.sep(ep)
        if name in rs.tables["nat"]:
            return
        rs.chain("nat", name)
        # Hairpin: a pod reaching itself through the service must see another source.
        rs.add("nat", name, *_comment(sp.label), "-s", f"{ep.ip}/32", "-j", self.b.mark_masq)
        recent = ("-m recent --name", name, "--set --rsource") if sp.affinity_timeout else ()
        rs.add("nat", name, *_comment(sp.label), *recent, "-p", sp.proto, "-m", sp.proto,
               "-j DNAT --to-destination", ep.addr)  # fmt: skip


__all__ = [
    "MASQ_MARK",
    "PortKey",
    "ProxyConfig",
    "build_rules",
    "build_ruleset",
    "chain_hash",
    "jumps",
    "needs_route_localnet",
]
