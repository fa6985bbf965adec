"""Printers for core/v1 kinds other than Pod and Event."""

from __future__ import annotations

from pyk8s.api.printers.common import (
    CONTAINERS_DESC,
    IMAGES_DESC,
    NONE,
    UNKNOWN,
    UNSET,
    Cells,
    Obj,
    Printer,
    age,
    age_col,
    col,
    container_cells,
    dig,
    format_labels,
    is_deleting,
    meta,
    name_col,
    name_of,
    quantity,
    replica_cells,
)

# --- Node -------------------------------------------------------------------

ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"
LEGACY_ROLE_LABEL = "kubernetes.io/role"

NODE_COLUMNS = (
    name_col(),
    col("Status", "string", "The status of the node"),
    col("Roles", "string", "The roles of the node"),
    age_col(),
    col("Version", "string", "Kubelet version reported by the node."),
    col("Internal-IP", "string", "The node's first InternalIP address.", priority=1),
    col("External-IP", "string", "The node's first ExternalIP address.", priority=1),
    col("OS-Image", "string", "OS image reported by the node (from /etc/os-release).", priority=1),
    col("Kernel-Version", "string", "Kernel version reported by the node (uname -r).", priority=1),
    col(
        "Container-Runtime",
        "string",
        "Container runtime and version reported by the node (e.g. containerd://1.7).",
        priority=1,
    ),
)


