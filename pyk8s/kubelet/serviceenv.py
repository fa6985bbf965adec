"""The service environment variables the kubelet gives every container
(KUBERNETES_SERVICE_HOST, FOO_SERVICE_PORT, Docker-link style FOO_PORT_80_TCP...),
from the Services with a cluster IP: `kubernetes` in default always, and those of
the pod's own namespace when spec.enableServiceLinks (default true) allows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]

MASTER_NAMESPACE = "default"


def _has_cluster_ip(svc: Obj) -> bool:
    ip = (svc.get("spec") or {}).get("clusterIP") or ""
    return ip not in ("", "None")


def visible_services(pod: Obj, services: Iterable[Obj]) -> list[Obj]:
    """Services whose variables the pod gets, later ones winning on a clash as the
    kubelet's map does: the `kubernetes` service, then the pod's namespace."""
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    links = (pod.get("spec") or {}).get("enableServiceLinks", True) is not False
    master, own = [], []
    for svc in services:
        meta = svc.get("metadata") or {}
        if not _has_cluster_ip(svc):
            continue
        if meta.get("namespace") == MASTER_NAMESPACE and meta.get("name") == "kubernetes":
            master.append(svc)
        elif links and meta.get("namespace") == namespace:
            own.append(svc)
    return master + sorted(own, key=lambda s: s["metadata"]["name"])


def _env_name(text: str) -> str:
    return text.upper().replace("-", "_")


def service_vars(svc: Obj) -> dict[str, str]:
    spec = svc.get("spec") or {}
    ip = spec["clusterIP"]
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    name = _env_name(svc["metadata"]["name"])
    out = {f"{name}_SERVICE_HOST": ip}
    if not ports:
        return out
    out[f"{name}_SERVICE_PORT"] = str(ports[0].get("port"))
    for port in ports:
        if port.get("name"):
            out[f"{name}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port.get("port"))
    first = ports[0]
    out[f"{name}_PORT"] = f"{(first.get('protocol') or 'TCP').lower()}://{ip}:{first.get('port')}"
    for port in ports:
        proto = port.get("protocol") or "TCP"
        prefix = f"{name}_PORT_{port.get('port')}_{proto.upper()}"
        out[prefix] = f"{proto.lower()}://{ip}:{port.get('port')}"
        out[f"{prefix}_PROTO"] = proto.lower()
        out[f"{prefix}_PORT"] = str(port.get("port"))
        out[f"{prefix}_ADDR"] = ip
    return out


def service_env(pod: Obj, services: Iterable[Obj]) -> dict[str, str]:
    env: dict[str, str] = {}
    for svc in visible_services(pod, services):
        env.update(service_vars(svc))
    return env
