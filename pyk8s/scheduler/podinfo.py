"""What the scheduler needs to know about a pod, computed once per pod version.

Requests follow upstream's PodRequests: the sum over containers, plus restartable
(sidecar) init containers, at least the largest single init container step (an init
container runs alongside the sidecars started before it), plus the pod overhead.
Scoring uses the "non-zero" variant, where a container with no cpu or memory request
counts as 100m cpu / 200Mi memory so that best-effort pods still spread out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pyk8s.machinery.quantity import QuantityError, parse_quantity

Obj = dict[str, Any]

DEFAULT_MILLI_CPU = 100  # upstream's DefaultMilliCPURequest
DEFAULT_MEMORY = 200 * 1024 * 1024  # upstream's DefaultMemoryRequest
DEFAULT_SCHEDULER = "default-scheduler"

# (cpu millis, memory bytes, ephemeral-storage bytes)
Requests = tuple[int, int, int]


@lru_cache(maxsize=4096)
def _milli(text: str) -> int:
    try:
        return parse_quantity(text).milli_value()
    except QuantityError:
        return 0


@lru_cache(maxsize=4096)
def _units(text: str) -> int:
    try:
        return parse_quantity(text).value()
    except QuantityError:
        return 0


def quantity_value(value: Any) -> int:
    """Whole units of a quantity (bytes, counts); 0 if unparsable."""
    return _units(str(value))


def resource_list(rl: Obj | None) -> Requests:
    """A ResourceList's (cpu millis, memory bytes, ephemeral-storage bytes)."""
    if not rl:
        return (0, 0, 0)
    cpu, mem, eph = rl.get("cpu"), rl.get("memory"), rl.get("ephemeral-storage")
    return (
        _milli(str(cpu)) if cpu is not None else 0,
        _units(str(mem)) if mem is not None else 0,
        _units(str(eph)) if eph is not None else 0,
    )


def _container_requests(c: Obj, non_zero: bool) -> Requests:
    rl = (c.get("resources") or {}).get("requests") or {}
    cpu, mem, eph = resource_list(rl)
    if non_zero:
        # "Missing" means absent: an explicit 0 stays 0, as upstream's NonMissingContainerRequests.
        if "cpu" not in rl:
            cpu = DEFAULT_MILLI_CPU
        if "memory" not in rl:
            mem = DEFAULT_MEMORY
    return (cpu, mem, eph)


def _add(a: Requests, b: Requests) -> Requests:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _max(a: Requests, b: Requests) -> Requests:
    return (max(a[0], b[0]), max(a[1], b[1]), max(a[2], b[2]))


def pod_requests(pod: Obj, non_zero: bool = False) -> Requests:
    """The pod's effective requests (upstream's resourcehelper.PodRequests)."""
    spec = pod.get("spec") or {}
    total: Requests = (0, 0, 0)
    for c in spec.get("containers") or []:
        total = _add(total, _container_requests(c, non_zero))
    sidecars: Requests = (0, 0, 0)
    init_max: Requests = (0, 0, 0)
    for c in spec.get("initContainers") or []:
        r = _container_requests(c, non_zero)
        if c.get("restartPolicy") == "Always":
            sidecars = _add(sidecars, r)
            step = sidecars
        else:
            step = _add(r, sidecars)
        init_max = _max(init_max, step)
    total = _max(_add(total, sidecars), init_max)
    return _add(total, resource_list(spec.get("overhead")))


def host_ports(pod: Obj) -> tuple[tuple[str, str, int], ...]:
    """(hostIP, protocol, hostPort) for every container port that asks for a host port."""
    spec = pod.get("spec") or {}
    found = []
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        for p in c.get("ports") or []:
            port = p.get("hostPort") or 0
            if port > 0:
                found.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", port))
    return tuple(found)


@dataclass(slots=True, eq=False)
class PodInfo:
    """A pod plus its pre-computed scheduling facts."""

    pod: Obj
    key: str
    uid: str
    namespace: str
    name: str
    labels: dict[str, str]
    requests: Requests
    non_zero: Requests
    ports: tuple[tuple[str, str, int], ...]
    priority: int
    node_name: str
    terminating: bool
    extra: dict[str, Any] = field(default_factory=dict)  # plugins' per-pod caches

    @property
    def spec(self) -> Obj:
        return self.pod.get("spec") or {}


def pod_info(pod: Obj) -> PodInfo:
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    ns, name = md.get("namespace") or "", md.get("name") or ""
    return PodInfo(
        pod=pod,
        key=f"{ns}/{name}",
        uid=md.get("uid") or "",
        namespace=ns,
        name=name,
        labels=md.get("labels") or {},
        requests=pod_requests(pod),
        non_zero=pod_requests(pod, non_zero=True),
        ports=host_ports(pod),
        priority=int(spec.get("priority") or 0),
        node_name=spec.get("nodeName") or "",
        terminating=bool(md.get("deletionTimestamp")),
    )


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
