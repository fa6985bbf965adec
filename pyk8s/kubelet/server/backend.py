"""What the kubelet API server needs from the node's container runtime.

The CRI runtime implements `StreamingBackend`; tests use a fake. Lookups are by the
names the API server uses (namespace, pod, container), as upstream's kubelet finds a
container among the pods it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ContainerRef:
    """One container instance (the current one, or the previous one with --previous)."""

    container_id: str
    log_path: Path  # the CRI log file (containerd writes it; the kubelet reads it)
    running: bool  # `logs -f` stops once the container stopped and its log is drained
    pod_ip: str = ""


@dataclass(frozen=True)
class PodRef:
    """A pod sandbox the node runs: what port-forward needs to reach the pod."""

    sandbox_id: str
    pod_ip: str
    netns: str = ""  # the network namespace path, "" when unknown or hostNetwork


class StreamingBackend(Protocol):
    def find_container(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> ContainerRef | None:
        """The named container of a pod this node runs: with previous=False the current
        instance (running or exited), with previous=True the last exited one; None
        when there is none."""
        ...

    async def exec_url(
        self,
        container_id: str,
        cmd: list[str],
        tty: bool,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> str:
        """CRI Exec: the streaming server's URL for this command (containerd answers
        http://127.0.0.1:PORT/exec/TOKEN)."""
        ...

    async def attach_url(
        self, container_id: str, tty: bool, stdin: bool, stdout: bool, stderr: bool
    ) -> str:
        """CRI Attach: the streaming server's URL for the container's own stdio."""
        ...

    def pod_ref(self, namespace: str, pod: str) -> PodRef | None:
        """The pod's sandbox, or None when this node does not run the pod."""
        ...
