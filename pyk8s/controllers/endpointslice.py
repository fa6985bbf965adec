"""The EndpointSlice controller: for every Service with a selector, discovery.k8s.io/v1
EndpointSlices (at most 100 endpoints each) holding the selected pods, with
ready/serving/terminating conditions (upstream's endpointslice controller).

Slices are grouped by address type and by the resolved port set. Reconciling keeps
endpoints in the slice that already holds them, fills free room before creating
slices, deletes slices left empty, and keeps one empty "placeholder" slice for a
service that selects nothing, as upstream does.

The informer may lag behind our own writes: a tracker remembers the
resourceVersion of every slice we wrote (or that we deleted it), and a service is
not reconciled until the cache has caught up, so a slice is never created twice.
"""

from __future__ import annotations

from typing import Any

from pyk8s.client import is_not_found
from pyk8s.controllers.endpoints import (
    ServicePodsController,
    endpoint_port,
    find_port,
    pod_hostname,
    pod_ref,
    service_selector,
    should_pod_be_in_endpoints,
)
from pyk8s.controllers.ownerrefs import controller_ref
from pyk8s.controllers.podutil import is_pod_ready
from pyk8s.machinery import meta

Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
MAX_ENDPOINTS = 100
STALE_RECHECK = 0.05


# -- desired state (pure) -----------------------------------------------------------------


def address_types(svc: Obj) -> list[str]:
    families = (svc.get("spec") or {}).get("ipFamilies") or ["IPv4"]
    return ["IPv6" if f == "IPv6" else "IPv4" for f in families]


def _pod_ip(pod: Obj, address_type: str) -> str:
    status = pod.get("status") or {}
    ips = [p.get("ip", "") for p in status.get("podIPs") or []] or [status.get("podIP", "")]
    for ip in ips:
        if ip and (":" in ip) == (address_type == "IPv6"):
            return ip
    return ""


