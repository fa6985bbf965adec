"""Cluster DNS: the Kubernetes DNS schema served from the control plane (in the
spirit of CoreDNS's kubernetes plugin), the kube-dns Service, and the pod
resolv.conf the kubelet derives from a pod's dnsPolicy. See docs/dns.md."""

from pyk8s.dns.cluster import ClusterDNS, DnsConfig
from pyk8s.dns.kubedns import cluster_dns_ip, ensure_kube_dns
from pyk8s.dns.podconfig import pod_dns_config
from pyk8s.dns.records import Resolver
from pyk8s.dns.server import DnsServer

__all__ = [
    "ClusterDNS",
    "DnsConfig",
    "DnsServer",
    "Resolver",
    "cluster_dns_ip",
    "ensure_kube_dns",
    "pod_dns_config",
]
