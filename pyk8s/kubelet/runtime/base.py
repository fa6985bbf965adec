"""What the pod worker needs from a container runtime (a small slice of CRI v1).

The pod worker owns the lifecycle (which container to start, back-off, status,
events); a runtime only does what it is told: pull an image, run a pod sandbox
with an IP, create/start/stop containers and report when one exits. The
simulated runtime (`sim`) and the containerd runtime implement this class.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


class ImagePullError(Exception):
    """A pull failed; str(err) is the runtime's message, shown as upstream shows CRI errors."""


class ContainerCreateError(Exception):
    """Creating or starting a container failed. `reason` is the waiting reason the
    container shows: CreateContainerError by default, CreateContainerConfigError when
    its environment or mounts cannot be built (a missing ConfigMap key, say)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or "CreateContainerError"


@dataclass(frozen=True)
class PulledImage:
    image_id: str  # what status.containerStatuses[].imageID shows (repo@sha256:...)
    size: int  # bytes, for the Pulled event


@dataclass(frozen=True)
class Sandbox:
    id: str
    ip: str  # "" for hostNetwork pods (the pod then reports the host IP)


@dataclass(frozen=True)
class ContainerExit:
    exit_code: int
    reason: str  # "Completed" (exit 0), "Error", "OOMKilled"
    started_at: str
    finished_at: str
    message: str = ""


@dataclass(frozen=True)
class AdoptedContainer:
    """A container the runtime already runs for a pod (after an agent restart)."""

    name: str
    container_id: str
    image_id: str
    started_at: str


class Runtime(abc.ABC):
    """One node's container runtime."""

    #: nodeInfo.containerRuntimeVersion, e.g. "sim://1.0" or "containerd://1.7.24".
    version: str = ""
    #: Whether pod IPs are reachable from the kubelet, so httpGet/tcpSocket/grpc
    #: probes connect to them. False for `sim`, whose IPs are bookkeeping only: its
    #: network probes are answered by `simulated_probe` instead.
    probes_reach_pods: bool = True

    @abc.abstractmethod
    def local_image(self, image: str) -> str:
        """The imageID if the image is already on this node, else "" (IfNotPresent
        then skips the pull)."""

    @abc.abstractmethod
    async def pull_image(self, image: str, pod: Obj) -> PulledImage:
        """Pull the image (raises ImagePullError)."""

    @abc.abstractmethod
    async def run_sandbox(self, pod: Obj, pod_cidr: str) -> Sandbox:
        """Create the pod's sandbox and network; the IP comes from pod_cidr."""

    @abc.abstractmethod
    async def stop_sandbox(self, sandbox_id: str) -> None:
        """Tear the sandbox and its network down (its IP is released)."""

    @abc.abstractmethod
    async def create_container(
        self, sandbox_id: str, pod: Obj, container: Obj, attempt: int, init: bool = False
    ) -> str:
        """Create a container; returns its ID ("<runtime>://<hex>")."""

    @abc.abstractmethod
    async def start_container(self, container_id: str) -> str:
        """Start it; returns startedAt (RFC 3339)."""

    @abc.abstractmethod
    async def wait_container(self, container_id: str) -> ContainerExit:
        """Return when the container exits, however it exits."""

    @abc.abstractmethod
    async def stop_container(self, container_id: str, grace_seconds: float) -> ContainerExit:
        """SIGTERM, then SIGKILL after the grace period; returns how it ended."""

    async def exec_sync(
        self, container_id: str, cmd: list[str], timeout: float
    ) -> tuple[int, bytes]:
        """Run `cmd` in the container and wait for it (CRI ExecSync), for exec probes.

        Returns (exit code, stdout followed by stderr). Raises TimeoutError when the
        command outlives `timeout` seconds (CRI answers DeadlineExceeded); any other
        exception makes the probe "errored" (its result is thrown away, as upstream)."""
        raise NotImplementedError(f"{type(self).__name__} cannot exec in containers")

    def simulated_probe(self, container_id: str) -> bool:
        """Whether the container answers network probes; asked only when
        `probes_reach_pods` is False."""
        return True

    async def remove_container(self, container_id: str) -> None:  # noqa: B027 - optional
        """Forget an exited container (a runtime may keep it for logs --previous)."""

    def image_ref(self, image: str) -> str:
        """The fully qualified reference status.containerStatuses[].image shows."""
        return normalize_image(image)

    def adopt(self, pod: Obj) -> tuple[Sandbox, list[AdoptedContainer]] | None:
        """The sandbox and containers this runtime already runs for the pod, if any."""
        return None

    async def close(self) -> None:  # noqa: B027 - optional
        """Release the runtime's resources (connections, child processes)."""


def normalize_image(image: str) -> str:
    """docker.io/library/nginx:latest for "nginx", as containerd reports references."""
    name, digest = image, ""
    if "@" in image:
        name, _, digest = image.partition("@")
    first, sep, _rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost"):
        name = f"docker.io/{name}" if sep else f"docker.io/library/{name}"
    if digest:
        return f"{name}@{digest}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        name += ":latest"
    return name
