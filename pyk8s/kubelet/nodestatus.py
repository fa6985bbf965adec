"""The Node object a kubelet registers and the status it reports, as upstream's
kubelet fills them in (labels, capacity/allocatable, nodeInfo, addresses, the
four conditions). Pure functions of a NodeConfig and the time."""

from __future__ import annotations

import functools
import hashlib
import platform
import uuid
from dataclasses import dataclass, field
from typing import Any

from pyk8s.apiserver.discovery import GIT_VERSION
from pyk8s.machinery.quantity import parse_quantity

Obj = dict[str, Any]

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
FROZEN_ANNOTATION = "sim.pyk8s.io/frozen"
KUBELET_PORT = 10250
# Upstream's default hard eviction threshold memory.available<100Mi and
# nodefs.available<10% are subtracted from capacity to give allocatable.
MEMORY_RESERVED = 100 * 1024 * 1024

# (type, reason, message) of each condition when all is well, in upstream's order.
HEALTHY_CONDITIONS = [
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
]


def go_arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )


@dataclass
class NodeConfig:
    name: str
    internal_ip: str = "127.0.0.1"
    cpu: str = "4"
    memory: str = "8Gi"
    pods: int = 110
    ephemeral_storage: str = "100Gi"
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[Obj] = field(default_factory=list)
    control_plane: bool = False
    # Upstream registers with node.kubernetes.io/not-ready:NoSchedule and the node
    # lifecycle controller lifts it once Ready; tests without that controller turn it off.
    register_not_ready_taint: bool = True
    lease_interval: float = 10.0
    lease_duration: int = 40
    status_interval: float = 10.0
    status_report_interval: float = 300.0
    # Pod IPs come from this if the node still has no spec.podCIDR after 2 s
    # (node IPAM not running); "" waits for IPAM however long it takes.
    fallback_pod_cidr: str = ""
    os_image: str = "pyk8s simulated node"
    kernel_version: str = field(default_factory=platform.release)
    # Where the kubelet API listens (status.daemonEndpoints); several nodes on one
    # machine each need their own.
    kubelet_port: int = KUBELET_PORT


@functools.lru_cache(maxsize=256)
def _bytes(quantity: str) -> int:
    # Cached: every node's status is recomputed each period from the same few strings.
    return parse_quantity(quantity).value()


def _ki(quantity: str) -> str:
    return f"{_bytes(quantity) // 1024}Ki"


def capacity(cfg: NodeConfig) -> tuple[Obj, Obj]:
    """(capacity, allocatable) as the kubelet reports them."""
    mem = _bytes(cfg.memory)
    disk = _bytes(cfg.ephemeral_storage)
    cap = {
        "cpu": cfg.cpu,
        "ephemeral-storage": _ki(cfg.ephemeral_storage),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": _ki(cfg.memory),
        "pods": str(cfg.pods),
    }
    alloc = dict(cap)
    alloc["memory"] = f"{(mem - MEMORY_RESERVED) // 1024}Ki"
    alloc["ephemeral-storage"] = str(disk * 9 // 10)
    return cap, alloc


def node_labels(cfg: NodeConfig) -> dict[str, str]:
    arch = go_arch()
    labels = {
        "beta.kubernetes.io/arch": arch,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch,
        "kubernetes.io/hostname": cfg.name,
        "kubernetes.io/os": "linux",
    }
    if cfg.control_plane:
        labels[CONTROL_PLANE_LABEL] = ""
    labels.update(cfg.labels)
    return labels


def node_taints(cfg: NodeConfig) -> list[Obj]:
    taints = [dict(t) for t in cfg.taints]
    if cfg.control_plane and not any(t.get("key") == CONTROL_PLANE_LABEL for t in taints):
        taints.append({"key": CONTROL_PLANE_LABEL, "effect": "NoSchedule"})
    if cfg.register_not_ready_taint:
        taints.append({"key": NOT_READY_TAINT, "effect": "NoSchedule"})
    return taints


def _stable_id(name: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{name}".encode()).hexdigest()[:32]


def node_info(cfg: NodeConfig, runtime_version: str) -> Obj:
    return {
        "architecture": go_arch(),
        "bootID": str(uuid.uuid4()),
        "containerRuntimeVersion": runtime_version,
        "kernelVersion": cfg.kernel_version,
        "kubeProxyVersion": "",
        "kubeletVersion": GIT_VERSION,
        "machineID": _stable_id(cfg.name, "machine"),
        "operatingSystem": "linux",
        "osImage": cfg.os_image,
        "systemUUID": str(uuid.UUID(_stable_id(cfg.name, "system"))),
    }


def conditions(old: list[Obj], now: str) -> list[Obj]:
    """Healthy conditions heartbeated at `now`, keeping transition times that still hold."""
    before = {c.get("type"): c for c in old}
    out = []
    for type_, status, reason, message in HEALTHY_CONDITIONS:
        prev = before.get(type_)
        same = prev is not None and prev.get("status") == status
        out.append(
            {
                "lastHeartbeatTime": now,
                "lastTransitionTime": prev.get("lastTransitionTime", now) if same else now,
                "message": message,
                "reason": reason,
                "status": status,
                "type": type_,
            }
        )
    return out


def node_status(cfg: NodeConfig, runtime_version: str, old: Obj, now: str, boot_id: str) -> Obj:
    cap, alloc = capacity(cfg)
    info = node_info(cfg, runtime_version)
    info["bootID"] = boot_id
    return {
        "addresses": [
            {"address": cfg.internal_ip, "type": "InternalIP"},
            {"address": cfg.name, "type": "Hostname"},
        ],
        "allocatable": alloc,
        "capacity": cap,
        "conditions": conditions(list(old.get("conditions") or []), now),
        "daemonEndpoints": {"kubeletEndpoint": {"Port": cfg.kubelet_port}},
        "nodeInfo": info,
    }


def new_node(cfg: NodeConfig, runtime_version: str, now: str, boot_id: str) -> Obj:
    node: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": cfg.name,
            "labels": node_labels(cfg),
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {},
        "status": node_status(cfg, runtime_version, {}, now, boot_id),
    }
    taints = node_taints(cfg)
    if taints:
        node["spec"]["taints"] = taints
    return node


def needs_report(node: Obj, desired: Obj) -> bool:
    """Whether the node's status differs from what the kubelet would post, apart
    from heartbeat times (upstream then posts only every status_report_interval)."""
    current = node.get("status") or {}

    def key(cs: list[Obj]) -> list[tuple[Any, ...]]:
        return [(c.get("type"), c.get("status"), c.get("reason")) for c in cs]

    if key(current.get("conditions") or []) != key(desired["conditions"]):
        return True
    return any(
        current.get(k) != desired[k]
        for k in ("addresses", "capacity", "allocatable", "daemonEndpoints")
    )


def is_frozen(node: Obj) -> bool:
    annotations = (node.get("metadata") or {}).get("annotations") or {}
    return annotations.get(FROZEN_ANNOTATION, "").lower() == "true"
