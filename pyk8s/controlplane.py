"""A control plane in one process: API server, controller manager and scheduler,
started and stopped together (what `pyk8s server` runs, and what `pyk8s up` and
test fixtures embed).

The controllers and the scheduler reach the API server only through the API, with
the admin token. Embedded in the server's process they use the in-process
transport: the same request pipeline (authentication, handlers, watch cache)
without sockets or TLS, which was most of their cost over loopback HTTPS
(`in_process_clients=False` puts them back on HTTPS). `credentials` lets test
fixtures reuse one CA and serving certificate across clusters.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyk8s.apiserver.credentials import Credentials, ensure_credentials, write_kubeconfig
from pyk8s.apiserver.server import APIServer, open_store
from pyk8s.apiserver.services import ServiceIPs, ServiceNetwork
from pyk8s.client import Client

log = logging.getLogger(__name__)


@dataclass
class ControlPlaneConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 6443
    durable: bool = True
    controllers: list[str] | None = None  # None: all; [] : none
    scheduler: bool = True
    # Per-controller options, e.g. {"nodelifecycle": {"grace_period": 2.0}}.
    controller_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    cluster_cidr: str = "10.42.0.0/16"
    # Size of each node's podCIDR (upstream's --node-cidr-mask-size, 24 for IPv4).
    node_cidr_mask_size: int = 24
    service_cidr: str = "10.43.0.0/16"
    # The address the `kubernetes` Service's endpoints point at (--advertise-address);
    # "" : the bind host when it is one address, else 127.0.0.1.
    advertise_address: str = ""
    # LoadBalancer addresses ("CIDR" or "first-last", comma-separated); "" : none, and
    # LoadBalancer Services stay <pending> as without a cloud provider.
    service_lb_pool: str = ""
    compact_interval: float = 300.0
    # Precomputed identity (CA, serving certificate, token); None: the data dir's own,
    # created on first start.
    credentials: Credentials | None = None
    # Controllers and scheduler reach the server in-process (no socket, no TLS).
    in_process_clients: bool = True
    # Cluster DNS served by this process (docs/dns.md): listen address ("" : off) and
    # port (0: ephemeral, see ControlPlane.dns_port), the cluster domain, and upstreams
    # ("ip[:port]") for other names (None: the host's /etc/resolv.conf nameservers).
    dns_address: str = ""
    dns_port: int = 53
    cluster_domain: str = "cluster.local"
    dns_upstreams: list[str] | None = None


class ControlPlane:
    def __init__(self, config: ControlPlaneConfig) -> None:
        self.config = config
        self.creds: Credentials | None = None
        self.server: APIServer | None = None
        self.client: Client | None = None
        self.dns: Any = None
        self.manager: Any = None
        self.scheduler: Any = None
        self.url = ""

    @property
    def advertise_ip(self) -> str:
        """The configured advertise address, else the bind host if it is one specific IP,
        else 127.0.0.1."""
        cfg = self.config
        if cfg.advertise_address:
            return cfg.advertise_address
        try:
            host = ipaddress.ip_address(cfg.host)
        except ValueError:
            return "127.0.0.1"
        return "127.0.0.1" if host.is_unspecified else str(host)

    def _also_listen(self) -> list[str]:
        """The advertise address too, when it is not covered by the bind address: the
        `kubernetes` Service's endpoint must answer."""
        host, advertise = self.config.host, self.advertise_ip
        if host in ("0.0.0.0", "::") or advertise in (host, "127.0.0.1"):
            return []
        return [advertise]

    @property
    def kubeconfig(self) -> Path:
        return self.config.data_dir / "kubeconfig.yaml"

    async def start(self) -> None:
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        hosts = [cfg.host] if cfg.host not in ("0.0.0.0", "::") else []
        # In-cluster clients reach the server at the `kubernetes` Service's cluster IP or
        # the advertise address, and verify its certificate for them (as kubeadm's SANs).
        hosts += [ServiceIPs(cfg.service_cidr).nth(1), self.advertise_ip]
        self.creds = cfg.credentials or ensure_credentials(cfg.data_dir, hosts)
        self.server = APIServer(
            open_store(cfg.data_dir, durable=cfg.durable),
            tokens=[self.creds.token],
            compact_interval=cfg.compact_interval,
            kubelet_client=(
                self.creds.kubelet_client_cert_file,
                self.creds.kubelet_client_key_file,
            ),
            service_network=ServiceNetwork(cfg.service_cidr, advertise_address=self.advertise_ip),
        )
        self.server.ca_pem = self.creds.ca_file.read_bytes()
        await self.server.start(
            cfg.host, cfg.port, ssl_context=self.creds.ssl_context(), also=self._also_listen()
        )
        connect_host = "127.0.0.1" if cfg.host in ("0.0.0.0", "::") else cfg.host
        self.url = f"https://{connect_host}:{self.server.port}"
        write_kubeconfig(self.kubeconfig, self.creds, self.url)
        if cfg.controllers != [] or cfg.scheduler:
            self.client = self.new_client("pyk8s-controller-manager")
        if cfg.controllers != []:
            await self._start_controllers()
        if cfg.scheduler:
            await self._start_scheduler()
        if cfg.dns_address:
            await self._start_dns()

    def new_client(self, user_agent: str, in_process: bool | None = None) -> Client:
        """A client of this server; in-process (same loop, no socket) when asked, by
        default when the config says components use in-process clients."""
        assert self.creds is not None
        if self.config.in_process_clients if in_process is None else in_process:
            assert self.server is not None
            return Client.in_process(self.server, self.creds.token, user_agent=user_agent)
        return Client(
            self.url, token=self.creds.token, ca_file=str(self.creds.ca_file), user_agent=user_agent
        )

    async def _start_controllers(self) -> None:
        from pyk8s.controllers.manager import ControllerManager

        options = dict(self.config.controller_options)
        ipam = options.setdefault("nodeipam", {})
        ipam.setdefault("cluster_cidr", self.config.cluster_cidr)
        ipam.setdefault("node_cidr_mask_size", self.config.node_cidr_mask_size)
        options.setdefault("servicelb", {}).setdefault("pool", self.config.service_lb_pool)
        assert self.client is not None
        self.manager = ControllerManager(
            self.client, enabled=self.config.controllers, options=options
        )
        await self.manager.start()

    async def _start_scheduler(self) -> None:
        try:
            from pyk8s.scheduler import Scheduler
        except ImportError:
            log.warning("scheduler not available")
            return
        # In process, the scheduler shares the controller manager's informers: every
        # pod event was otherwise encoded, sent, decoded and cached twice.
        shared = None
        if self.config.in_process_clients and self.manager is not None:
            shared = self.manager.factory
        self.scheduler = Scheduler(self.new_client("pyk8s-scheduler"), factory=shared)
        await self.scheduler.start()

    async def _start_dns(self) -> None:
        from pyk8s.dns import ClusterDNS, DnsConfig

        cfg = self.config
        dns_config = DnsConfig(
            address=cfg.dns_address,
            port=cfg.dns_port,
            zone=cfg.cluster_domain,
            upstreams=cfg.dns_upstreams,
            service_cidr=cfg.service_cidr,
            advertise_address=self.advertise_ip,
        )
        self.dns = ClusterDNS(self.new_client("pyk8s-dns"), dns_config)
        await self.dns.start()

    @property
    def dns_port(self) -> int:
        """The port cluster DNS listens on (the bound one when configured as 0)."""
        return self.dns.port if self.dns is not None else 0

    async def stop(self) -> None:
        if self.dns is not None:
            with contextlib.suppress(Exception):
                await self.dns.stop()
            await self.dns.client.close()
        for part in (self.scheduler, self.manager):
            if part is not None:
                with contextlib.suppress(Exception):
                    await part.stop()
        if self.client is not None:
            await self.client.close()
        if self.scheduler is not None and getattr(self.scheduler, "client", None) is not None:
            with contextlib.suppress(Exception):
                await self.scheduler.client.close()
        if self.server is not None:
            await self.server.stop()