def pod_endpoint(pod: Obj, svc: Obj, ip: str) -> Obj:
    serving = is_pod_ready(pod)
    terminating = meta.is_being_deleted(pod)
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    ep: Obj = {
        "addresses": [ip],
        "conditions": {
            "ready": publish or (serving and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
    }
    hostname = pod_hostname(pod, svc)
    if hostname:
        ep["hostname"] = hostname
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        ep["nodeName"] = node
    ep["targetRef"] = pod_ref(pod)
    return ep


def ports_key(ports: list[Obj] | None) -> tuple:
    return tuple(
        sorted((p.get("name", ""), p["port"], p.get("protocol", "TCP")) for p in ports or [])
    )


def desired_groups(
    svc: Obj, pods: list[Obj]
) -> dict[tuple, tuple[str, list[Obj] | None, list[Obj]]]:
    """(address type, ports key) -> (address type, slice ports, endpoints)."""
    svc_ports = (svc.get("spec") or {}).get("ports") or []
    groups: dict[tuple, tuple[str, list[Obj] | None, list[Obj]]] = {}
    for pod in sorted(pods, key=meta.name_of):
        if not should_pod_be_in_endpoints(pod, include_terminating=True):
            continue
        ports = [
            endpoint_port(sp, n) | {"name": sp.get("name", "")}
            for sp in svc_ports
            if (n := find_port(pod, sp)) is not None
        ]
        if svc_ports and not ports:
            continue
        for address_type in address_types(svc):
            ip = _pod_ip(pod, address_type)
            if not ip:
                continue
            key = (address_type, ports_key(ports))
            groups.setdefault(key, (address_type, ports, []))[2].append(pod_endpoint(pod, svc, ip))
    if not groups:
        address_type = address_types(svc)[0]
        groups[(address_type, ())] = (address_type, None, [])
    return groups


def endpoint_id(ep: Obj) -> str:
    ref = ep.get("targetRef") or {}
    return ref.get("uid") or ",".join(ep.get("addresses") or [])


def slice_labels(svc: Obj) -> dict[str, str]:
    out = {
        k: v
        for k, v in meta.labels_of(svc).items()
        if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL)
    }
    if (svc.get("spec") or {}).get("clusterIP") == "None":
        out[HEADLESS_LABEL] = ""
    out[SERVICE_NAME_LABEL] = meta.name_of(svc)
    out[MANAGED_BY_LABEL] = MANAGED_BY
    return out


def plan_group(
    existing: list[Obj], endpoints: list[Obj], placeholder: bool, limit: int = MAX_ENDPOINTS
):
    """Assign endpoints to slices: (kept slices with new endpoints, new slices' endpoints, slices to delete)."""
    wanted = {endpoint_id(ep): ep for ep in endpoints}
    placed: set[str] = set()
    kept: list[tuple[Obj, list[Obj]]] = []
    for sl in sorted(existing, key=meta.name_of):
        mine = []
        for ep in sl.get("endpoints") or []:
            eid = endpoint_id(ep)
            if eid in wanted and eid not in placed and len(mine) < limit:
                mine.append(wanted[eid])
                placed.add(eid)
        kept.append((sl, mine))
    leftovers = [ep for eid, ep in wanted.items() if eid not in placed]
    for _sl, mine in kept:
        while leftovers and len(mine) < limit:
            mine.append(leftovers.pop(0))
    new_slices = [leftovers[i : i + limit] for i in range(0, len(leftovers), limit)]
    if placeholder:
        keep, extra = kept[:1], kept[1:]
        return keep, ([[]] if not keep else []), [sl for sl, _ in extra]
    return [k for k in kept if k[1]], new_slices, [sl for sl, mine in kept if not mine]


# -- the controller -----------------------------------------------------------------------


class EndpointSliceController(ServicePodsController):
    name = "endpointslice"
    workers = 2

    def setup(self) -> None:
        super().setup()
        self.recorder.component = "endpoint-slice-controller"
        self.max_endpoints = int(self.options.get("max_endpoints_per_slice", MAX_ENDPOINTS))
        self.slices = self.informer(
            "discovery.k8s.io/v1",
            "endpointslices",
            label_selector=f"{MANAGED_BY_LABEL}={MANAGED_BY}",
        )
        self.slices.add_index("endpointslice:service", _service_key_of)
        self.slices.add_handler(
            on_update=lambda _old, new: self._slice_changed(new), on_delete=self._slice_deleted
        )
        # service key -> slice name -> resourceVersion we wrote ("" : we deleted it)
        self.tracker: dict[str, dict[str, str]] = {}

    def _slice_changed(self, sl: Obj) -> None:
        for key in _service_key_of(sl):
            self.enqueue_key(key)

    def _slice_deleted(self, sl: Obj) -> None:
        for key in _service_key_of(sl):
            self.tracker.get(key, {}).pop(meta.name_of(sl), None)
            self.enqueue_key(key)

    def _stale(self, key: str) -> bool:
        ns = key.partition("/")[0]
        written = self.tracker.get(key) or {}
        for name, rv in list(written.items()):
            cached = self.slices.get(f"{ns}/{name}")
            if rv == "":
                behind = cached is not None
            else:
                have = (cached or {}).get("metadata", {}).get("resourceVersion", "0")
                behind = cached is None or int(have) < int(rv)
            if not behind:
                written.pop(name)
        return bool(written)

    async def sync(self, key: str) -> None:
        svc = self.services.get(key)
        if svc is None or service_selector(svc) is None:
            self.tracker.pop(key, None)
            return  # a deleted service's slices go with it (ownerReferences)
        if self._stale(key):
            self.enqueue_after(key, STALE_RECHECK)
            return
        existing = self.slices.by_index("endpointslice:service", key)
        groups = desired_groups(svc, self.selected_pods(svc))
        by_group: dict[tuple, list[Obj]] = {}
        for sl in existing:
            gk = (sl.get("addressType"), ports_key(sl.get("ports")))
            by_group.setdefault(gk, []).append(sl)
        for gk, slices in by_group.items():
            if gk not in groups:
                for sl in slices:
                    await self._delete(key, sl)
        for gk, (address_type, ports, endpoints) in groups.items():
            await self._reconcile_group(
                svc, key, by_group.get(gk, []), address_type, ports, endpoints
            )

    async def _reconcile_group(
        self,
        svc: Obj,
        key: str,
        existing: list[Obj],
        address_type: str,
        ports: list[Obj] | None,
        endpoints: list[Obj],
    ) -> None:
        placeholder = not endpoints
        kept, new, gone = plan_group(existing, endpoints, placeholder, self.max_endpoints)
        for sl in gone:
            await self._delete(key, sl)
        labels = slice_labels(svc)
        for sl, eps in kept:
            desired = {**sl, "endpoints": eps, "ports": ports}
            desired["metadata"] = {**sl["metadata"], "labels": labels}
            if ports is None:
                desired.pop("ports")  # a placeholder slice has no ports
            if _slice_differs(sl, desired):
                await self._write(key, "update", desired)
        for eps in new:
            body: Obj = {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "generateName": f"{meta.name_of(svc)}-",
                    "namespace": meta.namespace_of(svc),
                    "labels": labels,
                    "ownerReferences": [controller_ref(svc, "v1", "Service")],
                },
                "addressType": address_type,
                "endpoints": eps,
            }
            if ports is not None:
                body["ports"] = ports
            await self._write(key, "create", body)

    async def _write(self, key: str, verb: str, body: Obj) -> None:
        if verb == "create":
            out = await self.client.create(self.slices.res, body)
        else:
            try:
                out = await self.client.update(self.slices.res, body)
            except Exception as e:
                if is_not_found(e):
                    return
                raise
        self.tracker.setdefault(key, {})[meta.name_of(out)] = out["metadata"]["resourceVersion"]

    async def _delete(self, key: str, sl: Obj) -> None:
        try:
            await self.client.delete(self.slices.res, meta.name_of(sl), meta.namespace_of(sl))
        except Exception as e:
            if not is_not_found(e):
                raise
        self.tracker.setdefault(key, {})[meta.name_of(sl)] = ""


def _service_key_of(sl: Obj) -> list[str]:
    name = meta.labels_of(sl).get(SERVICE_NAME_LABEL)
    return [f"{meta.namespace_of(sl)}/{name}"] if name else []


def _slice_differs(current: Obj, desired: Obj) -> bool:
    if (current.get("endpoints") or []) != (desired.get("endpoints") or []):
        return True
    if (current.get("ports") or None) != (desired.get("ports") or None):
        return True
    return meta.labels_of(current) != meta.labels_of(desired)
