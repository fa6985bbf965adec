"""The API server process: store, watch cache, registry and HTTP app, started and
stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from pyk8s.api.resources import ResourceTable
from pyk8s.apiextensions.crdregistry import CRDRegistry
from pyk8s.apiserver.app import make_app
from pyk8s.apiserver.eviction import Evictions
from pyk8s.apiserver.nodeproxy import NodeProxy
from pyk8s.apiserver.registry import Context, Registry
from pyk8s.apiserver.services import ServiceAllocator, ServiceNetwork
from pyk8s.apiserver.services.kubernetes import KubernetesService
from pyk8s.apiserver.watchcache import WatchCache
from pyk8s.machinery import errors
from pyk8s.store.interface import Store

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def default_table() -> ResourceTable:
    """The built-in resources, each with its kind's strategy."""
    from pyk8s.api.kinds import STRATEGIES

    table = ResourceTable()
    for res in table:
        strategy = STRATEGIES.get((res.group, res.kind))
        if strategy is not None:
            res.strategy = strategy
    return table


class APIServer:
    def __init__(
        self,
        store: Store,
        *,
        tokens: list[str],
        table: ResourceTable | None = None,
        compact_interval: float = 300.0,
        kubelet_client: tuple[Path, Path] | None = None,
        service_network: ServiceNetwork | None = None,
    ) -> None:
        self.store = store
        self.table = table or default_table()
        self.tokens = list(tokens)
        self.cache = WatchCache(store)
        self.registry = Registry(store, self.cache)
        self.evictions = Evictions(self)
        # Cluster IPs and node ports for Services, and the `kubernetes` Service; a
        # server without a service network (bare test servers) allocates nothing.
        self.service_network = service_network
        self.services: ServiceAllocator | None = None
        if service_network is not None:
            self.services = ServiceAllocator(service_network)
            self.services.install(self.registry)
        self.kubernetes_service: KubernetesService | None = None
        self.crds = CRDRegistry(self)
        # Serves pods/log, exec, attach, portforward by relaying to the pod's kubelet,
        # presenting kubelet_client (certificate, key) to it.
        cert, key = kubelet_client or (None, None)
        self.node_proxy: Callable[..., Any] | None = NodeProxy(self, cert, key)
        self.compact_interval = compact_interval
        self.ca_pem = b""  # served at /cacerts for agents joining with a token
        self.advertise_address = "127.0.0.1:6443"
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []
        self.port = 0
        self._opened = False

    async def start(
        self,
        host: str = "127.0.0.1",
        port: int = 6443,
        ssl_context: ssl.SSLContext | None = None,
        also: list[str] | None = None,
    ) -> None:
        """Open the store and serve HTTP(S) on host:port (port 0 picks a free one), and
        on the same port at the `also` addresses (where pods reach the server)."""
        await self.open()
        await self.listen(host, port, ssl_context, also)

    async def open(self) -> None:
        """Store, watch cache and bootstrap objects, without listening: enough for
        in-process clients (pyk8s.client.inprocess)."""
        if self._opened:
            return
        self._opened = True
        await self.store.start()
        await self.cache.start()
        self._rebuild_service_allocations()
        await self._bootstrap()
        self.crds.start()
        if self.compact_interval > 0:
            self._tasks.append(asyncio.create_task(self._compactor(), name="compactor"))

    async def listen(
        self,
        host: str = "127.0.0.1",
        port: int = 6443,
        ssl_context: ssl.SSLContext | None = None,
        also: list[str] | None = None,
    ) -> None:
        self._runner = web.AppRunner(
            make_app(self), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, host, port, ssl_context=ssl_context, backlog=1024, reuse_address=True
        )
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1] if sockets else port
        for extra in also or []:
            await web.TCPSite(
                self._runner, extra, self.port, ssl_context=ssl_context, reuse_address=True
            ).start()
        self.advertise_address = f"{host}:{self.port}"
        await self._start_kubernetes_service()

    def _rebuild_service_allocations(self) -> None:
        """What the stored Services hold, before any request can take it again."""
        services = self.table.get("", "v1", "services")
        if self.services is None or services is None:
            return
        stored = self.cache.cache(services.store_prefix()).objects.values()
        self.services.rebuild(entry.obj for entry in stored)

    async def _start_kubernetes_service(self) -> None:
        if self.services is None or self.service_network is None:
            return
        self.kubernetes_service = KubernetesService(
            self,
            self.services.kubernetes_ip,
            self.service_network.advertise_address,
            self.port,
        )
        await self.kubernetes_service.start()

    async def _bootstrap(self) -> None:
        """The namespaces every cluster starts with."""
        namespaces = self.table.get("", "v1", "namespaces")
        assert namespaces is not None
        for name in SYSTEM_NAMESPACES:
            if await self.registry.namespace_exists(name):
                continue
            with contextlib.suppress(errors.StatusError):
                await self.registry.create(
                    namespaces,
                    "",
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                    Context(),
                )

    async def _compactor(self) -> None:
        """Compact the store's history periodically, keeping the last interval's worth,
        as kube-apiserver compacts etcd every five minutes."""
        previous = self.store.current_revision()
        while True:
            await asyncio.sleep(self.compact_interval)
            target = previous
            previous = self.store.current_revision()
            if target > self.store.compact_revision():
                try:
                    await self.compact(target)
                except Exception:  # noqa: BLE001 - try again next round
                    log.exception("compaction failed")

    async def compact(self, revision: int) -> None:
        await self.store.compact(revision)
        self.cache.compacted(revision)

    async def stop(self) -> None:
        if self.kubernetes_service is not None:
            await self.kubernetes_service.stop()
        await self.crds.stop()
        close_proxy = getattr(self.node_proxy, "close", None)
        if close_proxy is not None:
            await close_proxy()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self.cache.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.store.close()


def open_store(data_dir: Path, durable: bool = True) -> Store:
    from pyk8s.store.sqlite import SQLiteStore

    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "db"
    db.mkdir(exist_ok=True)
    return SQLiteStore(str(db / "state.db"), durable=durable)
