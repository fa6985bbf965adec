"""Printers for apps/v1: Deployment, ReplicaSet, DaemonSet, StatefulSet, ControllerRevision."""

from __future__ import annotations

from pyk8s.api.printers.common import (
    CONTAINERS_DESC,
    IMAGES_DESC,
    NONE,
    Cells,
    Obj,
    Printer,
    age,
    age_col,
    col,
    container_cells,
    dig,
    format_label_selector,
    format_labels,
    meta,
    name_col,
    name_of,
    replica_cells,
    selector_string,
    template_containers,
)

SELECTOR_DESC = "Label query over pods that should match the replica count."


def _wide_containers() -> tuple[dict, dict]:
    return (
        col("Containers", "string", CONTAINERS_DESC, priority=1),
        col("Images", "string", IMAGES_DESC, priority=1),
    )


DEPLOYMENT_COLUMNS = (
    name_col(),
    col("Ready", "string", "Number of the pod with ready state"),
    col("Up-to-date", "string", "Total number of pods running the latest template."),
    col(
        "Available",
        "string",
        "Total number of available pods (ready for at least minReadySeconds).",
    ),
    age_col(),
    *_wide_containers(),
    col("Selector", "string", SELECTOR_DESC, priority=1),
)


def deployment_cells(d: Obj, now: float) -> Cells:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    names, images = container_cells(template_containers(d))
    return [
        name_of(d),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(d, now),
        names,
        images,
        # Deployments print the raw selector string, not <none>, when it is empty.
        selector_string(spec.get("selector")),
    ]


REPLICASET_COLUMNS = (
    name_col(),
    col("Desired", "integer", "Number of desired pods."),
    col("Current", "integer", "Number of pods most recently observed."),
    col("Ready", "integer", "Number of ready pods."),
    age_col(),
    *_wide_containers(),
    col("Selector", "string", SELECTOR_DESC, priority=1),
)


def replicaset_cells(rs: Obj, now: float) -> Cells:
    return replica_cells(rs, now, format_label_selector((rs.get("spec") or {}).get("selector")))


DAEMONSET_COLUMNS = (
    name_col(),
    col("Desired", "integer", "Number of nodes that should run the daemon pod."),
    col("Current", "integer", "Number of nodes running at least one daemon pod that should."),
    col("Ready", "integer", "Number of nodes whose daemon pod is ready."),
    col("Up-to-date", "integer", "Number of nodes running the updated daemon pod."),
    col("Available", "integer", "Number of nodes whose daemon pod is available."),
    col("Node Selector", "string", "Node labels a node must carry to run the daemon pod."),
    age_col(),
    *_wide_containers(),
    col("Selector", "string", SELECTOR_DESC, priority=1),
)


def daemonset_cells(ds: Obj, now: float) -> Cells:
    status = ds.get("status") or {}
    names, images = container_cells(template_containers(ds))
    node_selector = dig(ds, "spec", "template", "spec", "nodeSelector")
    return [
        name_of(ds),
        status.get("desiredNumberScheduled", 0),
        status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0),
        status.get("numberAvailable", 0),
        format_labels(node_selector),
        age(ds, now),
        names,
        images,
        format_label_selector((ds.get("spec") or {}).get("selector")),
    ]


STATEFULSET_COLUMNS = (
    name_col(),
    col("Ready", "string", "Number of the pod with ready state"),
    age_col(),
    *_wide_containers(),
)


def statefulset_cells(sts: Obj, now: float) -> Cells:
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    names, images = container_cells(template_containers(sts))
    ready = f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}"
    return [name_of(sts), ready, age(sts, now), names, images]


CONTROLLERREVISION_COLUMNS = (
    name_col(),
    col("Controller", "string", "Controller of the object"),
    col("Revision", "string", "Revision number of the state this object holds."),
    age_col(),
)


def controller_name(obj: Obj) -> str:
    """`kind.group/name` of the controlling owner (lower-cased kind.group), or <none>."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            api_version = ref.get("apiVersion", "")
            group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
            kind = ref.get("kind", "")
            if not kind and not group:
                return ref.get("name", "")
            group_kind = f"{kind}.{group}" if group else kind
            return f"{group_kind.lower()}/{ref.get('name', '')}"
    return NONE


def controllerrevision_cells(cr: Obj, now: float) -> Cells:
    return [name_of(cr), controller_name(cr), cr.get("revision", 0), age(cr, now)]


PRINTERS = {
    ("apps", "Deployment"): Printer(DEPLOYMENT_COLUMNS, deployment_cells),
    ("apps", "ReplicaSet"): Printer(REPLICASET_COLUMNS, replicaset_cells),
    ("apps", "DaemonSet"): Printer(DAEMONSET_COLUMNS, daemonset_cells),
    ("apps", "StatefulSet"): Printer(STATEFULSET_COLUMNS, statefulset_cells),
    ("apps", "ControllerRevision"): Printer(CONTROLLERREVISION_COLUMNS, controllerrevision_cells),
}
