"""The simulated runtime: no processes, only the lifecycle a real runtime reports.

Images pull after a short delay unless they match an `unpullable` glob (then the
pull fails as containerd reports a missing tag); containers run until stopped
unless the image matches a `crashing` glob (then they exit with code 1 after
`crash_after` seconds, so the pod worker's restart back-off shows
CrashLoopBackOff). Init containers exit 0 after `init_duration`. Probes (exec,
and the network probes a simulated pod IP cannot carry) succeed unless the image
matches a `probe_failing` glob. Pod IPs come from the node's podCIDR the way CNI
host-local hands them out: the gateway takes .1, pods get .2, .3, ... and an
address is reused only after the range wraps.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import ipaddress
import itertools
import secrets
from dataclasses import dataclass, field

from pyk8s.client.clock import Clock, SystemClock
from pyk8s.kubelet.runtime.base import (
    AdoptedContainer,
    ContainerExit,
    ImagePullError,
    Obj,
    PulledImage,
    Runtime,
    Sandbox,
    normalize_image,
)
from pyk8s.machinery import meta

SIM_VERSION = "sim://1.0"


@dataclass
class SimConfig:
    pull_delay: float = 0.05
    create_delay: float = 0.0
    start_delay: float = 0.01
    stop_delay: float = 0.0  # how long a container takes to exit on SIGTERM (capped by grace)
    crash_after: float = 0.2
    init_duration: float = 0.01
    unpullable: list[str] = field(default_factory=list)
    crashing: list[str] = field(default_factory=list)
    probe_failing: list[str] = field(default_factory=list)

    @classmethod
    def instant(cls, **kw: object) -> SimConfig:
        """No delays at all (scale runs)."""
        base = {"pull_delay": 0.0, "start_delay": 0.0, "init_duration": 0.0}
        return cls(**{**base, **kw})  # type: ignore[arg-type]


def matches(image: str, globs: list[str]) -> bool:
    """A glob matches the reference as written ("nginx:1.17.23") or fully qualified."""
    full = normalize_image(image)
    return any(fnmatch.fnmatchcase(image, g) or fnmatch.fnmatchcase(full, g) for g in globs)


def image_digest(image: str) -> str:
    return "sha256:" + hashlib.sha256(normalize_image(image).encode()).hexdigest()


def image_id(image: str) -> str:
    """repo@sha256:... as containerd reports imageID (the tag replaced by the digest)."""
    full = normalize_image(image)
    repo = full.split("@", 1)[0]
    last = repo.rsplit("/", 1)
    if ":" in last[-1]:
        repo = repo[: repo.rfind(":")]
    return f"{repo}@{image_digest(image)}"


class HostLocalIPs:
    """Sequential allocation in one CIDR, as the CNI host-local IPAM plugin does."""

    def __init__(self, cidr: str) -> None:
        self.net = ipaddress.ip_network(cidr, strict=False)
        self.used: set[str] = set()
        self._last = int(self.net.network_address) + 1  # .1 is the bridge gateway

    def allocate(self) -> str:
        first = int(self.net.network_address) + 2
        last = int(self.net.broadcast_address) - 1
        span = last - first + 1
        for step in range(1, span + 1):
            candidate = first + (self._last - first + step) % span
            ip = str(ipaddress.ip_address(candidate))
            if ip not in self.used:
                self.used.add(ip)
                self._last = candidate
                return ip
        raise RuntimeError(f"no IP addresses available in range set: {self.net}")

    def reserve(self, ip: str) -> None:
        self.used.add(ip)

    def release(self, ip: str) -> None:
        self.used.discard(ip)


@dataclass
class _SimContainer:
    id: str
    image: str
    init: bool
    started_at: str = ""
    done: asyncio.Future[ContainerExit] | None = None
    runner: asyncio.Task[None] | None = None


class SimRuntime(Runtime):
    version = SIM_VERSION
    probes_reach_pods = False  # pod IPs are bookkeeping: nothing listens on them

    def __init__(self, config: SimConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or SimConfig()
        self.clock = clock or SystemClock()
        self.images: set[str] = set()
        self.sandboxes: dict[str, tuple[str, str]] = {}  # id -> (cidr, ip)
        self.containers: dict[str, _SimContainer] = {}
        self._ips: dict[str, HostLocalIPs] = {}
        self._seq = itertools.count(1)

    # -- images ---------------------------------------------------------------

    def local_image(self, image: str) -> str:
        return image_id(image) if normalize_image(image) in self.images else ""

    async def pull_image(self, image: str, pod: Obj) -> PulledImage:
        await self._delay(self.config.pull_delay)
        if matches(image, self.config.unpullable):
            raise ImagePullError(_not_found_message(image))
        self.images.add(normalize_image(image))
        size = 20_000_000 + int(image_digest(image)[7:13], 16) % 50_000_000
        return PulledImage(image_id(image), size)

    # -- sandboxes ------------------------------------------------------------

    async def run_sandbox(self, pod: Obj, pod_cidr: str) -> Sandbox:
        sandbox_id = secrets.token_hex(32)
        ip = ""
        if not (pod.get("spec") or {}).get("hostNetwork"):
            ip = self._pool(pod_cidr).allocate()
        self.sandboxes[sandbox_id] = (pod_cidr, ip)
        return Sandbox(sandbox_id, ip)

    async def stop_sandbox(self, sandbox_id: str) -> None:
        cidr, ip = self.sandboxes.pop(sandbox_id, ("", ""))
        if ip and cidr in self._ips:
            self._ips[cidr].release(ip)

    def _pool(self, cidr: str) -> HostLocalIPs:
        pool = self._ips.get(cidr)
        if pool is None:
            pool = self._ips[cidr] = HostLocalIPs(cidr)
        return pool

    # -- containers -----------------------------------------------------------

    async def create_container(
        self, sandbox_id: str, pod: Obj, container: Obj, attempt: int, init: bool = False
    ) -> str:
        await self._delay(self.config.create_delay)
        cid = f"sim://{secrets.token_hex(32)}"
        self.containers[cid] = _SimContainer(cid, container.get("image", ""), init)
        return cid

    async def start_container(self, container_id: str) -> str:
        await self._delay(self.config.start_delay)
        ctr = self.containers[container_id]
        ctr.started_at = meta.now_rfc3339()
        ctr.done = asyncio.get_running_loop().create_future()
        if ctr.init or matches(ctr.image, self.config.crashing):
            ctr.runner = asyncio.create_task(self._run_to_exit(ctr))
        return ctr.started_at

    async def _run_to_exit(self, ctr: _SimContainer) -> None:
        crashing = matches(ctr.image, self.config.crashing)
        await self._delay(self.config.crash_after if crashing else self.config.init_duration)
        code = 1 if crashing else 0
        self._finish(ctr, code)

    def _finish(self, ctr: _SimContainer, code: int) -> ContainerExit:
        exit_ = ContainerExit(
            code, "Completed" if code == 0 else "Error", ctr.started_at, meta.now_rfc3339()
        )
        if ctr.done is not None and not ctr.done.done():
            ctr.done.set_result(exit_)
        return exit_

    async def wait_container(self, container_id: str) -> ContainerExit:
        ctr = self.containers[container_id]
        assert ctr.done is not None, "wait_container before start_container"
        return await asyncio.shield(ctr.done)

    async def stop_container(self, container_id: str, grace_seconds: float) -> ContainerExit:
        ctr = self.containers.get(container_id)
        if ctr is None or ctr.done is None:
            now = meta.now_rfc3339()
            return ContainerExit(0, "Completed", now, now)
        if ctr.done.done():
            return ctr.done.result()
        await self._delay(min(self.config.stop_delay, max(grace_seconds, 0.0)))
        if ctr.runner is not None:
            ctr.runner.cancel()
        # nginx-like: exits 0 on SIGTERM; killed after the grace period: 137.
        killed = self.config.stop_delay > grace_seconds
        return self._finish(ctr, 137 if killed else 0)

    async def exec_sync(
        self, container_id: str, cmd: list[str], timeout: float
    ) -> tuple[int, bytes]:
        ctr = self.containers.get(container_id)
        if ctr is None or ctr.done is None or ctr.done.done():
            # containerd's answer for an exec into a container that is not running
            raise RuntimeError(
                "rpc error: code = Unknown desc = failed to exec in container: "
                f"container {container_id.partition('://')[2]} is not running"
            )
        return (1, b"") if matches(ctr.image, self.config.probe_failing) else (0, b"")

    def simulated_probe(self, container_id: str) -> bool:
        ctr = self.containers.get(container_id)
        return ctr is None or not matches(ctr.image, self.config.probe_failing)

    async def remove_container(self, container_id: str) -> None:
        ctr = self.containers.pop(container_id, None)
        if ctr is not None and ctr.runner is not None:
            ctr.runner.cancel()

    # -- restart of the agent -------------------------------------------------

    def adopt(self, pod: Obj) -> tuple[Sandbox, list[AdoptedContainer]] | None:
        """Take over what the pod's status says is running (a simulated node keeps
        its containers across an agent restart, as containerd does)."""
        status = pod.get("status") or {}
        statuses = [s for s in status.get("containerStatuses") or [] if "running" in s["state"]]
        if status.get("phase") != "Running" or not statuses:
            return None
        ip = status.get("podIP", "")
        sandbox = Sandbox(secrets.token_hex(32), ip)
        self.sandboxes[sandbox.id] = ("", ip)
        adopted = []
        for cs in statuses:
            cid = cs.get("containerID") or f"sim://{secrets.token_hex(32)}"
            started = cs["state"]["running"].get("startedAt", meta.now_rfc3339())
            ctr = _SimContainer(cid, cs.get("image", ""), False, started)
            ctr.done = asyncio.get_running_loop().create_future()
            self.containers[cid] = ctr
            adopted.append(AdoptedContainer(cs["name"], cid, cs.get("imageID", ""), started))
            self.images.add(normalize_image(cs.get("image", "")))
        return sandbox, adopted

    def reserve_ip(self, cidr: str, ip: str) -> None:
        """Mark an adopted pod's IP as taken in the node's range."""
        if cidr and ip:
            self._pool(cidr).reserve(ip)

    async def close(self) -> None:
        for ctr in self.containers.values():
            if ctr.runner is not None:
                ctr.runner.cancel()

    async def _delay(self, seconds: float) -> None:
        if seconds > 0:
            await self.clock.sleep(seconds)


def _not_found_message(image: str) -> str:
    """containerd's error for a tag that does not exist, as the kubelet relays it."""
    full = normalize_image(image)
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{full}": '
        f'failed to resolve reference "{full}": {full}: not found'
    )