def node_status(node: Obj) -> str:
    """Ready / NotReady / Unknown, plus SchedulingDisabled when cordoned."""
    ready = [c for c in dig(node, "status", "conditions", default=[]) if c.get("type") == "Ready"]
    # Upstream keeps the last Ready condition when several are listed.
    status = []
    if ready:
        status.append("Ready" if ready[-1].get("status") == "True" else "NotReady")
    else:
        status.append("Unknown")
    if dig(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def node_roles(node: Obj) -> str:
    roles: set[str] = set()
    for key, value in (meta(node).get("labels") or {}).items():
        if key.startswith(ROLE_LABEL_PREFIX):
            role = key[len(ROLE_LABEL_PREFIX) :]
            if role:
                roles.add(role)
        elif key == LEGACY_ROLE_LABEL and value:
            roles.add(value)
    return ",".join(sorted(roles)) or NONE


def _node_address(node: Obj, kind: str) -> str:
    for addr in dig(node, "status", "addresses", default=[]):
        if addr.get("type") == kind:
            return addr.get("address", "")
    return NONE


def node_cells(node: Obj, now: float) -> Cells:
    info = dig(node, "status", "nodeInfo", default={})
    return [
        name_of(node),
        node_status(node),
        node_roles(node),
        age(node, now),
        info.get("kubeletVersion", ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        info.get("osImage") or UNKNOWN,
        info.get("kernelVersion") or UNKNOWN,
        info.get("containerRuntimeVersion") or UNKNOWN,
    ]


# --- Namespace, ConfigMap, Secret, ServiceAccount ----------------------------

NAMESPACE_COLUMNS = (name_col(), col("Status", "string", "The status of the namespace"), age_col())


def namespace_cells(ns: Obj, now: float) -> Cells:
    return [name_of(ns), dig(ns, "status", "phase", default=""), age(ns, now)]


CONFIGMAP_COLUMNS = (
    name_col(),
    col("Data", "string", "Number of keys in data and binaryData."),
    age_col(),
)


def configmap_cells(cm: Obj, now: float) -> Cells:
    keys = len(cm.get("data") or {}) + len(cm.get("binaryData") or {})
    return [name_of(cm), keys, age(cm, now)]


SECRET_COLUMNS = (
    name_col(),
    col("Type", "string", "Used to facilitate programmatic handling of secret data."),
    col("Data", "string", "Number of keys in data."),
    age_col(),
)


def secret_cells(secret: Obj, now: float) -> Cells:
    # The API server folds stringData into data on write; count both to be safe.
    keys = set(secret.get("data") or {}) | set(secret.get("stringData") or {})
    return [name_of(secret), secret.get("type", ""), len(keys), age(secret, now)]


SERVICEACCOUNT_COLUMNS = (
    name_col(),
    col("Secrets", "string", "Number of secrets referenced by the service account."),
    age_col(),
)


def serviceaccount_cells(sa: Obj, now: float) -> Cells:
    return [name_of(sa), len(sa.get("secrets") or []), age(sa, now)]


# --- Service and Endpoints -----------------------------------------------------

LB_WIDTH = 16

SERVICE_COLUMNS = (
    name_col(),
    col(
        "Type",
        "string",
        "How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.",
    ),
    col("Cluster-IP", "string", "The virtual IP allocated to the service, or None if headless."),
    col("External-IP", "string", "Addresses outside the cluster that reach the service."),
    col("Port(s)", "string", "The ports the service exposes (port[:nodePort]/protocol)."),
    age_col(),
    col("Selector", "string", "Labels of the pods the service routes to.", priority=1),
)


def _lb_ingress(svc: Obj) -> str:
    """loadBalancerStatusStringer in wide mode: unique ingress IPs/hostnames, sorted."""
    seen: set[str] = set()
    for ing in dig(svc, "status", "loadBalancer", "ingress", default=[]):
        value = ing.get("ip") or ing.get("hostname")
        if value:
            seen.add(value)
    return ",".join(sorted(seen))


def service_external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    svc_type = spec.get("type", "ClusterIP")
    external = spec.get("externalIPs") or []
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else NONE
    if svc_type == "LoadBalancer":
        # The server prints wide cells, so the ingress list is not clipped to 16 chars.
        lb = _lb_ingress(svc)
        if external:
            return ",".join(([*lb.split(",")] if lb else []) + external)
        return lb or "<pending>"
    if svc_type == "ExternalName":
        return spec.get("externalName", "")
    return UNKNOWN


def service_ports(svc: Obj) -> str:
    pieces = []
    for p in dig(svc, "spec", "ports", default=[]):
        proto = p.get("protocol") or "TCP"
        if p.get("nodePort"):
            pieces.append(f"{p.get('port', 0)}:{p['nodePort']}/{proto}")
        else:
            pieces.append(f"{p.get('port', 0)}/{proto}")
    return ",".join(pieces) or NONE


def service_cells(svc: Obj, now: float) -> Cells:
    spec = svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        name_of(svc),
        spec.get("type", "ClusterIP"),
        cluster_ips[0] if cluster_ips else NONE,
        service_external_ip(svc),
        service_ports(svc),
        age(svc, now),
        format_labels(spec.get("selector")),
    ]


ENDPOINTS_COLUMNS = (
    name_col(),
    col("Endpoints", "string", "The ready and not-ready addresses, with their ports."),
    age_col(),
)


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(ep: Obj) -> str:
    """formatEndpoints: the first 3 ip:port pairs, then ` + N more...`."""
    subsets = ep.get("subsets") or []
    if not subsets:
        return NONE
    shown: list[str] = []
    count = 0
    for ss in subsets:
        ips = [a.get("ip", "") for a in ss.get("addresses") or []]
        ports = ss.get("ports") or []
        if not ports:  # headless services may have no ports
            pairs = ips
        else:
            pairs = [_host_port(ip, p.get("port", 0)) for p in ports for ip in ips]
        count += len(pairs)
        shown.extend(pairs[: max(0, 3 - len(shown))])
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if count > 3 else text


def endpoints_cells(ep: Obj, now: float) -> Cells:
    return [name_of(ep), format_endpoints(ep), age(ep, now)]


# --- PersistentVolume and PersistentVolumeClaim -----------------------------

STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def access_modes(modes: list[str] | None) -> str:
    """GetAccessModesAsString: RWO,ROX,RWX,RWOP in that fixed order, duplicates dropped."""
    present = set(modes or [])
    return ",".join(short for long, short in _ACCESS_MODES if long in present)


def _storage_class(obj: Obj) -> str:
    annotated = (meta(obj).get("annotations") or {}).get(STORAGE_CLASS_ANNOTATION)
    if annotated is not None:
        return annotated
    return dig(obj, "spec", "storageClassName", default="")


PV_COLUMNS = (
    name_col(),
    col("Capacity", "string", "The volume's storage capacity."),
    col("Access Modes", "string", "The ways the volume can be mounted."),
    col("Reclaim Policy", "string", "What happens to the volume when its claim is released."),
    col("Status", "string", "The volume's phase."),
    col("Claim", "string", "The claim bound to this volume (namespace/name)."),
    col("StorageClass", "string", "StorageClass of the pv"),
    col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
    col("Reason", "string", "Why the volume is in its phase, if it failed."),
    age_col(),
    col("VolumeMode", "string", "Filesystem or Block.", priority=1),
)


def pv_cells(pv: Obj, now: float) -> Cells:
    spec = pv.get("spec") or {}
    claim = spec.get("claimRef")
    claim_text = f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else ""
    phase = "Terminating" if is_deleting(pv) else dig(pv, "status", "phase", default="")
    return [
        name_of(pv),
        quantity(dig(spec, "capacity", "storage")),
        access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy", ""),
        phase,
        claim_text,
        _storage_class(pv),
        spec.get("volumeAttributesClassName") or UNSET,
        dig(pv, "status", "reason", default=""),
        age(pv, now),
        spec.get("volumeMode") or UNSET,
    ]


PVC_COLUMNS = (
    name_col(),
    col("Status", "string", "The claim's phase."),
    col("Volume", "string", "The volume bound to this claim."),
    col("Capacity", "string", "The capacity of the bound volume."),
    col("Access Modes", "string", "The access modes of the bound volume."),
    col("StorageClass", "string", "StorageClass of the pvc"),
    col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
    age_col(),
    col("VolumeMode", "string", "Filesystem or Block.", priority=1),
)


def pvc_cells(pvc: Obj, now: float) -> Cells:
    spec = pvc.get("spec") or {}
    phase = "Terminating" if is_deleting(pvc) else dig(pvc, "status", "phase", default="")
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(dig(pvc, "status", "accessModes"))
        capacity = quantity(dig(pvc, "status", "capacity", "storage"))
    return [
        name_of(pvc),
        phase,
        spec.get("volumeName", ""),
        capacity,
        modes,
        _storage_class(pvc),
        spec.get("volumeAttributesClassName") or UNSET,
        age(pvc, now),
        spec.get("volumeMode") or UNSET,
    ]


# --- ReplicationController, PodTemplate, ResourceQuota ------------------------

RC_COLUMNS = (
    name_col(),
    col("Desired", "integer", "Number of replicas requested."),
    col("Current", "integer", "Number of replicas most recently observed."),
    col("Ready", "integer", "Number of ready replicas."),
    age_col(),
    col("Containers", "string", CONTAINERS_DESC, priority=1),
    col("Images", "string", IMAGES_DESC, priority=1),
    col("Selector", "string", "Labels a pod must carry to be counted as a replica.", priority=1),
)


def rc_cells(rc: Obj, now: float) -> Cells:
    return replica_cells(rc, now, format_labels((rc.get("spec") or {}).get("selector")))


PODTEMPLATE_COLUMNS = (
    name_col(),
    col("Containers", "string", CONTAINERS_DESC),
    col("Images", "string", IMAGES_DESC),
    col("Pod Labels", "string", "The labels for the pod template."),
)


def podtemplate_cells(pt: Obj, now: float) -> Cells:
    names, images = container_cells(dig(pt, "template", "spec", "containers", default=[]))
    return [name_of(pt), names, images, format_labels(dig(pt, "template", "metadata", "labels"))]


RESOURCEQUOTA_COLUMNS = (
    name_col(),
    col("Request", "string", "Used/hard amounts of every quota resource that is not a limit."),
    col("Limit", "string", "Used/hard amounts of the limits.* quota resources."),
    age_col(),
)


def resourcequota_cells(rq: Obj, now: float) -> Cells:
    hard = dig(rq, "status", "hard", default={})
    used = dig(rq, "status", "used", default={})
    requests, limits = [], []
    for resource in sorted(hard):
        text = f"{resource}: {quantity(used.get(resource))}/{quantity(hard[resource])}"
        pieces = resource.split(".")
        (limits if len(pieces) > 1 and pieces[0] == "limits" else requests).append(text)
    return [name_of(rq), ", ".join(requests), ", ".join(limits), age(rq, now)]


PRINTERS = {
    ("", "Node"): Printer(NODE_COLUMNS, node_cells),
    ("", "Namespace"): Printer(NAMESPACE_COLUMNS, namespace_cells),
    ("", "ConfigMap"): Printer(CONFIGMAP_COLUMNS, configmap_cells),
    ("", "Secret"): Printer(SECRET_COLUMNS, secret_cells),
    ("", "ServiceAccount"): Printer(SERVICEACCOUNT_COLUMNS, serviceaccount_cells),
    ("", "Service"): Printer(SERVICE_COLUMNS, service_cells),
    ("", "Endpoints"): Printer(ENDPOINTS_COLUMNS, endpoints_cells),
    ("", "PersistentVolume"): Printer(PV_COLUMNS, pv_cells),
    ("", "PersistentVolumeClaim"): Printer(PVC_COLUMNS, pvc_cells),
    ("", "ReplicationController"): Printer(RC_COLUMNS, rc_cells),
    ("", "PodTemplate"): Printer(PODTEMPLATE_COLUMNS, podtemplate_cells),
    ("", "ResourceQuota"): Printer(RESOURCEQUOTA_COLUMNS, resourcequota_cells),
}
