"""Shared helpers for the table printers: times, label and selector text, columns.

Every helper reproduces the formatting of upstream's printers (kube-apiserver
pkg/printers/internalversion) so `kubectl get` output is byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyk8s.machinery.meta import human_duration

Obj = dict[str, Any]
Cells = list[Any]

NONE = "<none>"
UNKNOWN = "<unknown>"
UNSET = "<unset>"

# --- column definitions -----------------------------------------------------

NAME_DESC = (
    "Name of the object, unique within its namespace (or cluster-wide for cluster-scoped "
    "kinds); it cannot be changed after creation."
)
AGE_DESC = "Time since the server created this object (metadata.creationTimestamp, RFC3339, UTC)."
CONTAINERS_DESC = "Names of each container in the template."
IMAGES_DESC = "Images referenced by each container in the template."


def col(
    name: str, type_: str = "string", desc: str = "", *, priority: int = 0, fmt: str = ""
) -> Obj:
    """One metav1.TableColumnDefinition; every key is always present, as upstream encodes it."""
    return {"name": name, "type": type_, "format": fmt, "description": desc, "priority": priority}


def name_col(priority: int = 0) -> Obj:
    return col("Name", "string", NAME_DESC, priority=priority, fmt="name")


def age_col() -> Obj:
    return col("Age", "string", AGE_DESC)


@dataclass(frozen=True)
class Printer:
    """Columns and a cell function for one kind; `conditions` adds metav1.TableRowConditions."""

    columns: tuple[Obj, ...]
    cells: Callable[[Obj, float], Cells]
    conditions: Callable[[Obj], list[Obj]] | None = None


# --- field access -----------------------------------------------------------


def dig(obj: Any, *path: str, default: Any = None) -> Any:
    """obj[p0][p1]...; `default` when a step is missing, null or not a dict."""
    cur = obj
    for p in path:
        if not isinstance(cur, dict):
            return default
        cur = cur.get(p)
        if cur is None:
            return default
    return cur


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def name_of(obj: Obj) -> str:
    return meta(obj).get("name") or ""


def is_deleting(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


# --- times ------------------------------------------------------------------


def parse_time(value: Any) -> float | None:
    """RFC3339 (metav1.Time) or RFC3339 with fractions (MicroTime) -> epoch seconds; None if unset."""
    if not value or not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def since(timestamp: Any, now: float) -> str:
    """translateTimestampSince: HumanDuration(now - t), or <unknown> for an unset time."""
    t = parse_time(timestamp)
    if t is None:
        return UNKNOWN
    return human_duration(now - t)


def age(obj: Obj, now: float) -> str:
    return since(meta(obj).get("creationTimestamp"), now)


def rfc3339_utc(value: Any) -> str:
    """Go's Time.UTC().Format(time.RFC3339); the zero time for an unset value."""
    t = parse_time(value)
    if t is None:
        return "0001-01-01T00:00:00Z"
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- labels and selectors ---------------------------------------------------


def format_labels(labels: dict[str, str] | None) -> str:
    """labels.FormatLabels: sorted k=v joined by commas, <none> when empty."""
    text = ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))
    return text or NONE


def selector_string(selector: Obj | None) -> str:
    """LabelSelectorAsSelector(...).String(): requirements sorted by key; "" for nil/empty."""
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = []
    for k, v in (selector.get("matchLabels") or {}).items():
        reqs.append((k, f"{k}={v}"))
    for expr in selector.get("matchExpressions") or []:
        reqs.append((expr.get("key", ""), _requirement(expr)))
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def _requirement(expr: Obj) -> str:
    key, op = expr.get("key", ""), expr.get("operator", "")
    values = ",".join(sorted(set(expr.get("values") or [])))
    if op == "In":
        return f"{key} in ({values})"
    if op == "NotIn":
        return f"{key} notin ({values})"
    if op == "Exists":
        return key
    if op == "DoesNotExist":
        return f"!{key}"
    return f"{key} {op} ({values})"


def format_label_selector(selector: Obj | None) -> str:
    """metav1.FormatLabelSelector: the selector string, <none> when it selects everything."""
    return selector_string(selector) or NONE


# --- containers and misc ----------------------------------------------------


def container_cells(containers: list[Obj] | None) -> tuple[str, str]:
    """layoutContainerCells: container names and images, each comma-joined."""
    containers = containers or []
    names = ",".join(c.get("name", "") for c in containers)
    images = ",".join(c.get("image", "") for c in containers)
    return names, images


def template_containers(obj: Obj) -> list[Obj]:
    return dig(obj, "spec", "template", "spec", "containers", default=[])


def int_or_string(value: Any) -> str:
    """intstr.IntOrString.String()."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def quantity(value: Any) -> str:
    """resource.Quantity.String() of a stored (already canonical) quantity; "0" when unset."""
    if value is None or value == "":
        return "0"
    return str(value)


def list_with_more(items: list[str], total: int, limit: int = 3, empty: str = UNSET) -> str:
    """Up to `limit` entries, then ` + N more...`, as upstream's listWithMoreString."""
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or empty


def replica_cells(obj: Obj, now: float, selector: str) -> Cells:
    """NAME DESIRED CURRENT READY AGE | CONTAINERS IMAGES SELECTOR, shared by
    ReplicaSets and ReplicationControllers (their selectors print differently)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = container_cells(template_containers(obj))
    return [
        name_of(obj),
        spec.get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        age(obj, now),
        names,
        images,
        selector,
    ]
