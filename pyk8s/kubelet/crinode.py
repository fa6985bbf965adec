"""One node on containerd, assembled: its own containerd (a child process, as
k3s runs one, unless an endpoint is given), the sandbox image, the airgap
images, the CNI network, the CRI runtime and the kubelet API.

    node = CriNode(CriNodeOptions(data_dir, "w1-k8s", node_ip="127.0.0.1", ca_pem=ca))
    config, runtime = await node.start(client)
    pool.add(config, runtime)
    ...
    await node.stop(remove_pods=True)   # `pyk8s up` tearing down; an agent keeps its pods

Files of a node live in DATA_DIR/nodes/NAME (containerd's root, CNI config and
IPAM state, pod volumes, logs); containerd's socket and state live under
/run/pyk8s/ (short paths: unix sockets are limited to 108 bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyk8s.client import ApiError, Client, Informer
from pyk8s.images.cluster import airgap_archives, write_node_socket_file
from pyk8s.images.pause import PAUSE_IMAGE, ensure_pause_archive
from pyk8s.kubelet.cni import NodeNetwork, enable_forwarding
from pyk8s.kubelet.containerd import Containerd
from pyk8s.kubelet.cri.client import CriClient, CriError
from pyk8s.kubelet.nodestatus import NodeConfig
from pyk8s.kubelet.registries import Registries
from pyk8s.kubelet.runtime.cri import CriRuntime
from pyk8s.kubelet.server import portforward
from pyk8s.kubelet.server.app import KubeletServer

Obj = dict[str, Any]
log = logging.getLogger(__name__)

ORPHAN_GRACE = 5.0  # seconds after start before sandboxes of unknown pods are removed


@dataclass
class CriNodeOptions:
    data_dir: Path
    node_name: str
    ca_pem: bytes
    node_ip: str = "127.0.0.1"
    kubelet_port: int = 0  # 0: any free port (reported in status.daemonEndpoints)
    endpoint: str = ""  # an existing containerd's CRI socket; "" runs our own
    registry_config_dir: Path | None = None  # containerd hosts.toml dirs (mirrors)
    registries: Registries | None = None  # credentials from --private-registry
    control_plane: bool = False
    register_not_ready_taint: bool = True
    labels: dict[str, str] | None = None
    cluster_dns: str = ""  # the kubelet's --cluster-dns: pods' nameserver (ClusterFirst)
    cluster_domain: str = "cluster.local"


class ClientLookup:
    """ConfigMaps and Secrets for container environments and volumes, from the API."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        try:
            return await self.client.get(self.client.resource("v1", resource), name, namespace)
        except ApiError as err:
            if err.code == 404:
                return None
            raise


