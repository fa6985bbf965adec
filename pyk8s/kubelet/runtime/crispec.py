"""Pod and container specs turned into CRI v1 configs, as upstream's kubelet does
(pkg/kubelet/kuberuntime: labels, annotations, namespaces, resources, QoS).

Pure functions: the CRI runtime adds what needs I/O (environment values,
volume paths, the log directory) and sends the result. Dict keys are the CRI
proto's field names.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pyk8s.api.kinds.pod import pod_qos_class
from pyk8s.machinery.quantity import parse_quantity

Obj = dict[str, Any]

# Label and annotation keys upstream's kubelet puts on sandboxes and containers;
# the agent finds its pods again by them after a restart.
POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
CONTAINER_HASH = "io.kubernetes.container.hash"
RESTART_COUNT = "io.kubernetes.container.restartCount"
TERMINATION_PATH = "io.kubernetes.container.terminationMessagePath"
TERMINATION_POLICY = "io.kubernetes.container.terminationMessagePolicy"
GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod"

# CRI enums.
NS_POD, NS_CONTAINER, NS_NODE = 0, 1, 2
PROTOCOLS = {"TCP": 0, "UDP": 1, "SCTP": 2}
PROPAGATION = {None: 0, "None": 0, "HostToContainer": 1, "Bidirectional": 2}

# Upstream's cgroup arithmetic (pkg/kubelet/cm/helpers_linux.go, qos/policy.go).
CPU_PERIOD = 100_000
MIN_SHARES = 2
MIN_QUOTA = 1_000
GUARANTEED_OOM_SCORE_ADJ = -997
BESTEFFORT_OOM_SCORE_ADJ = 1000


def _spec(pod: Obj) -> Obj:
    return pod.get("spec") or {}


def _meta(pod: Obj) -> Obj:
    return pod.get("metadata") or {}


def pod_labels(pod: Obj) -> dict[str, str]:
    meta = _meta(pod)
    labels = dict(meta.get("labels") or {})
    labels.update(
        {
            POD_NAME: meta.get("name", ""),
            POD_NAMESPACE: meta.get("namespace", ""),
            POD_UID: meta.get("uid", ""),
        }
    )
    return labels


def namespace_options(pod: Obj) -> Obj:
    spec = _spec(pod)
    if spec.get("hostPID"):
        pid = NS_NODE
    elif spec.get("shareProcessNamespace"):
        pid = NS_POD
    else:
        pid = NS_CONTAINER
    return {
        "network": NS_NODE if spec.get("hostNetwork") else NS_POD,
        "pid": pid,
        "ipc": NS_NODE if spec.get("hostIPC") else NS_POD,
    }


def qos_dir(pod: Obj) -> str:
    qos = (pod.get("status") or {}).get("qosClass") or pod_qos_class(_spec(pod))
    return "" if qos == "Guaranteed" else qos.lower()


def cgroup_parent(root: str, pod: Obj) -> str:
    """<root>/kubepods[/burstable|/besteffort]/pod<uid>, as the cgroupfs driver names it."""
    parts = [root.rstrip("/"), "kubepods", qos_dir(pod), "pod" + _meta(pod).get("uid", "")]
    return "/".join(p for p in parts if p)


def port_mappings(pod: Obj) -> list[Obj]:
    mappings = []
    for container in _spec(pod).get("containers") or []:
        for port in container.get("ports") or []:
            if not port.get("hostPort"):
                continue
            mappings.append(
                {
                    "protocol": PROTOCOLS.get(port.get("protocol") or "TCP", 0),
                    "container_port": int(port.get("containerPort") or 0),
                    "host_port": int(port["hostPort"]),
                    "host_ip": port.get("hostIP") or "",
                }
            )
    return mappings


def hostname(pod: Obj) -> str:
    """spec.hostname or the pod name, cut to 63 characters as upstream does."""
    spec = _spec(pod)
    if spec.get("hostNetwork"):
        return ""
    name = spec.get("hostname") or _meta(pod).get("name", "")
    return name[:63].rstrip("-.")


def sandbox_config(
    pod: Obj, *, attempt: int, log_directory: str, cgroup_root: str, dns: Obj | None = None
) -> Obj:
    meta = _meta(pod)
    spec = _spec(pod)
    privileged = any(
        ((c.get("securityContext") or {}).get("privileged") is True)
        for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
    )
    security: Obj = {"namespace_options": namespace_options(pod), "privileged": privileged}
    pod_security = spec.get("securityContext") or {}
    if pod_security.get("runAsUser") is not None:
        security["run_as_user"] = {"value": int(pod_security["runAsUser"])}
    if pod_security.get("runAsGroup") is not None:
        security["run_as_group"] = {"value": int(pod_security["runAsGroup"])}
    if pod_security.get("supplementalGroups"):
        security["supplemental_groups"] = [int(g) for g in pod_security["supplementalGroups"]]
    sysctls = {s["name"]: str(s.get("value", "")) for s in pod_security.get("sysctls") or []}
    config: Obj = {
        "metadata": {
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "namespace": meta.get("namespace", ""),
            "attempt": attempt,
        },
        "hostname": hostname(pod),
        "log_directory": log_directory,
        "port_mappings": port_mappings(pod),
        "labels": pod_labels(pod),
        "annotations": dict(meta.get("annotations") or {}),
        "linux": {
            "cgroup_parent": cgroup_parent(cgroup_root, pod),
            "security_context": security,
            "sysctls": sysctls,
        },
    }
    if dns:
        config["dns_config"] = dns
    return config


# -- containers ---------------------------------------------------------------------


def container_hash(container: Obj) -> str:
    """A stable digest of the container's spec (upstream hashes it to spot changes)."""
    raw = json.dumps(container, sort_keys=True, separators=(",", ":")).encode()
    return format(int(hashlib.sha256(raw).hexdigest()[:8], 16), "x")


