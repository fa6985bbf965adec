"""The endpoints controller: for every Service with a selector, an Endpoints object
of the same name listing the selected pods' IPs, ready ones under `addresses` and
the others under `notReadyAddresses`, with the service's target ports resolved
against each pod (upstream's endpoint controller).

`ServicePodsController` is the part the EndpointSlice controller shares: services
and pods informers, and pod events mapped onto the services selecting the pod.
"""

from __future__ import annotations

from typing import Any

from pyk8s.client import is_already_exists, is_conflict, is_not_found
from pyk8s.controllers.base import Controller
from pyk8s.controllers.ownerrefs import is_terminal
from pyk8s.controllers.podutil import is_pod_ready
from pyk8s.machinery import labels, meta

Obj = dict[str, Any]

HEADLESS_LABEL = "service.kubernetes.io/headless"


# -- pure helpers -----------------------------------------------------------------------


def service_selector(svc: Obj) -> dict[str, str] | None:
    """The service's selector, or None when it has none (its endpoints are hand-made)."""
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return None
    sel = spec.get("selector")
    return dict(sel) if sel else None


def selects(svc: Obj, pod: Obj) -> bool:
    sel = service_selector(svc)
    if sel is None or meta.namespace_of(svc) != meta.namespace_of(pod):
        return False
    return labels.selector_from_set(sel).matches(meta.labels_of(pod))


def should_pod_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """Upstream's ShouldPodBeInEndpoints: an IP, not finished, not deleting (unless asked)."""
    status = pod.get("status") or {}
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    if not include_terminating and meta.is_being_deleted(pod):
        return False
    return not is_terminal(pod)


