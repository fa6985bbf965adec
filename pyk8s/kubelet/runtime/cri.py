"""The containerd runtime: the pod worker's Runtime over CRI v1 (gRPC).

Sandboxes get their network from CNI through containerd (the node's bridge
and podCIDR, see kubelet/cni.py); containers get the environment and volumes
the kubelet computes (podenv.py, volumes.py) and log to CRI log files under
the node's log directory, which `kubectl logs` reads through the kubelet API.
Exits are noticed by polling the runtime's container list, as the kubelet's
PLEG relists. Every sandbox and container carries upstream's
io.kubernetes.* labels, so a restarted agent finds its pods again (`adopt`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import grpc

from pyk8s.dns.podconfig import pod_dns_config
from pyk8s.kubelet import podenv, volumes
from pyk8s.kubelet.cni import NodeNetwork
from pyk8s.kubelet.cri import (
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    CriClient,
    CriError,
)
from pyk8s.kubelet.runtime import crispec
from pyk8s.kubelet.runtime.base import (
    ContainerCreateError,
    ContainerExit,
    Obj,
    PulledImage,
    Runtime,
    Sandbox,
    normalize_image,
)
from pyk8s.kubelet.runtime.cribackend import CriBackend
from pyk8s.kubelet.runtime.crihooks import run_hook
from pyk8s.kubelet.runtime.criimages import ImagePuller
from pyk8s.kubelet.runtime.crirecords import (
    PREFIX,
    ContainerInfo,
    SandboxInfo,
    remove_pod_cgroups,
    strip_id,
)
from pyk8s.kubelet.serviceenv import service_env

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
RELIST_TIMEOUT = 10.0
NETWORK_READY_TIMEOUT = 10.0


class CriRuntime(CriBackend, Runtime):
    """One node's containerd, as the pod worker's Runtime and the kubelet API's backend."""

    probes_reach_pods = True

    def __init__(
        self,
        cri: CriClient,
        *,
        node_name: str,
        node_dir: Path,
        network: NodeNetwork,
        lookup: podenv.ObjectLookup | None = None,
        host_ip: str = "127.0.0.1",
        memory_capacity: int = 8 << 30,
        cgroup_root: str = "",
        registries: Any | None = None,
        services: Callable[[], Iterable[Obj]] | None = None,
        cluster_dns: str = "",
        cluster_domain: str = "cluster.local",
    ) -> None:
        self.cri = cri
        self.node_name = node_name
        self.node_dir = node_dir
        self.network = network
        self.lookup = lookup
        self.host_ip = host_ip
        self.memory_capacity = memory_capacity
        self.cgroup_root = cgroup_root or f"/pyk8s-{node_name}"
        self.node_allocatable: dict[str, str] | None = None  # for resourceFieldRef defaults
        self.version = "containerd://unknown"
        self.puller = ImagePuller(cri, lookup, registries)
        # The Services a container's environment describes (an informer's list).
        self.services = services or (lambda: [])
        self.cluster_dns = cluster_dns
        self.cluster_domain = cluster_domain
        self.sandboxes: dict[str, SandboxInfo] = {}
        self.containers: dict[str, ContainerInfo] = {}
        self._existing: dict[str, tuple[Obj, list[Obj]]] = {}  # pod uid -> sandbox, containers
        self._waiters: dict[str, asyncio.Future[ContainerExit]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._masquerading = ""

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        version = await self.cri.version()
        self.version = f"containerd://{version.get('runtime_version', '')}"
        await self.puller.refresh()
        await self._load_existing()
        self._poller = asyncio.create_task(self._poll_exits(), name=f"pleg {self.node_name}")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await self.cri.close()

    async def remove_all(self) -> None:
        """Stop and remove every sandbox this node runs (`pyk8s up` tearing down)."""
        for sandbox in await self.cri.list_pod_sandbox():
            await self._remove_sandbox(sandbox["id"])

    # -- images -----------------------------------------------------------------

    def local_image(self, image: str) -> str:
        return self.puller.images.get(normalize_image(image), "")

    async def pull_image(self, image: str, pod: Obj) -> PulledImage:
        return await self.puller.pull(image, pod)

    # -- sandboxes --------------------------------------------------------------

    async def run_sandbox(self, pod: Obj, pod_cidr: str) -> Sandbox:
        host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
        if not host_network:
            await self._ensure_network(pod_cidr)
        attempt = await self._next_sandbox_attempt(pod["metadata"]["uid"])
        info = SandboxInfo.of_pod("", pod, "", {}, self.node_dir)
        info.pod_dir.mkdir(parents=True, exist_ok=True)
        info.log_dir.mkdir(parents=True, exist_ok=True)
        info.config = crispec.sandbox_config(
            pod,
            attempt=attempt,
            log_directory=str(info.log_dir),
            cgroup_root=self.cgroup_root,
            dns=self._dns_config(pod),
        )
        try:
            info.id = await self.cri.run_pod_sandbox(info.config)
            status = (await self.cri.pod_sandbox_status(info.id)).get("status") or {}
        except CriError as err:
            raise ContainerCreateError(f"Failed to create pod sandbox: {err}") from err
        info.ip = "" if host_network else ((status.get("network") or {}).get("ip") or "")
        self.sandboxes[info.id] = info
        return Sandbox(info.id, info.ip)

    def _dns_config(self, pod: Obj) -> Obj | None:
        """The pod's resolv.conf per dnsPolicy (ClusterFirst: the cluster DNS), as the
        kubelet computes it; without a cluster DNS, ClusterFirst falls back to the host's."""
        try:
            return pod_dns_config(
                pod, cluster_dns_ip=self.cluster_dns, cluster_domain=self.cluster_domain
            )
        except OSError as err:
            raise ContainerCreateError(f"Failed to create pod sandbox: {err}") from err

    async def _ensure_network(self, pod_cidr: str) -> None:
        if not pod_cidr:
            raise ContainerCreateError("the node has no podCIDR yet")
        changed = self.network.configure(pod_cidr)
        if self._masquerading != pod_cidr:  # once per start: rules do not survive reboots
            await asyncio.to_thread(self.network.ensure_masquerade, pod_cidr)
            self._masquerading = pod_cidr
        if changed or not await self._network_ready():
            await self._wait_network_ready()

    async def _network_ready(self) -> bool:
        status = await self.cri.status()
        conditions = (status.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "NetworkReady" and c.get("status") for c in conditions)

    async def _wait_network_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + NETWORK_READY_TIMEOUT
        while not await self._network_ready():
            if loop.time() > deadline:
                raise ContainerCreateError("network plugin is not ready: cni config uninitialized")
            await asyncio.sleep(0.1)

    async def _next_sandbox_attempt(self, uid: str) -> int:
        previous = await self.cri.list_pod_sandbox({"label_selector": {crispec.POD_UID: uid}})
        for sandbox in previous:  # a pod has one sandbox: clear out dead ones first
            await self._remove_sandbox(sandbox["id"], keep_files=True)
        return (
            max((int((s.get("metadata") or {}).get("attempt") or 0) for s in previous), default=-1)
            + 1
        )

    async def stop_sandbox(self, sandbox_id: str) -> None:
        await self._remove_sandbox(sandbox_id)

    async def _remove_sandbox(self, sandbox_id: str, keep_files: bool = False) -> None:
        info = self.sandboxes.pop(sandbox_id, None)
        for call in (self.cri.stop_pod_sandbox, self.cri.remove_pod_sandbox):
            try:
                await call(sandbox_id)
            except CriError as err:
                if not err.not_found:
                    raise
        for cid in [c.id for c in self.containers.values() if c.sandbox_id == sandbox_id]:
            self.containers.pop(cid, None)
        if info is not None and not keep_files:
            volumes.remove_pod_dir(info.pod_dir)
            shutil.rmtree(info.log_dir, ignore_errors=True)
            remove_pod_cgroups(info.config["linux"]["cgroup_parent"])

    # -- containers -------------------------------------------------------------

    async def create_container(
        self, sandbox_id: str, pod: Obj, container: Obj, attempt: int, init: bool = False
    ) -> str:
        info = self.sandboxes.get(sandbox_id)
        if info is None:
            raise ContainerCreateError(f"pod sandbox {sandbox_id[:12]} is gone")
        try:
            config, termination = await self._container_config(info, pod, container, attempt)
        except (podenv.EnvError, volumes.VolumeError) as err:
            # Upstream: a missing ConfigMap/Secret (key) is CreateContainerConfigError.
            reason = "CreateContainerConfigError"
            if isinstance(err, volumes.VolumeError) and not isinstance(err, volumes.MountError):
                reason = "ContainerCreating"  # the volume is retried; FailedMount explains
            raise ContainerCreateError(str(err), reason) from err
        await self._remove_old_attempts(info, container["name"], attempt)
        try:
            cid = await self.cri.create_container(sandbox_id, config, info.config)
        except CriError as err:
            raise ContainerCreateError(str(err)) from err
        self.containers[cid] = ContainerInfo(
            cid,
            sandbox_id,
            info.namespace,
            info.name,
            info.uid,
            container["name"],
            attempt,
            info.log_dir / config["log_path"],
            termination,
            container.get("terminationMessagePolicy") or "File",
            container,
        )
        return PREFIX + cid

    async def _container_config(
        self, info: SandboxInfo, pod: Obj, container: Obj, attempt: int
    ) -> tuple[Obj, Path | None]:
        lookup = self.lookup or _NoObjects()
        envs = await podenv.container_env(
            pod,
            container,
            lookup,
            pod_ip=info.ip or self.host_ip,
            host_ip=self.host_ip,
            service_env=service_env(pod, self.services()),
            node_allocatable=self.node_allocatable,
        )
        if info.volume_paths is None:
            info.volume_paths = await volumes.prepare_volumes(
                pod, info.pod_dir, lookup, node_name=self.node_name
            )
        termination = volumes.termination_log(info.pod_dir, container)
        mounts = volumes.container_mounts(
            pod,
            container,
            info.volume_paths,
            env=envs,
            etc_hosts=volumes.write_etc_hosts(info.pod_dir, pod, info.ip),
            termination=termination,
        )
        config = crispec.container_config(
            pod,
            container,
            attempt=attempt,
            image=normalize_image(container.get("image") or ""),
            command=podenv.expand_command(list(container.get("command") or []), envs),
            args=podenv.expand_command(list(container.get("args") or []), envs),
            envs=envs,
            mounts=mounts,
            memory_capacity=self.memory_capacity,
        )
        return config, termination[0]

    async def _remove_old_attempts(self, info: SandboxInfo, name: str, attempt: int) -> None:
        """Keep only the latest dead instance (for `logs --previous`), as the kubelet's
        container GC does."""
        dead = [
            c
            for c in self.containers.values()
            if c.sandbox_id == info.id and c.name == name and c.attempt < attempt - 1
        ]
        for c in dead:
            await self.remove_container(PREFIX + c.id)

    async def start_container(self, container_id: str) -> str:
        cid = strip_id(container_id)
        try:
            await self.cri.start_container(cid)
            status = await self._container_status(cid)
        except CriError as err:
            raise ContainerCreateError(str(err)) from err
        return crispec.rfc3339_from_nanos(int(status.get("started_at") or 0))

    async def _container_status(self, cid: str) -> Obj:
        resp = await self.cri.container_status(cid)
        return resp.get("status", resp) if isinstance(resp.get("status"), dict) else resp

    async def wait_container(self, container_id: str) -> ContainerExit:
        cid = strip_id(container_id)
        fut = self._waiters.get(cid)
        if fut is None or fut.done():
            fut = asyncio.get_running_loop().create_future()
            self._waiters[cid] = fut
        return await asyncio.shield(fut)

    async def stop_container(self, container_id: str, grace_seconds: float) -> ContainerExit:
        cid = strip_id(container_id)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await self._pre_stop(cid, grace_seconds)
        # The preStop hook and the stop signal share the grace period, as upstream.
        left = max(0.0, grace_seconds - (loop.time() - began))
        try:
            await self.cri.stop_container(cid, max(0, int(round(left))))
            status = await self._container_status(cid)
        except CriError as err:
            if err.not_found:
                return ContainerExit(137, "Error", "", "")
            raise
        exit_ = self._exit_of(cid, status)
        fut = self._waiters.pop(cid, None)
        if fut is not None and not fut.done():
            fut.set_result(exit_)
        return exit_

    async def _pre_stop(self, cid: str, grace_seconds: float) -> None:
        """Run the container's preStop hook (exec, httpGet or sleep) within the grace
        period; a failing hook does not stop the termination (upstream logs an event)."""
        info = self.containers.get(cid)
        hook = ((info.spec.get("lifecycle") or {}).get("preStop") or {}) if info else {}
        if not hook or grace_seconds <= 0 or info is None or info.exited:
            return
        try:
            async with asyncio.timeout(grace_seconds):
                await run_hook(self, cid, hook, info, self.sandboxes.get(info.sandbox_id))
        except (TimeoutError, CriError, OSError) as err:
            log.info("%s: preStop hook of %s failed: %s", self.node_name, info.name, err)

    async def remove_container(self, container_id: str) -> None:
        cid = strip_id(container_id)
        self.containers.pop(cid, None)
        try:
            await self.cri.remove_container(cid)
        except CriError as err:
            if not err.not_found:
                raise

    async def exec_sync(
        self, container_id: str, cmd: list[str], timeout: float
    ) -> tuple[int, bytes]:
        try:
            stdout, stderr, code = await self.cri.exec_sync(
                strip_id(container_id), cmd, max(1, int(timeout))
            )
        except CriError as err:
            if err.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise TimeoutError(f"command {cmd!r} timed out") from err
            raise
        return code, stdout + stderr

    def _exit_of(self, cid: str, status: Obj) -> ContainerExit:
        info = self.containers.get(cid)
        if info is not None:
            info.exited = True
        code = int(status.get("exit_code") or 0)
        reason = status.get("reason") or ("Completed" if code == 0 else "Error")
        message = status.get("message") or ""
        if info is not None and info.termination_path is not None:
            message = (
                volumes.read_termination_message(
                    info.termination_path,
                    info.termination_policy if code else "File",
                    info.log_path,
                )
                or message
            )
        return ContainerExit(
            code,
            reason,
            crispec.rfc3339_from_nanos(int(status.get("started_at") or 0)),
            crispec.rfc3339_from_nanos(int(status.get("finished_at") or 0)),
            message,
        )

    async def _poll_exits(self) -> None:
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            if not any(not f.done() for f in self._waiters.values()):
                continue
            try:
                # Bounded: one stuck call must not stop exits from being noticed.
                await asyncio.wait_for(self._relist(), RELIST_TIMEOUT)
            except (CriError, TimeoutError) as err:
                log.warning("%s: relisting containers failed: %s", self.node_name, err)
            except Exception:  # noqa: BLE001 - the loop must outlive any one failure
                log.exception("%s: relisting containers failed", self.node_name)

    async def _relist(self) -> None:
        running = {
            c["id"] for c in await self.cri.list_containers({"state": {"state": CONTAINER_RUNNING}})
        }
        for cid, fut in list(self._waiters.items()):
            if fut.done() or cid in running:
                continue
            try:
                status = await self._container_status(cid)
            except CriError as err:
                if not err.not_found:
                    raise
                # Gone without an exit seen (removed with its sandbox): it ran no more.
                if cid in self.containers:
                    self.containers[cid].exited = True
                if not fut.done():
                    fut.set_result(ContainerExit(137, "Error", "", ""))
                self._waiters.pop(cid, None)
                continue
            # stop_container may have settled it while the status was on its way.
            if int(status.get("state") or 0) == CONTAINER_EXITED and not fut.done():
                fut.set_result(self._exit_of(cid, status))
                self._waiters.pop(cid, None)


class _NoObjects:
    async def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        return None