def milli_cpu_to_shares(milli: int) -> int:
    if milli == 0:
        return MIN_SHARES
    return max(MIN_SHARES, milli * 1024 // 1000)


def milli_cpu_to_quota(milli: int, period: int = CPU_PERIOD) -> int:
    if milli == 0:
        return 0
    return max(MIN_QUOTA, milli * period // 1000)


def oom_score_adj(pod: Obj, container: Obj, memory_capacity: int) -> int:
    qos = (pod.get("status") or {}).get("qosClass") or pod_qos_class(_spec(pod))
    if qos == "Guaranteed":
        return GUARANTEED_OOM_SCORE_ADJ
    if qos == "BestEffort":
        return BESTEFFORT_OOM_SCORE_ADJ
    request = _quantity(container, "requests", "memory", milli=False)
    adj = 1000 - (1000 * request) // max(memory_capacity, 1)
    if adj < 1000 + GUARANTEED_OOM_SCORE_ADJ:
        return 1000 + GUARANTEED_OOM_SCORE_ADJ
    if adj == BESTEFFORT_OOM_SCORE_ADJ:
        return adj - 1
    return int(adj)


def _quantity(container: Obj, kind: str, name: str, *, milli: bool) -> int:
    value = ((container.get("resources") or {}).get(kind) or {}).get(name)
    if value is None:
        return 0
    q = parse_quantity(value)
    return q.milli_value() if milli else q.value()


def linux_resources(pod: Obj, container: Obj, memory_capacity: int) -> Obj:
    cpu_request = _quantity(container, "requests", "cpu", milli=True)
    cpu_limit = _quantity(container, "limits", "cpu", milli=True)
    if not cpu_request and cpu_limit:
        cpu_request = cpu_limit  # API defaulting copies limits to requests
    resources: Obj = {
        "cpu_shares": milli_cpu_to_shares(cpu_request),
        "oom_score_adj": oom_score_adj(pod, container, memory_capacity),
    }
    if cpu_limit:
        resources["cpu_period"] = CPU_PERIOD
        resources["cpu_quota"] = milli_cpu_to_quota(cpu_limit)
    memory_limit = _quantity(container, "limits", "memory", milli=False)
    if memory_limit:
        resources["memory_limit_in_bytes"] = memory_limit
    return resources


def container_security(pod: Obj, container: Obj) -> Obj:
    pod_ctx = _spec(pod).get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    security: Obj = {
        "namespace_options": namespace_options(pod),
        "privileged": bool(ctx.get("privileged")),
        "readonly_rootfs": bool(ctx.get("readOnlyRootFilesystem")),
        "no_new_privs": ctx.get("allowPrivilegeEscalation") is False,
    }
    caps = ctx.get("capabilities") or {}
    if caps.get("add") or caps.get("drop"):
        security["capabilities"] = {
            "add_capabilities": list(caps.get("add") or []),
            "drop_capabilities": list(caps.get("drop") or []),
        }
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    if user is not None:
        security["run_as_user"] = {"value": int(user)}
    group = ctx.get("runAsGroup", pod_ctx.get("runAsGroup"))
    if group is not None:
        security["run_as_group"] = {"value": int(group)}
    if pod_ctx.get("supplementalGroups"):
        security["supplemental_groups"] = [int(g) for g in pod_ctx["supplementalGroups"]]
    return security


def container_labels(pod: Obj, container: Obj) -> dict[str, str]:
    meta = _meta(pod)
    return {
        POD_NAME: meta.get("name", ""),
        POD_NAMESPACE: meta.get("namespace", ""),
        POD_UID: meta.get("uid", ""),
        CONTAINER_NAME: container.get("name", ""),
    }


def container_annotations(pod: Obj, container: Obj, attempt: int) -> dict[str, str]:
    grace = _spec(pod).get("terminationGracePeriodSeconds")
    return {
        CONTAINER_HASH: container_hash(container),
        RESTART_COUNT: str(attempt),
        TERMINATION_PATH: container.get("terminationMessagePath") or "/dev/termination-log",
        TERMINATION_POLICY: container.get("terminationMessagePolicy") or "File",
        GRACE_PERIOD: str(30 if grace is None else grace),
    }


def container_config(
    pod: Obj,
    container: Obj,
    *,
    attempt: int,
    image: str,
    command: list[str],
    args: list[str],
    envs: list[tuple[str, str]],
    mounts: list[Obj],
    memory_capacity: int,
) -> Obj:
    name = container.get("name", "")
    return {
        "metadata": {"name": name, "attempt": attempt},
        "image": {"image": image},
        "command": command,
        "args": args,
        "working_dir": container.get("workingDir") or "",
        "envs": [{"key": k, "value": v} for k, v in envs],
        "mounts": mounts,
        "labels": container_labels(pod, container),
        "annotations": container_annotations(pod, container, attempt),
        "log_path": f"{name}/{attempt}.log",
        "stdin": bool(container.get("stdin")),
        "stdin_once": bool(container.get("stdinOnce")),
        "tty": bool(container.get("tty")),
        "linux": {
            "resources": linux_resources(pod, container, memory_capacity),
            "security_context": container_security(pod, container),
        },
    }


# -- status -------------------------------------------------------------------------


def rfc3339_from_nanos(nanos: int) -> str:
    if not nanos:
        return ""
    return datetime.fromtimestamp(nanos / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_directory_name(pod: Obj) -> str:
    """<namespace>_<name>_<uid>, as /var/log/pods names a pod's directory."""
    meta = _meta(pod)
    return f"{meta.get('namespace', '')}_{meta.get('name', '')}_{meta.get('uid', '')}"