class CriNode:
    def __init__(self, options: CriNodeOptions) -> None:
        self.options = options
        self.node_dir = options.data_dir / "nodes" / options.node_name
        self.network = NodeNetwork(options.node_name, self.node_dir)
        self.containerd: Containerd | None = None
        self.runtime: CriRuntime | None = None
        self.server: KubeletServer | None = None
        self._orphans: asyncio.Task[None] | None = None
        self.services: Informer | None = None

    async def start(self, client: Client) -> tuple[NodeConfig, CriRuntime]:
        opts = self.options
        self.node_dir.mkdir(parents=True, exist_ok=True)
        enable_forwarding()
        endpoint = opts.endpoint or await self._start_containerd()
        cri = await CriClient.connect(endpoint)
        self.services = Informer(client, client.resource("v1", "services"))
        self.services.start()
        # Containers get the services' variables: wait for them, as the kubelet does.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.services.wait_synced(), 10)
        self.runtime = CriRuntime(
            cri,
            node_name=opts.node_name,
            node_dir=self.node_dir,
            network=self.network,
            lookup=ClientLookup(client),
            host_ip=opts.node_ip,
            memory_capacity=memory_bytes(),
            registries=opts.registries,
            services=self.services.list,
            cluster_dns=opts.cluster_dns,
            cluster_domain=opts.cluster_domain,
        )
        await self.runtime.start()
        self.server = KubeletServer(self.runtime, opts.ca_pem, opts.node_ip, opts.kubelet_port)
        portforward.install(self.server)
        port = await self.server.start()
        self._orphans = asyncio.create_task(self._remove_orphans_later())
        return self.node_config(port), self.runtime

    async def cleanup(self) -> None:
        """Remove what this node left running (an agent keeps its pods across its own
        restarts): every sandbox through the node's containerd, then the containerd,
        the bridge and masquerade rule and the cgroups (as k3s-killall.sh does)."""
        endpoint = self.options.endpoint or await self._start_containerd(import_images=False)
        cri = await CriClient.connect(endpoint)
        try:
            for sandbox in await cri.list_pod_sandbox():
                for call in (cri.stop_pod_sandbox, cri.remove_pod_sandbox):
                    try:
                        await call(sandbox["id"])
                    except CriError as err:
                        if not err.not_found:
                            raise
        finally:
            await cri.close()
        await self.stop(remove_pods=True)

    async def _start_containerd(self, import_images: bool = True) -> str:
        opts = self.options
        self.containerd = Containerd(
            self.node_dir / "containerd",
            cni_conf_dir=self.network.conf_dir,
            sandbox_image=PAUSE_IMAGE,
            registry_config_dir=opts.registry_config_dir,
            log_file=self.node_dir / "containerd.log",
        )
        self.network.conf_dir.mkdir(parents=True, exist_ok=True)
        self.containerd.write_config()
        await self.containerd.start()
        write_node_socket_file(opts.data_dir, opts.node_name, str(self.containerd.socket))
        if import_images:
            await self._import_images()
        return self.containerd.endpoint

    async def _import_images(self) -> None:
        """The sandbox image (built here from source) and DATA_DIR/images/*.tar, as
        k3s imports its airgap images at start."""
        assert self.containerd is not None
        cache = self.options.data_dir / "cache"
        pause = await asyncio.to_thread(ensure_pause_archive, cache)
        await self.containerd.import_archive(pause)
        for archive in airgap_archives(self.options.data_dir):
            log.info("%s: importing %s", self.options.node_name, archive)
            await self.containerd.import_archive(archive)

    async def _remove_orphans_later(self) -> None:
        await asyncio.sleep(ORPHAN_GRACE)
        if self.runtime is not None:
            try:
                await self.runtime.remove_orphans()
            except Exception:  # noqa: BLE001 - best effort; the next start retries
                log.exception("%s: removing orphaned sandboxes failed", self.options.node_name)

    def node_config(self, kubelet_port: int) -> NodeConfig:
        opts = self.options
        return NodeConfig(
            opts.node_name,
            internal_ip=opts.node_ip,
            cpu=str(os.cpu_count() or 1),
            memory=f"{memory_bytes() // 1024}Ki",
            ephemeral_storage=f"{disk_bytes(opts.data_dir) // 1024}Ki",
            labels=dict(opts.labels or {}),
            control_plane=opts.control_plane,
            register_not_ready_taint=opts.register_not_ready_taint,
            os_image=os_image(),
            kubelet_port=kubelet_port,
        )

    async def stop(self, remove_pods: bool = False) -> None:
        """Stop serving; with remove_pods also stop every container and remove the
        node's network and state (an agent restart keeps pods running instead).
        Each step runs even if an earlier one failed: a containerd left running
        without its agent would keep its pods alive unseen."""
        if self._orphans is not None:
            self._orphans.cancel()
        steps: list[Any] = []
        if self.server is not None:
            steps.append(self.server.stop)
        if self.services is not None:
            steps.append(self.services.stop)
        if self.runtime is not None:
            if remove_pods:
                steps.append(self.runtime.remove_all)
            steps.append(self.runtime.close)
        if self.containerd is not None:
            steps.append(self.containerd.stop)
        for step in steps:
            try:
                await step()
            except Exception:  # noqa: BLE001 - go on with the rest of the teardown
                log.exception("%s: stopping the node: %s failed", self.options.node_name, step)
        if remove_pods:
            if self.containerd is not None:  # its state (on tmpfs) would only pile up
                shutil.rmtree(self.containerd.state_dir, ignore_errors=True)
            self.network.teardown()
            remove_cgroup_tree(f"/pyk8s-{self.options.node_name}")


def memory_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 8 << 30


def disk_bytes(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).total


def os_image() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def remove_cgroup_tree(parent: str) -> None:
    """Remove the node's (empty) cgroup directories, deepest first, in every hierarchy."""
    root = Path("/sys/fs/cgroup")
    if not root.is_dir():
        return
    for hierarchy in root.iterdir():
        top = hierarchy / parent.lstrip("/")
        if not top.is_dir():
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)
