"""What the containerd runtime remembers of the sandboxes and containers it runs
(the CRI knows them too, by the io.kubernetes.* labels; these add the host paths)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyk8s.kubelet.runtime.crispec import log_directory_name

Obj = dict[str, Any]

PREFIX = "containerd://"


def strip_id(container_id: str) -> str:
    return container_id.split("://", 1)[-1]


@dataclass
class SandboxInfo:
    id: str
    uid: str
    namespace: str
    name: str
    ip: str
    config: Obj
    pod_dir: Path
    log_dir: Path
    volume_paths: dict[str, Path] | None = None

    @classmethod
    def of_pod(cls, sandbox_id: str, pod: Obj, ip: str, config: Obj, node_dir: Path) -> SandboxInfo:
        """A pod's sandbox with its host directories: volumes and files under
        pods/<uid>, CRI logs under logs/<namespace>_<name>_<uid> (as /var/log/pods)."""
        meta = pod["metadata"]
        return cls(
            sandbox_id,
            meta["uid"],
            meta.get("namespace", ""),
            meta["name"],
            ip,
            config,
            node_dir / "pods" / meta["uid"],
            node_dir / "logs" / log_directory_name(pod),
        )


@dataclass
class ContainerInfo:
    id: str
    sandbox_id: str
    namespace: str
    pod: str
    uid: str
    name: str
    attempt: int
    log_path: Path
    termination_path: Path | None = None
    termination_policy: str = "File"
    spec: Obj = field(default_factory=dict)
    exited: bool = False


def remove_pod_cgroups(parent: str) -> None:
    """rmdir the pod's cgroup in every v1 hierarchy (runc removes only the
    containers' own cgroups; the kubelet owns the pod level)."""
    root = Path("/sys/fs/cgroup")
    if not parent or not root.is_dir():
        return
    for hierarchy in root.iterdir():
        path = hierarchy / parent.lstrip("/")
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()
