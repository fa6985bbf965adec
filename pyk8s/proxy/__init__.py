"""The service proxy: what kube-proxy does in iptables mode, for pyk8s nodes.

`ServiceProxy` watches Services and EndpointSlices and keeps kernel rules in
the nat and filter tables that send traffic for a ClusterIP, a NodePort, a
load-balancer ingress IP or an external IP to one of the service's ready
endpoints, chosen at random (`-m statistic --mode random`), with DNAT. The
chain layout and rule shapes follow upstream's iptables proxier (see
`rules.py` and docs/proxy.md); the differences come from pyk8s running several
nodes, and several clusters, in one network namespace:

- Every chain is named `<prefix>-...` (`P3F09A1-SERVICES`, `P3F09A1-SVC-<12 hex>`)
  and every jump from a built-in chain carries the comment `pyk8s proxy <prefix>`,
  so proxies sharing a namespace never touch each other's rules; `cleanup()`
  removes exactly one proxy's chains and jumps. `proxy_prefix(seed)` derives a
  prefix from something stable (a cluster's data dir), so a restarted proxy
  finds and takes over the rules of its previous run.
- One proxy serves several local nodes: `node_ips` maps each node to the
  address its NodePorts answer on. externalTrafficPolicy Local on a NodePort
  sends traffic arriving at node X's address only to endpoints whose
  EndpointSlice nodeName is X (dropped if there is none, as upstream); for
  load-balancer and external IPs, and for internalTrafficPolicy Local, "local"
  means on any node of this proxy.
- NodePorts answer only on the node IPs (never on every local address, as
  kube-proxy's default does, because another cluster on the machine may use the
  same port); not on 127.0.0.1. A node IP in 127.0.0.0/8 works, with
  net.ipv4.conf.all.route_localnet=1, which the proxy then sets (and adds
  upstream's rule dropping outside traffic to 127/8).
- Packets needing SNAT (ClusterIP traffic from outside `cluster_cidr`, traffic
  to external addresses, hairpin traffic of a pod reaching itself) get mark bit
  0x4000, as kube-proxy's; each proxy's POSTROUTING chain masquerades marked
  packets and clears the bit, so whichever proxy's chain sees the packet first
  does the work and the others pass it on.

Usage (the integrator starts one per process that hosts nodes):

    proxy = ServiceProxy(client, prefix=proxy_prefix(str(data_dir)),
                         node_ips={"m-k8s": "198.18.1.1"}, cluster_cidr="198.18.64.0/18")
    await proxy.start()
    await proxy.synced.wait()          # rules for the current state are in place
    ...
    await proxy.stop(cleanup=True)     # no chain or jump of this prefix is left
"""

from pyk8s.proxy.iptables import Iptables, IptablesError
from pyk8s.proxy.proxier import (
    ServiceProxy,
    SyncResult,
    proxy_prefix,
    remove_rules,
    unsupported_reason,
)
from pyk8s.proxy.rules import ProxyConfig, build_rules, build_ruleset
from pyk8s.proxy.ruleset import Ruleset

__all__ = [
    "Iptables",
    "IptablesError",
    "ProxyConfig",
    "Ruleset",
    "ServiceProxy",
    "SyncResult",
    "build_rules",
    "build_ruleset",
    "proxy_prefix",
    "remove_rules",
    "unsupported_reason",
]
