"""Cluster DNS as the control plane runs it: informers on services, EndpointSlices,
pods and namespaces feeding a Resolver, a DnsServer listening on the configured
address, and the kube-dns Service pointing at it.

Like CoreDNS, the server waits for its caches to sync before it listens (up to
5 s, then it starts anyway and answers from what it has).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyk8s.client import Client, Informer
from pyk8s.dns.forward import Forwarder, default_upstreams
from pyk8s.dns.kubedns import cluster_dns_ip, ensure_kube_dns
from pyk8s.dns.records import TTL, Resolver, pod_ip_index
from pyk8s.dns.server import DnsServer

log = logging.getLogger(__name__)

SYNC_WAIT = 5.0

Obj = dict[str, Any]


@dataclass
class DnsConfig:
    address: str  # where to listen ("0.0.0.0": everywhere)
    port: int = 53  # 0: an ephemeral port (tests)
    zone: str = "cluster.local"
    # "ip[:port]" upstreams for names outside the zone; None: the host's resolv.conf.
    upstreams: list[str] | None = None
    resolv_conf: Path = Path("/etc/resolv.conf")
    # The service range: kube-dns gets its tenth address ("" : no kube-dns Service).
    service_cidr: str = ""
    # The kube-dns endpoint when `address` is a wildcard.
    advertise_address: str = ""
    ttl: int = TTL
    upstream_timeout: float = 2.0


def _pod_answer_changed(touch: Callable[[], None]) -> Callable[[Obj, Obj], None]:
    """An update handler for pods that drops cached answers only when the pod's record
    can change (its addresses or whether it has finished): status churn is constant."""

    def on_update(old: Obj, new: Obj) -> None:
        if pod_ip_index(old) != pod_ip_index(new) or _finished(old) != _finished(new):
            touch()

    return on_update


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class ClusterDNS:
    def __init__(self, client: Client, config: DnsConfig) -> None:
        self.client = client
        self.config = config
        self.informers: list[Informer] = []
        self.resolver: Resolver | None = None
        self.server: DnsServer | None = None

    @property
    def port(self) -> int:
        return self.server.port if self.server is not None else 0

    @property
    def endpoint_address(self) -> str:
        """The address the kube-dns endpoint names (the listen address unless that is a
        wildcard)."""
        address = self.config.address
        if ipaddress.ip_address(address).is_unspecified:
            return self.config.advertise_address or "127.0.0.1"
        return address

    def _informer(self, api_version: str, plural: str) -> Informer:
        informer = Informer(self.client, self.client.resource(api_version, plural))
        self.informers.append(informer)
        return informer

    async def start(self) -> None:
        cfg = self.config
        services = self._informer("v1", "services")
        slices = self._informer("discovery.k8s.io/v1", "endpointslices")
        pods = self._informer("v1", "pods")
        namespaces = self._informer("v1", "namespaces")
        dns_ip = cluster_dns_ip(cfg.service_cidr) if cfg.service_cidr else ""
        self.resolver = Resolver(
            cfg.zone,
            services,
            slices,
            pods,
            namespaces,
            dns_ips=[dns_ip] if dns_ip else [],
            ttl=cfg.ttl,
        )
        touch = self.resolver.touch
        for informer in self.informers:
            on_update = _pod_answer_changed(touch) if informer is pods else touch
            informer.add_handler(on_add=touch, on_update=on_update, on_delete=touch)
            informer.start()
        await self._wait_synced()
        forwarder = Forwarder(
            default_upstreams(cfg.upstreams, cfg.resolv_conf), cfg.upstream_timeout
        )
        self.server = DnsServer(self.resolver, forwarder)
        await self.server.start(cfg.address, cfg.port)
        log.info("dns: serving %s on %s:%d", cfg.zone, cfg.address, self.server.port)
        if dns_ip:
            try:
                await ensure_kube_dns(
                    self.client, cluster_ip=dns_ip, address=self.endpoint_address, port=self.port
                )
            except Exception as err:  # noqa: BLE001 - DNS still serves; the next start repairs
                log.warning("dns: could not create the kube-dns Service: %s", err)

    async def _wait_synced(self) -> None:
        waits = [i.wait_synced() for i in self.informers]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), SYNC_WAIT)
        except TimeoutError:
            log.warning("dns: starting with caches not yet synced")

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        for informer in self.informers:
            with contextlib.suppress(Exception):
                await informer.stop()
