"""The conventional `kube-system/kube-dns` Service in front of the cluster DNS server.

As in a kubeadm or k3s cluster, its ClusterIP is the tenth address of the service
range (10.96.0.10, 10.43.0.10) and pods' resolv.conf names it. Upstream selects
the CoreDNS pods; here the server lives in the control plane process, so the
Service has no selector and its endpoints are written by hand: an EndpointSlice
(managed-by pyk8s-dns, which the endpointslice controller leaves alone) and the
matching Endpoints, both pointing at the server's address and port. The control
plane creates them at start and repairs whatever drifted (a changed address or
port; a different ClusterIP, which cannot be updated, means delete and recreate).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from pyk8s.client import Client, is_already_exists, is_conflict, is_not_found

log = logging.getLogger(__name__)

Obj = dict[str, Any]

NAME = "kube-dns"
NAMESPACE = "kube-system"
SLICE_NAME = "kube-dns-pyk8s"
MANAGED_BY = "pyk8s-dns"
DNS_PORT = 53
LABELS = {
    "k8s-app": "kube-dns",
    "kubernetes.io/cluster-service": "true",
    "kubernetes.io/name": "CoreDNS",
}

SERVICES = Client.resource("v1", "services")
ENDPOINTS = Client.resource("v1", "endpoints")
SLICES = Client.resource("discovery.k8s.io/v1", "endpointslices")


def cluster_dns_ip(service_cidr: str) -> str:
    """The kube-dns ClusterIP of a service range: its tenth address (10.43.0.0/16 ->
    10.43.0.10), the address kubeadm and k3s give it."""
    return str(ipaddress.ip_network(service_cidr, strict=False)[10])


def _port_specs(target: int) -> list[Obj]:
    return [
        {"name": "dns", "port": DNS_PORT, "protocol": "UDP", "targetPort": target},
        {"name": "dns-tcp", "port": DNS_PORT, "protocol": "TCP", "targetPort": target},
    ]


def kube_dns_service(cluster_ip: str, target_port: int) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "ports": _port_specs(target_port)},
    }


def kube_dns_slice(address: str, port: int) -> Obj:
    family = "IPv6" if ipaddress.ip_address(address).version == 6 else "IPv4"
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": SLICE_NAME,
            "namespace": NAMESPACE,
            "labels": {
                **LABELS,
                "kubernetes.io/service-name": NAME,
                "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
            },
        },
        "addressType": family,
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        # EndpointSlice ports carry the number traffic is sent to: the server's port.
        "ports": [
            {"name": "dns", "port": port, "protocol": "UDP"},
            {"name": "dns-tcp", "port": port, "protocol": "TCP"},
        ],
    }


def kube_dns_endpoints(address: str, port: int) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "subsets": [
            {
                "addresses": [{"ip": address}],
                "ports": [
                    {"name": "dns", "port": port, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": port, "protocol": "TCP"},
                ],
            }
        ],
    }


async def ensure_kube_dns(client: Client, *, cluster_ip: str, address: str, port: int) -> None:
    """Create or repair the kube-dns Service, its EndpointSlice and Endpoints."""
    await _ensure_service(client, kube_dns_service(cluster_ip, port))
    await _ensure(
        client, SLICES, kube_dns_slice(address, port), ("endpoints", "ports", "addressType")
    )
    await _ensure(client, ENDPOINTS, kube_dns_endpoints(address, port), ("subsets",))


async def _get(client: Client, res: Any, name: str) -> Obj | None:
    try:
        return await client.get(res, name, NAMESPACE)
    except Exception as err:
        if is_not_found(err):
            return None
        raise


async def _ensure_service(client: Client, want: Obj) -> None:
    have = await _get(client, SERVICES, NAME)
    if have is not None and (have.get("spec") or {}).get("clusterIP") != want["spec"]["clusterIP"]:
        # spec.clusterIP is immutable: another address (or none) means a new Service.
        log.info(
            "dns: recreating %s/%s with clusterIP %s", NAMESPACE, NAME, want["spec"]["clusterIP"]
        )
        await client.delete(SERVICES, NAME, NAMESPACE)
        have = None
    if have is None:
        await _create(client, SERVICES, want)
        return
    spec = dict(have.get("spec") or {})
    drifted = (
        spec.get("selector")
        or _ports_of(spec) != _ports_of(want["spec"])
        or _labels_of(have) != LABELS
    )
    if drifted:
        spec.pop("selector", None)
        spec["ports"] = want["spec"]["ports"]
        body = {**have, "spec": spec}
        body["metadata"] = {**have["metadata"], "labels": {**_labels_of(have), **LABELS}}
        await _update(client, SERVICES, body)


def _ports_of(spec: Obj) -> list[tuple[Any, ...]]:
    keys = ("name", "port", "protocol", "targetPort")
    return [tuple(p.get(k) for k in keys) for p in spec.get("ports") or []]


def _labels_of(obj: Obj) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {k: v for k, v in labels.items() if k in LABELS}


async def _ensure(client: Client, res: Any, want: Obj, fields: tuple[str, ...]) -> None:
    have = await _get(client, res, want["metadata"]["name"])
    if have is None:
        await _create(client, res, want)
        return
    want_labels = want["metadata"]["labels"]
    have_labels = (have.get("metadata") or {}).get("labels") or {}
    same_labels = all(have_labels.get(k) == v for k, v in want_labels.items())
    if same_labels and all(_same(have.get(f), want.get(f)) for f in fields):
        return
    body = {**have, **{f: want[f] for f in fields}}
    body["metadata"] = {**have["metadata"], "labels": {**have_labels, **want_labels}}
    await _update(client, res, body)


def _same(have: Any, want: Any) -> bool:
    # The server may add defaults (e.g. a port's appProtocol); compare what we set.
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_same(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(have) == len(want)
            and all(_same(h, w) for h, w in zip(have, want, strict=True))
        )
    return have == want


async def _create(client: Client, res: Any, body: Obj) -> None:
    try:
        await client.create(res, body)
    except Exception as err:
        if not is_already_exists(err):
            raise


async def _update(client: Client, res: Any, body: Obj) -> None:
    try:
        await client.update(res, body)
    except Exception as err:
        if not is_conflict(err):
            raise
        log.info(
            "dns: %s changed while repairing it; next start repairs it", body["metadata"]["name"]
        )