def find_port(pod: Obj, svc_port: Obj) -> int | None:
    """The pod port a service port targets: a number, or a container port's name."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = svc_port.get("protocol", "TCP")
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and port.get("protocol", "TCP") == protocol:
                return port.get("containerPort")
    return None


def endpoint_port(svc_port: Obj, number: int) -> Obj:
    port = {"port": number, "protocol": svc_port.get("protocol", "TCP")}
    if svc_port.get("name"):
        port["name"] = svc_port["name"]
    if svc_port.get("appProtocol"):
        port["appProtocol"] = svc_port["appProtocol"]
    return port


def pod_ref(pod: Obj) -> Obj:
    md = pod["metadata"]
    return {
        "kind": "Pod",
        "namespace": md.get("namespace", ""),
        "name": md["name"],
        "uid": md["uid"],
    }


def pod_hostname(pod: Obj, svc: Obj) -> str:
    """A pod's hostname is published when its subdomain is the service's name."""
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == meta.name_of(svc):
        return spec["hostname"]
    return ""


def _address(pod: Obj, svc: Obj) -> Obj:
    addr: Obj = {"ip": pod["status"]["podIP"]}
    hostname = pod_hostname(pod, svc)
    if hostname:
        addr["hostname"] = hostname
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        addr["nodeName"] = node
    addr["targetRef"] = pod_ref(pod)
    return addr


def _ports_key(ports: list[Obj]) -> tuple:
    return tuple(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))


def build_subsets(svc: Obj, pods: list[Obj]) -> list[Obj]:
    """Endpoints subsets: addresses grouped by the set of ports they serve, sorted."""
    spec = svc.get("spec") or {}
    publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
    svc_ports = spec.get("ports") or []
    # address key -> (address, ready, ports)
    entries: dict[tuple, tuple[Obj, bool, list[Obj]]] = {}
    for pod in pods:
        if not pod.get("status", {}).get("podIP"):
            continue
        if not should_pod_be_in_endpoints(pod, publish_not_ready):
            continue
        ready = publish_not_ready or is_pod_ready(pod)
        ports = []
        for sp in svc_ports:
            number = find_port(pod, sp)
            if number is not None:
                ports.append(endpoint_port(sp, number))
        if svc_ports and not ports:
            continue  # no port of this pod is targeted
        addr = _address(pod, svc)
        entries[(addr["ip"], meta.uid_of(pod))] = (addr, ready, ports)
    groups: dict[tuple, tuple[list[Obj], list[tuple[Obj, bool]]]] = {}
    for addr, ready, ports in entries.values():
        key = _ports_key(ports)
        groups.setdefault(key, (ports, []))[1].append((addr, ready))
    subsets = []
    for _key, (ports, members) in sorted(groups.items()):
        subsets.append(_subset(ports, members))
    return subsets


def _subset(ports: list[Obj], members: list[tuple[Obj, bool]]) -> Obj:
    def order(addr: Obj) -> tuple:
        return (addr["ip"], addr.get("targetRef", {}).get("uid", ""))

    subset: Obj = {}
    ready = sorted((a for a, r in members if r), key=order)
    not_ready = sorted((a for a, r in members if not r), key=order)
    if ready:
        subset["addresses"] = ready
    if not_ready:
        subset["notReadyAddresses"] = not_ready
    if ports:
        subset["ports"] = sorted(ports, key=lambda p: (p.get("name", ""), p["port"]))
    return subset


def endpoints_labels(svc: Obj) -> dict[str, str]:
    out = dict(meta.labels_of(svc))
    if (svc.get("spec") or {}).get("clusterIP") == "None":
        out[HEADLESS_LABEL] = ""
    else:
        out.pop(HEADLESS_LABEL, None)
    return out


def _pod_relevant(pod: Obj) -> tuple:
    """What about a pod can change its endpoints (other updates are ignored)."""
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    return (
        tuple(sorted(meta.labels_of(pod).items())),
        status.get("podIP"),
        is_pod_ready(pod),
        status.get("phase"),
        bool(meta.is_being_deleted(pod)),
        spec.get("nodeName"),
        spec.get("hostname"),
        spec.get("subdomain"),
    )


# -- shared controller base ---------------------------------------------------------------


class ServicePodsController(Controller):
    """Services and pods informers; a pod event enqueues every service selecting it."""

    def setup(self) -> None:
        self.services = self.informer("v1", "services")
        self.pods = self.informer("v1", "pods")
        self.services.add_handler(
            on_add=self.enqueue,
            on_update=lambda _old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.pods.add_handler(
            on_add=self._pod_changed,
            on_update=self._pod_updated,
            on_delete=self._pod_changed,
        )

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if _pod_relevant(old) == _pod_relevant(new):
            return
        self._pod_changed(new)
        if meta.labels_of(old) != meta.labels_of(new):
            self._pod_changed(old)  # services that selected it before

    def _pod_changed(self, pod: Obj) -> None:
        for svc in self.services.by_index("namespace", meta.namespace_of(pod)):
            if selects(svc, pod):
                self.enqueue(svc)

    def selected_pods(self, svc: Obj) -> list[Obj]:
        return [
            p for p in self.pods.by_index("namespace", meta.namespace_of(svc)) if selects(svc, p)
        ]


class EndpointsController(ServicePodsController):
    name = "endpoints"
    workers = 2

    def setup(self) -> None:
        super().setup()
        self.recorder.component = "endpoint-controller"
        self.endpoints = self.informer("v1", "endpoints")
        # Someone else changed or removed our Endpoints: converge again.
        self.endpoints.add_handler(
            on_update=lambda _old, new: self.enqueue(new), on_delete=self.enqueue
        )

    async def sync(self, key: str) -> None:
        svc = self.services.get(key)
        if svc is None:
            await self._delete(key)
            return
        if service_selector(svc) is None:
            return  # endpoints of a service without a selector are the user's
        desired = self._desired(svc)
        current = self.endpoints.get(key)
        if current is None:
            await self._create(desired)
        elif _differs(current, desired):
            await self._update(current, desired)

    def _desired(self, svc: Obj) -> Obj:
        md = svc["metadata"]
        ep: Obj = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": md["name"], "namespace": md["namespace"]},
        }
        ep_labels = endpoints_labels(svc)
        if ep_labels:
            ep["metadata"]["labels"] = ep_labels
        subsets = build_subsets(svc, self.selected_pods(svc))
        if subsets:
            ep["subsets"] = subsets
        return ep

    async def _create(self, desired: Obj) -> None:
        try:
            await self.client.create(self.endpoints.res, desired)
        except Exception as e:
            if is_already_exists(e):
                raise RuntimeError("endpoints appeared meanwhile; retrying") from e
            if is_not_found(e):
                return  # the namespace went away
            raise

    async def _update(self, current: Obj, desired: Obj) -> None:
        new = dict(current)
        new["metadata"] = {**current["metadata"], "labels": desired["metadata"].get("labels")}
        if not new["metadata"]["labels"]:
            new["metadata"].pop("labels")
        new.pop("subsets", None)
        if desired.get("subsets"):
            new["subsets"] = desired["subsets"]
        try:
            await self.client.update(self.endpoints.res, new)
        except Exception as e:
            if is_not_found(e):
                return
            if is_conflict(e):
                raise RuntimeError("endpoints changed meanwhile; retrying") from e
            raise

    async def _delete(self, key: str) -> None:
        ns, _, name = key.partition("/")
        if self.endpoints.get(key) is None:
            return
        try:
            await self.client.delete(self.endpoints.res, name, ns)
        except Exception as e:
            if not is_not_found(e):
                raise


def _differs(current: Obj, desired: Obj) -> bool:
    if (current.get("subsets") or []) != (desired.get("subsets") or []):
        return True
    return meta.labels_of(current) != (desired["metadata"].get("labels") or {})


__all__ = [
    "EndpointsController",
    "ServicePodsController",
    "build_subsets",
    "find_port",
    "should_pod_be_in_endpoints",
]
