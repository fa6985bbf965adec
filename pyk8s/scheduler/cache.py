"""The scheduler's node cache: nodes as rows of numpy arrays, kept up to date
incrementally from node and pod events, so filters and scores run over whole
columns at once instead of looping over nodes in Python.

Each node owns a slot (row). Per slot: allocatable and requested cpu / memory /
ephemeral-storage / pod count, the "non-zero" requests used for scoring, the
unschedulable flag, and an id of the node's taint set (nodes share a handful of
distinct taint sets, so a pod's tolerations are checked once per set). Labels are
indexed key -> value -> slots for node selectors.

Pods count on their node as soon as the scheduler *assumes* them (before the
binding is written), are forgotten if the binding fails, and are confirmed when the
informer shows them bound: upstream's assume / forget / add cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pyk8s.scheduler.podinfo import PodInfo, quantity_value, resource_list

Obj = dict[str, Any]
Taint = tuple[str, str, str]  # (key, value, effect)
# How many (namespace, selector) spreading counts are kept up to date at once.
SPREAD_COUNTS_KEPT = 64

_INT_COLUMNS = (
    "alloc_cpu",
    "alloc_mem",
    "alloc_eph",
    "alloc_pods",
    "req_cpu",
    "req_mem",
    "req_eph",
    "num_pods",
    "nz_cpu",
    "nz_mem",
)


def node_taints(node: Obj) -> tuple[Taint, ...]:
    taints = (node.get("spec") or {}).get("taints") or []
    return tuple((t.get("key", ""), t.get("value", "") or "", t.get("effect", "")) for t in taints)


def node_allocatable(node: Obj) -> tuple[int, int, int, int]:
    alloc = (node.get("status") or {}).get("allocatable") or {}
    cpu, mem, eph = resource_list(alloc)
    pods = quantity_value(alloc["pods"]) if "pods" in alloc else 0
    return cpu, mem, eph, pods


@dataclass(slots=True)
class NodeInfo:
    """A read-only view of one slot, for the scalar (reference) plugin paths."""

    cache: NodeCache
    idx: int

    @property
    def name(self) -> str:
        return self.cache.names[self.idx] or ""

    @property
    def node(self) -> Obj:
        return self.cache.nodes[self.idx] or {}

    @property
    def labels(self) -> dict[str, str]:
        return self.cache.labels[self.idx]

    @property
    def taints(self) -> tuple[Taint, ...]:
        return self.cache.taint_sets[int(self.cache.taint_set[self.idx])]

    @property
    def unschedulable(self) -> bool:
        return bool(self.cache.unschedulable[self.idx])

    @property
    def pods(self) -> list[PodInfo]:
        return list(self.cache.node_pods[self.idx].values())

    @property
    def used_ports(self) -> dict[tuple[str, str, int], int]:
        return self.cache.node_ports[self.idx]

    def col(self, name: str) -> int:
        return int(getattr(self.cache, name)[self.idx])


class NodeCache:
    def __init__(self, capacity: int = 64) -> None:
        self.cap = 0
        self.size = 0  # high-water mark of slots in use; arrays are valid up to here
        self._valid_count = 0  # slots holding a node (valid), kept as nodes come and go
        self.valid = np.zeros(0, dtype=bool)
        self.unschedulable = np.zeros(0, dtype=bool)
        self.taint_set = np.zeros(0, dtype=np.int32)
        for col in _INT_COLUMNS:
            setattr(self, col, np.zeros(0, dtype=np.int64))
        self.names: list[str | None] = []
        self.nodes: list[Obj | None] = []
        self.labels: list[dict[str, str]] = []
        self.node_pods: list[dict[str, PodInfo]] = []
        self.node_ports: list[dict[tuple[str, str, int], int]] = []
        self.index: dict[str, int] = {}
        self._free: list[int] = []
        # Distinct taint sets; id 0 is "no taints".
        self.taint_sets: list[tuple[Taint, ...]] = [()]
        self._taint_ids: dict[tuple[Taint, ...], int] = {(): 0}
        # Node labels: key -> value -> slots.
        self.label_index: dict[str, dict[str, set[int]]] = {}
        self.generation = 0  # bumped on any node (not pod) change: invalidates node masks
        self.label_generation = 0  # bumped only when some node's labels (or the node set) change
        # Pods: key -> (PodInfo, slot), and which of them are only assumed.
        self.pods: dict[str, tuple[PodInfo, int]] = {}
        self.assumed: set[str] = set()
        # (namespace, label key, value) -> pod keys, for spreading counts.
        self.pod_label_index: dict[tuple[str, str, str], set[str]] = {}
        self.port_slots: dict[int, set[int]] = {}  # host port -> slots using it
        self.plugin_cache: dict[str, Any] = {}  # plugins' caches keyed on `generation`
        # (namespace, selector requirements) -> (selector, live matching pods per slot),
        # maintained on every pod placement so spreading never rescans a namespace's pods.
        # A plain dict in least-recently-used order (an OrderedDict hashes every key
        # again while iterating, and a key holds the selector's requirements).
        self._spread: dict[tuple[str, str, bool], tuple[str, Any, np.ndarray]] = {}
        self._grow(capacity)

    # -- slots -------------------------------------------------------------------------

    def _grow(self, capacity: int) -> None:
        old = self.cap
        self.cap = max(capacity, old * 2, 16)

        def grow(arr: np.ndarray) -> np.ndarray:
            new = np.zeros(self.cap, dtype=arr.dtype)
            new[:old] = arr[:old]
            return new

        self.valid = grow(self.valid)
        self.unschedulable = grow(self.unschedulable)
        self.taint_set = grow(self.taint_set)
        for col in _INT_COLUMNS:
            setattr(self, col, grow(getattr(self, col)))
        extra = self.cap - old
        self.names.extend([None] * extra)
        self.nodes.extend([None] * extra)
        self.labels.extend({} for _ in range(extra))
        self.node_pods.extend({} for _ in range(extra))
        self.node_ports.extend({} for _ in range(extra))
        for key, (namespace, selector, counts) in self._spread.items():
            self._spread[key] = (namespace, selector, grow(counts))

    def _new_slot(self, name: str) -> int:
        if self._free:
            idx = self._free.pop()
        else:
            if self.size == self.cap:
                self._grow(self.cap * 2)
            idx = self.size
            self.size += 1
        self.names[idx] = name
        self.index[name] = idx
        return idx

    def _release_slot(self, idx: int) -> None:
        name = self.names[idx]
        if name is not None:
            self.index.pop(name, None)
        self.names[idx] = None
        self._free.append(idx)

    # -- nodes ---------------------------------------------------------------------------

    def node_count(self) -> int:
        return self._valid_count

    def slot(self, name: str) -> int | None:
        idx = self.index.get(name)
        return idx if idx is not None and self.valid[idx] else None

    def view(self, idx: int) -> NodeInfo:
        return NodeInfo(self, idx)

    def valid_slots(self) -> np.ndarray:
        return np.flatnonzero(self.valid[: self.size])

    def add_node(self, node: Obj) -> int:
        name = node["metadata"]["name"]
        idx = self.index.get(name)
        if idx is None:
            idx = self._new_slot(name)
        self._set_node(idx, node)
        return idx

    update_node = add_node

    def _set_node(self, idx: int, node: Obj) -> None:
        self.generation += 1
        labels = dict((node.get("metadata") or {}).get("labels") or {})
        if not self.valid[idx] or labels != self.labels[idx]:
            # Re-indexed only on a real change, so label_index's order (the domain ids
            # plugins cache per label_generation) stays put otherwise.
            self.label_generation += 1
            self._unindex_labels(idx)
            self.labels[idx] = labels
            for key, value in labels.items():
                self.label_index.setdefault(key, {}).setdefault(value, set()).add(idx)
        self.nodes[idx] = node
        if not self.valid[idx]:
            self._valid_count += 1
        self.valid[idx] = True
        self.unschedulable[idx] = bool((node.get("spec") or {}).get("unschedulable"))
        self.taint_set[idx] = self._taint_id(node_taints(node))
        cpu, mem, eph, pods = node_allocatable(node)
        self.alloc_cpu[idx], self.alloc_mem[idx] = cpu, mem
        self.alloc_eph[idx], self.alloc_pods[idx] = eph, pods

    def _taint_id(self, taints: tuple[Taint, ...]) -> int:
        tid = self._taint_ids.get(taints)
        if tid is None:
            tid = len(self.taint_sets)
            self.taint_sets.append(taints)
            self._taint_ids[taints] = tid
        return tid

    def _unindex_labels(self, idx: int) -> None:
        for key, value in self.labels[idx].items():
            slots = self.label_index.get(key, {}).get(value)
            if slots is not None:
                slots.discard(idx)
                if not slots:
                    del self.label_index[key][value]
                    if not self.label_index[key]:
                        del self.label_index[key]

    def remove_node(self, name: str) -> None:
        idx = self.index.get(name)
        if idx is None:
            return
        self.generation += 1
        self.label_generation += 1
        self._unindex_labels(idx)
        self.labels[idx] = {}
        if self.valid[idx]:
            self._valid_count -= 1
        self.valid[idx] = False
        self.nodes[idx] = None
        for col in ("alloc_cpu", "alloc_mem", "alloc_eph", "alloc_pods"):
            getattr(self, col)[idx] = 0
        # A node's pods keep their slot until they go (upstream keeps a ghost NodeInfo).
        if not self.node_pods[idx]:
            self._release_slot(idx)

    # -- pods ----------------------------------------------------------------------------

    def get_pod(self, key: str) -> PodInfo | None:
        entry = self.pods.get(key)
        return entry[0] if entry else None

    def pod_node(self, key: str) -> str | None:
        entry = self.pods.get(key)
        return self.names[entry[1]] if entry else None

    def is_assumed(self, key: str) -> bool:
        return key in self.assumed

    def add_pod(self, pi: PodInfo) -> None:
        """An assigned pod seen by the informer: add it, or confirm it if assumed."""
        if pi.key in self.assumed and self._confirm(pi):
            return
        self.assumed.discard(pi.key)
        self._remove(pi.key)
        self._place(pi, pi.node_name)

    def _confirm(self, pi: PodInfo) -> bool:
        """The binding of an assumed pod seen as assumed (same node, same accounting):
        keep its place and counts, take the informer's version of it."""
        entry = self.pods.get(pi.key)
        if entry is None or self.names[entry[1]] != pi.node_name:
            return False
        old, idx = entry
        same = (old.requests, old.non_zero, old.ports, old.namespace, old.terminating) == (
            pi.requests,
            pi.non_zero,
            pi.ports,
            pi.namespace,
            pi.terminating,
        )
        if not same or old.labels != pi.labels:
            return False
        self.assumed.discard(pi.key)
        self.pods[pi.key] = (pi, idx)
        self.node_pods[idx][pi.key] = pi
        return True

    def update_pod(self, pi: PodInfo) -> None:
        self.add_pod(pi)

    def remove_pod(self, key: str) -> None:
        self.assumed.discard(key)
        self._remove(key)

    def assume_pod(self, pi: PodInfo, node_name: str) -> None:
        self._remove(pi.key)
        self._place(pi, node_name)
        self.assumed.add(pi.key)

    def forget_pod(self, key: str) -> None:
        """Undo an assume (the binding failed); a confirmed pod is left alone."""
        if key in self.assumed:
            self.assumed.discard(key)
            self._remove(key)

    def _place(self, pi: PodInfo, node_name: str) -> None:
        idx = self.index.get(node_name)
        if idx is None:
            # The pod's node is not known (yet): hold a ghost slot so accounting is right
            # when the node arrives.
            idx = self._new_slot(node_name)
        self.pods[pi.key] = (pi, idx)
        self.node_pods[idx][pi.key] = pi
        self._account(idx, pi, 1)
        for k, v in pi.labels.items():
            self.pod_label_index.setdefault((pi.namespace, k, v), set()).add(pi.key)
        self._count_spread(idx, pi, 1)

    def _remove(self, key: str) -> None:
        entry = self.pods.pop(key, None)
        if entry is None:
            return
        pi, idx = entry
        self.node_pods[idx].pop(key, None)
        self._account(idx, pi, -1)
        self._count_spread(idx, pi, -1)
        for k, v in pi.labels.items():
            keys = self.pod_label_index.get((pi.namespace, k, v))
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.pod_label_index[(pi.namespace, k, v)]
        if not self.valid[idx] and not self.node_pods[idx]:
            self._release_slot(idx)

    def _account(self, idx: int, pi: PodInfo, sign: int) -> None:
        cpu, mem, eph = pi.requests
        self.req_cpu[idx] += sign * cpu
        self.req_mem[idx] += sign * mem
        self.req_eph[idx] += sign * eph
        self.num_pods[idx] += sign
        self.nz_cpu[idx] += sign * pi.non_zero[0]
        self.nz_mem[idx] += sign * pi.non_zero[1]
        used = self.node_ports[idx]
        for port in pi.ports:
            n = used.get(port, 0) + sign
            if n > 0:
                used[port] = n
            else:
                used.pop(port, None)
            slots = self.port_slots.setdefault(port[2], set())
            if any(p[2] == port[2] for p in used):
                slots.add(idx)
            else:
                slots.discard(idx)

    def _count_spread(self, idx: int, pi: PodInfo, sign: int) -> None:
        if pi.terminating or not self._spread:
            return
        for namespace, selector, counts in self._spread.values():
            if namespace == pi.namespace and selector.matches(pi.labels):
                counts[idx] += sign

    def spread_counts(self, namespace: str, selector: Any) -> np.ndarray:
        """Per slot, how many live (not terminating) pods of `namespace` match
        `selector`. The first call for a selector counts from the pod index; later
        calls read counts kept current by every pod add/remove (a controller's pods
        are scheduled one after another with the same selector). Read-only."""
        key = (namespace, selector.canonical(), selector.matches_nothing())
        hit = self._spread.pop(key, None)
        if hit is not None:
            self._spread[key] = hit  # now the most recently used
            return hit[2][: self.size]
        counts = np.zeros(self.cap, dtype=np.int64)
        for other in self.pods_in_namespace_matching(namespace, selector.exact()):
            if not other.terminating and selector.matches(other.labels):
                counts[self.pods[other.key][1]] += 1
        self._spread[key] = (namespace, selector, counts)
        if len(self._spread) > SPREAD_COUNTS_KEPT:
            del self._spread[next(iter(self._spread))]  # the least recently used
        return counts[: self.size]

    def pods_in_namespace_matching(self, namespace: str, exact: dict[str, str]) -> list[PodInfo]:
        """Pods of `namespace` carrying every label in `exact` (a superset filter:
        callers still check the full selector). Empty `exact`: every pod of the namespace."""
        if exact:
            sets = [self.pod_label_index.get((namespace, k, v), set()) for k, v in exact.items()]
            keys = set.intersection(*sorted(sets, key=len))
            return [self.pods[k][0] for k in keys]
        return [pi for pi, _ in self.pods.values() if pi.namespace == namespace]
