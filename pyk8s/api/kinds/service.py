"""core/v1 Service: defaults, validation, and carrying allocated values (cluster
IP, node ports) across updates that leave them out. Allocation itself is the
API server's service allocator, not this module."""

from __future__ import annotations

from typing import Any

from pyk8s.api.kinds import _names
from pyk8s.api.kinds._base import KindStrategy, spec_of
from pyk8s.api.kinds._util import (
    Obj,
    as_dict,
    as_list,
    go_string_slice,
    invalid_rendered,
    is_int,
    port_num_errors,
    set_default,
)
from pyk8s.machinery.errors import (
    Cause,
    field_duplicate,
    field_forbidden,
    field_invalid,
    field_required,
    field_unsupported,
)
from pyk8s.machinery.validation import name_is_dns1035_label, validate_labels

TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
AFFINITIES = ["ClientIP", "None"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
TRAFFIC_POLICIES = ["Cluster", "Local"]
EXTERNAL_TYPES = ("NodePort", "LoadBalancer")
DEFAULT_AFFINITY_TIMEOUT = 10800


class ServiceStrategy(KindStrategy):
    has_status = True
    name_validator = staticmethod(name_is_dns1035_label)
    # The cluster's service families and node port range (kube-apiserver flags upstream).
    ip_families: tuple[str, ...] = ("IPv4",)
    node_port_range: tuple[int, int] = (30000, 32767)

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        _default_affinity(spec)
        set_default(spec, "type", "ClusterIP")
        _sync_cluster_ips(spec)
        for port in as_list(spec.get("ports")):
            if isinstance(port, dict):
                set_default(port, "protocol", "TCP")
                if port.get("targetPort") in (None, 0, ""):
                    port["targetPort"] = port.get("port")
        kind = spec["type"]
        if kind in EXTERNAL_TYPES:
            set_default(spec, "externalTrafficPolicy", "Cluster")
        if kind != "ExternalName":
            set_default(spec, "internalTrafficPolicy", "Cluster")
            self._default_families(spec)
        if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
            spec["allocateLoadBalancerNodePorts"] = True

    def _default_families(self, spec: Obj) -> None:
        headless_no_selector = spec.get("clusterIP") == "None" and not spec.get("selector")
        policy = "RequireDualStack" if headless_no_selector else "SingleStack"
        set_default(spec, "ipFamilyPolicy", policy)
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = list(self.ip_families)

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {"loadBalancer": {}}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        new_spec, old_spec = spec_of(new), as_dict(old.get("spec"))
        _normalize_changed_ip(new_spec, old_spec)
        keep_allocated(new_spec, old_spec)
        drop_type_dependent_fields(new_spec, old_spec)
        if new_spec.get("type") != "LoadBalancer" and isinstance(new.get("status"), dict):
            # No longer a load balancer: its addresses go (upstream does not make
            # clients wait for the deprovisioning).
            new["status"] = {**new["status"], "loadBalancer": {}}

    def validate(self, obj: Obj) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        kind = spec.get("type")
        if kind not in TYPES:
            return [field_unsupported("spec.type", kind or "", TYPES)]
        errs = self._validate_ports(spec, kind)
        errs += _validate_cluster_ip(spec, kind)
        affinity = spec.get("sessionAffinity")
        if affinity not in AFFINITIES:
            errs.append(field_unsupported("spec.sessionAffinity", affinity or "", AFFINITIES))
        errs += _validate_traffic_policies(spec, kind)
        if spec.get("selector"):
            errs += validate_labels(spec["selector"], "spec.selector")
        if kind == "ExternalName":
            errs += _validate_external_name(spec.get("externalName"))
        return errs

    def _validate_ports(self, spec: Obj, kind: str) -> list[Cause]:
        ports = as_list(spec.get("ports"))
        headless = spec.get("clusterIP") == "None"
        if not ports and not headless and kind != "ExternalName":
            return [field_required("spec.ports")]
        errs: list[Cause] = []
        names: set[str] = set()
        for i, port in enumerate(ports):
            errs += self._validate_port(
                as_dict(port), f"spec.ports[{i}]", len(ports) > 1, names, kind
            )
        return errs

    def _validate_port(
        self, port: Obj, path: str, multi: bool, names: set[str], kind: str
    ) -> list[Cause]:
        errs: list[Cause] = []
        name = port.get("name")
        if multi and not name:
            errs.append(field_required(f"{path}.name"))
        elif name:
            errs += _names.dns1123_label(name, f"{path}.name")
            if name in names:
                errs.append(field_duplicate(f"{path}.name", name))
            names.add(name)
        errs += port_num_errors(port.get("port"), f"{path}.port")
        protocol = port.get("protocol")
        if protocol not in PROTOCOLS:
            errs.append(field_unsupported(f"{path}.protocol", protocol or "", PROTOCOLS))
        target = port.get("targetPort")
        if is_int(target):
            errs += port_num_errors(target, f"{path}.targetPort")
        elif isinstance(target, str):
            errs += _names.port_name(target, f"{path}.targetPort")
        errs += self._validate_node_port(port.get("nodePort"), f"{path}.nodePort", kind)
        return errs

    def _validate_node_port(self, node_port: Any, path: str, kind: str) -> list[Cause]:
        if not node_port:
            return []
        if kind not in EXTERNAL_TYPES:
            return [field_forbidden(path, f"may not be used when `type` is '{kind}'")]
        lo, hi = self.node_port_range
        if not is_int(node_port) or not lo <= node_port <= hi:
            detail = (
                f"provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
            )
            return [field_invalid(path, node_port, detail)]
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
        if "ExternalName" in (new_spec.get("type"), old_spec.get("type")):
            return []
        old_ip, new_ip = old_spec.get("clusterIP"), new_spec.get("clusterIP")
        if old_ip and new_ip != old_ip:
            new_ips = new_spec.get("clusterIPs") or ([new_ip] if new_ip else [])
            rendered = go_string_slice(new_ips)
            return [invalid_rendered("spec.clusterIPs[0]", rendered, "may not change once set")]
        return []


def _default_affinity(spec: Obj) -> None:
    set_default(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {})
        client_ip = config.setdefault("clientIP", {})
        if client_ip.get("timeoutSeconds") is None:
            client_ip["timeoutSeconds"] = DEFAULT_AFFINITY_TIMEOUT


def _validate_cluster_ip(spec: Obj, kind: str) -> list[Cause]:
    ip = spec.get("clusterIP")
    if kind == "ExternalName":
        if ip:
            return [field_forbidden("spec.clusterIP", "may not be set for ExternalName services")]
        return []
    if ip and ip != "None":
        return _names.ip_address(ip, "spec.clusterIPs[0]")
    return []


def _validate_traffic_policies(spec: Obj, kind: str) -> list[Cause]:
    errs: list[Cause] = []
    etp = spec.get("externalTrafficPolicy")
    if etp:
        if kind not in EXTERNAL_TYPES:
            detail = "may only be set when `type` is 'NodePort' or 'LoadBalancer'"
            errs.append(field_invalid("spec.externalTrafficPolicy", etp, detail))
        elif etp not in TRAFFIC_POLICIES:
            errs.append(field_unsupported("spec.externalTrafficPolicy", etp, TRAFFIC_POLICIES))
    itp = spec.get("internalTrafficPolicy")
    if itp and itp not in TRAFFIC_POLICIES:
        errs.append(field_unsupported("spec.internalTrafficPolicy", itp, TRAFFIC_POLICIES))
    return errs


def _validate_external_name(name: Any) -> list[Cause]:
    if not name:
        return [field_required("spec.externalName")]
    # A fully qualified name may end in a dot.
    return _names.dns1123_subdomain(str(name).removesuffix("."), "spec.externalName")


def _sync_cluster_ips(spec: Obj) -> None:
    """clusterIP and clusterIPs[0] say the same (v1 defaulting fills either from the other)."""
    ips = spec.get("clusterIPs")
    if spec.get("clusterIP") and not ips:
        spec["clusterIPs"] = [spec["clusterIP"]]
    elif not spec.get("clusterIP") and isinstance(ips, list) and ips and isinstance(ips[0], str):
        spec["clusterIP"] = ips[0]


def _normalize_changed_ip(new: Obj, old: Obj) -> None:
    """A clusterIP changed without clusterIPs: clusterIPs follows (normalizeClusterIPs)."""
    if new.get("clusterIP") != old.get("clusterIP") and new.get("clusterIPs") == old.get(
        "clusterIPs"
    ):
        if new.get("clusterIP"):
            new["clusterIPs"] = [new["clusterIP"]]
        else:
            new.pop("clusterIPs", None)


def drop_type_dependent_fields(new: Obj, old: Obj) -> None:
    """A type change wipes what only the old type used, unless the update also set
    it (upstream's dropTypeDependentFields); the allocator gives the values back."""
    if old.get("type") != "ExternalName" and new.get("type") == "ExternalName":
        if new.get("clusterIP") == old.get("clusterIP") and new.get("clusterIPs") == old.get(
            "clusterIPs"
        ):
            new.pop("clusterIP", None)
            new.pop("clusterIPs", None)
        for key in ("ipFamilies", "ipFamilyPolicy"):
            if new.get(key) == old.get(key):
                new.pop(key, None)
    if old.get("type") in EXTERNAL_TYPES and new.get("type") not in EXTERNAL_TYPES:
        if set(_node_ports(new)) <= set(_node_ports(old)):
            for port in as_list(new.get("ports")):
                if isinstance(port, dict):
                    port.pop("nodePort", None)
    if _needs_health_check(old) and not _needs_health_check(new):
        if new.get("healthCheckNodePort") == old.get("healthCheckNodePort"):
            new.pop("healthCheckNodePort", None)
    if old.get("type") == "LoadBalancer" and new.get("type") != "LoadBalancer":
        for key in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
            if new.get(key) == old.get(key):
                new.pop(key, None)
    if old.get("type") in EXTERNAL_TYPES and new.get("type") not in EXTERNAL_TYPES:
        if new.get("externalTrafficPolicy") == old.get("externalTrafficPolicy"):
            new.pop("externalTrafficPolicy", None)


def _node_ports(spec: Obj) -> list[Any]:
    return [
        p.get("nodePort")
        for p in as_list(spec.get("ports"))
        if isinstance(p, dict) and p.get("nodePort")
    ]


def _needs_health_check(spec: Obj) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def keep_allocated(new: Obj, old: Obj) -> None:
    """An update that leaves out the cluster IP or node ports keeps the allocated ones."""
    needs_ip = "ExternalName" not in (new.get("type"), old.get("type"))
    if needs_ip and not new.get("clusterIP") and old.get("clusterIP"):
        new["clusterIP"] = old["clusterIP"]
        if old.get("clusterIPs"):
            new["clusterIPs"] = list(old["clusterIPs"])
    if new.get("type") in EXTERNAL_TYPES and old.get("type") in EXTERNAL_TYPES:
        old_ports = {
            (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
            for p in as_list(old.get("ports"))
            if isinstance(p, dict)
        }
        for port in as_list(new.get("ports")):
            if isinstance(port, dict) and not port.get("nodePort"):
                allocated = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
                if allocated:
                    port["nodePort"] = allocated
    if (
        new.get("externalTrafficPolicy") == "Local"
        and old.get("externalTrafficPolicy") == "Local"
        and not new.get("healthCheckNodePort")
        and old.get("healthCheckNodePort")
    ):
        new["healthCheckNodePort"] = old["healthCheckNodePort"]
