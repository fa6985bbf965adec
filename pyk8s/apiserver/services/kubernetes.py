"""The `kubernetes` Service in `default`: the API server's own address inside the
cluster (upstream's kubernetesservice controller with the lease endpoint
reconciler, for a single API server).

At start, and every ten seconds after, the server makes sure that
- Service default/kubernetes exists: ClusterIP, the first address of the service
  range, port 443 "https" to the server's secure port, no selector (re-created
  when deleted; its ports and type put back when changed);
- Endpoints default/kubernetes holds the advertise address on that port (label
  endpointslice.kubernetes.io/skip-mirror, as upstream's reconciler sets it);
- EndpointSlice default/kubernetes (IPv4, label kubernetes.io/service-name, no
  managed-by label: the EndpointSlice controller leaves it alone) says the same.

It writes through the registry directly: it is the API server itself, as
upstream's reconciler uses the loopback client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pyk8s.apiserver.registry import Context
from pyk8s.machinery import errors

Obj = dict[str, Any]
log = logging.getLogger(__name__)

NAME = "kubernetes"
NAMESPACE = "default"
PORT_NAME = "https"
SERVICE_PORT = 443
INTERVAL = 10.0  # upstream's --endpoint-reconciler interval
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def service_ports(port: int) -> list[Obj]:
    return [{"name": PORT_NAME, "protocol": "TCP", "port": SERVICE_PORT, "targetPort": port}]


def desired_service(ip: str, port: int) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ipFamilyPolicy": "SingleStack",
            "sessionAffinity": "None",
            "ports": service_ports(port),
        },
    }


def desired_endpoints(address: str, port: int) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {SKIP_MIRROR: "true"}},
        "subsets": [
            {
                "addresses": [{"ip": address}],
                "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}],
            }
        ],
    }


def desired_slice(address: str, port: int) -> Obj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {SERVICE_NAME_LABEL: NAME}},
        "addressType": "IPv6" if ":" in address else "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}],
    }


def _ports_as_served(ports: list[Obj]) -> list[tuple]:
    return [
        (p.get("name"), p.get("protocol", "TCP"), p.get("port"), p.get("targetPort"))
        for p in ports or []
    ]


class KubernetesService:
    """Keeps default/kubernetes and its endpoints pointing at this server."""

    def __init__(self, server: Any, cluster_ip: str, address: str, port: int) -> None:
        self.server = server
        self.cluster_ip = cluster_ip
        self.address = address
        self.port = port
        self._task: asyncio.Task | None = None

    def _res(self, group: str, plural: str) -> Any:
        res = self.server.table.get(group, "v1", plural)
        assert res is not None
        return res

    async def start(self, interval: float = INTERVAL) -> None:
        try:
            await self.reconcile()
        except Exception:  # noqa: BLE001 - the loop tries again
            log.exception("kubernetes service: first reconcile failed")
        self._task = asyncio.create_task(self._loop(interval), name="kubernetes-service")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reconcile()
            except Exception:  # noqa: BLE001 - next round
                log.exception("kubernetes service: reconcile failed")

    async def reconcile(self) -> None:
        await self._ensure_service()
        await self._ensure(self._res("", "endpoints"), desired_endpoints(self.address, self.port))
        await self._ensure(
            self._res("discovery.k8s.io", "endpointslices"), desired_slice(self.address, self.port)
        )

    async def _ensure_service(self) -> None:
        res = self._res("", "services")
        registry = self.server.registry
        try:
            current = await registry.get(res, NAMESPACE, NAME)
        except errors.StatusError as e:
            if e.code != 404:
                raise
            body = desired_service(self.cluster_ip, self.port)
            with contextlib.suppress(errors.StatusError):  # lost a race: next round
                await registry.create(res, NAMESPACE, body, Context())
                log.info("created the kubernetes service (%s)", self.cluster_ip)
            return
        spec = current.get("spec") or {}
        want = service_ports(self.port)
        if spec.get("type") == "ClusterIP" and _ports_as_served(
            spec.get("ports")
        ) == _ports_as_served(want):
            return

        def repair(obj: Obj) -> Obj:
            obj.setdefault("spec", {}).update({"type": "ClusterIP", "ports": want})
            return obj

        log.warning("resetting the kubernetes service's ports and type")
        await registry.update(res, NAMESPACE, NAME, repair, Context())

    async def _ensure(self, res: Any, desired: Obj) -> None:
        """Create `desired`, or put its labels and content back where they differ."""
        registry = self.server.registry
        try:
            current = await registry.get(res, NAMESPACE, NAME)
        except errors.StatusError as e:
            if e.code != 404:
                raise
            await registry.create(res, NAMESPACE, desired, Context())
            return
        fields = [k for k in desired if k not in ("apiVersion", "kind", "metadata")]
        labels = desired["metadata"]["labels"]
        same = all(current.get(k) == desired[k] for k in fields)
        if same and (current.get("metadata") or {}).get("labels") == labels:
            return

        def put_back(obj: Obj) -> Obj:
            obj.update({k: desired[k] for k in fields})
            obj.setdefault("metadata", {})["labels"] = labels
            return obj

        await registry.update(res, NAMESPACE, NAME, put_back, Context())
