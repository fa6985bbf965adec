"""The downward API, as the kubelet resolves it for container environments
(fieldRef, resourceFieldRef) and for downwardAPI / projected volume files.

Messages are upstream's (pkg/fieldpath, pkg/apis/core/pods, pkg/api/v1/resource),
because the kubelet reports them verbatim in CreateContainerConfigError and
FailedMount events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyk8s.machinery.quantity import Quantity, QuantityError, parse_quantity
from pyk8s.machinery.validation import is_qualified_name

Obj = dict[str, Any]

# Paths the API accepts in a fieldRef (pods.ConvertDownwardAPIFieldLabel); "spec.host"
# is an old alias of spec.nodeName.
_FIELD_LABELS = frozenset(
    {
        "metadata.annotations",
        "metadata.labels",
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.serviceAccountName",
        "spec.schedulerName",
        "status.phase",
        "status.hostIP",
        "status.hostIPs",
        "status.podIP",
        "status.podIPs",
    }
)
# Resources whose unset (or zero) limit reads as the node's allocatable amount.
_DEFAULTED_LIMITS = ("cpu", "memory", "ephemeral-storage")
_ONE = parse_quantity("1")


class FieldError(ValueError):
    """A field or resource reference the kubelet cannot resolve (upstream's text)."""


@dataclass
class PodAddresses:
    """What the kubelet knows about addresses that the pod object may not show yet."""

    pod_ips: Sequence[str] = ()
    host_ips: Sequence[str] = ()

    @classmethod
    def of(
        cls,
        pod_ip: str | None,
        host_ip: str | None,
        pod_ips: Sequence[str] | None = None,
        host_ips: Sequence[str] | None = None,
    ) -> PodAddresses:
        pods = list(pod_ips) if pod_ips else ([pod_ip] if pod_ip else [])
        hosts = list(host_ips) if host_ips else ([host_ip] if host_ip else [])
        return cls(pods, hosts)


# ---------------------------------------------------------------------------- fields


def split_subscript(path: str) -> tuple[str, str] | None:
    """`metadata.labels['app']` -> ("metadata.labels", "app"); None when not subscripted."""
    if not path.endswith("']"):
        return None
    head, sep, key = path[:-2].partition("['")
    if not sep or not head:
        return None
    return head, key


def convert_field_label(api_version: str | None, path: str) -> str:
    """The internal field path for a v1 fieldRef, or FieldError as upstream words it."""
    version = api_version or "v1"  # the API server defaults fieldRef.apiVersion to v1
    if version != "v1":
        raise FieldError(f"unsupported pod version: {version}")
    sub = split_subscript(path)
    if sub is not None:
        if sub[0] in ("metadata.annotations", "metadata.labels"):
            return path
        raise FieldError(f"field label does not support subscript: {path}")
    if path == "spec.host":
        return "spec.nodeName"
    if path not in _FIELD_LABELS:
        raise FieldError(f"field label not supported: {path}")
    return path


def metadata_field(pod: Obj, path: str) -> str:
    """A metadata field as text (fieldpath.ExtractFieldPathAsString): all a downwardAPI
    volume may name, and what env falls back to."""
    md = pod.get("metadata") or {}
    sub = split_subscript(path)
    if sub is not None:
        head, key = sub
        if head == "metadata.annotations":
            _check_subscript(path, key.lower())
            return str((md.get("annotations") or {}).get(key, ""))
        if head == "metadata.labels":
            _check_subscript(path, key)
            return str((md.get("labels") or {}).get(key, ""))
        raise FieldError(f'fieldPath "{path}" does not support subscript')
    simple = {
        "metadata.name": "name",
        "metadata.namespace": "namespace",
        "metadata.uid": "uid",
    }
    if path in simple:
        return str(md.get(simple[path]) or "")
    if path == "metadata.annotations":
        return format_map(md.get("annotations") or {})
    if path == "metadata.labels":
        return format_map(md.get("labels") or {})
    raise FieldError(f"unsupported fieldPath: {path}")


def _check_subscript(path: str, key: str) -> None:
    errs = is_qualified_name(key)
    if errs:
        raise FieldError(f"invalid key subscript in {path}: {';'.join(errs)}")


def env_field(pod: Obj, field_ref: Obj, addresses: PodAddresses) -> str:
    """A fieldRef's value for an environment variable (kubelet podFieldSelectorRuntimeValue)."""
    path = convert_field_label(field_ref.get("apiVersion"), str(field_ref.get("fieldPath") or ""))
    spec = pod.get("spec") or {}
    if path == "spec.nodeName":
        return str(spec.get("nodeName") or "")
    if path == "spec.serviceAccountName":
        return str(spec.get("serviceAccountName") or "")
    if path == "status.hostIP":
        return addresses.host_ips[0] if addresses.host_ips else ""
    if path == "status.hostIPs":
        return ",".join(addresses.host_ips)
    if path == "status.podIP":
        return addresses.pod_ips[0] if addresses.pod_ips else ""
    if path == "status.podIPs":
        return ",".join(addresses.pod_ips)
    return metadata_field(pod, path)


def format_map(values: dict[str, Any]) -> str:
    """`key="value"` lines sorted by key, values quoted as Go's %q quotes them."""
    return "\n".join(f"{k}={go_quote(str(values[k]))}" for k in sorted(values))


_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(text: str) -> str:
    """strconv.Quote: printable characters stay, the rest become Go escapes."""
    out = ['"']
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


# ------------------------------------------------------------------------- resources


def find_container(pod: Obj, name: str) -> Obj:
    spec = pod.get("spec") or {}
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        if c.get("name") == name:
            return c
    raise FieldError(f"container {name} not found")


def resource_value(
    selector: Obj, pod: Obj, container: Obj | None, node_allocatable: Obj | None
) -> str:
    """A resourceFieldRef's value: the container named by the selector (or `container`),
    limits it leaves unset read as node allocatable, divided by the divisor, rounded up."""
    name = selector.get("containerName") or ""
    target = find_container(pod, name) if name or container is None else container
    resources = target.get("resources") or {}
    limits = _with_allocatable(resources.get("limits") or {}, node_allocatable or {})
    requests = resources.get("requests") or {}
    divisor = _quantity(selector.get("divisor")) or _ONE
    if divisor.is_zero():
        divisor = _ONE
    resource = str(selector.get("resource") or "")
    kind, _, res_name = resource.partition(".")
    supported = res_name in ("cpu", "memory", "ephemeral-storage") or res_name.startswith(
        "hugepages-"
    )
    if kind not in ("limits", "requests") or not supported:
        raise FieldError(f"unsupported container resource : {resource}")
    source = limits if kind == "limits" else requests
    amount = _quantity(source.get(res_name)) or Quantity(0)
    if res_name == "cpu":
        return str(_ceil_div(amount.milli_value(), divisor.milli_value()))
    return str(_ceil_div(amount.value(), divisor.value()))


def _with_allocatable(limits: Obj, allocatable: Obj) -> Obj:
    merged = dict(limits)
    for res in _DEFAULTED_LIMITS:
        current = _quantity(merged.get(res))
        if (current is None or current.is_zero()) and res in allocatable:
            merged[res] = allocatable[res]
    return merged


def _quantity(value: Any) -> Quantity | None:
    if value is None or value == "":
        return None
    try:
        return parse_quantity(value)
    except QuantityError as err:
        raise FieldError(f"invalid quantity {value!r}: {err}") from err


def _ceil_div(a: int, b: int) -> int:
    if b == 0:
        raise FieldError("divisor must be greater than zero")
    return -(-a // b)
