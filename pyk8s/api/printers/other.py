"""Printers for coordination.k8s.io Lease, policy PodDisruptionBudget and
discovery.k8s.io EndpointSlice, plus upstream's default table for kinds without one."""

from __future__ import annotations

from pyk8s.api.printers.common import (
    AGE_DESC,
    Cells,
    Obj,
    Printer,
    age,
    age_col,
    col,
    dig,
    int_or_string,
    list_with_more,
    meta,
    name_col,
    name_of,
    rfc3339_utc,
)

LEASE_COLUMNS = (
    name_col(),
    col("Holder", "string", "The identity of the current holder of the lease."),
    age_col(),
)


def lease_cells(lease: Obj, now: float) -> Cells:
    return [name_of(lease), dig(lease, "spec", "holderIdentity", default=""), age(lease, now)]


PDB_COLUMNS = (
    name_col(),
    col("Min Available", "string", "The minimum number of pods that must be available."),
    col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
    col(
        "Allowed Disruptions",
        "integer",
        "Calculated number of pods that may be disrupted at this time.",
    ),
    age_col(),
)


def pdb_cells(pdb: Obj, now: float) -> Cells:
    spec = pdb.get("spec") or {}
    min_available = spec.get("minAvailable")
    max_unavailable = spec.get("maxUnavailable")
    return [
        name_of(pdb),
        "N/A" if min_available is None else int_or_string(min_available),
        "N/A" if max_unavailable is None else int_or_string(max_unavailable),
        dig(pdb, "status", "disruptionsAllowed", default=0),
        age(pdb, now),
    ]


ENDPOINTSLICE_COLUMNS = (
    name_col(),
    col("AddressType", "string", "The type of address carried by this slice (IPv4, IPv6, FQDN)."),
    col("Ports", "string", "The ports exposed by each endpoint of the slice."),
    col("Endpoints", "string", "The addresses of the endpoints in the slice."),
    age_col(),
)


def _slice_ports(ports: list[Obj]) -> str:
    """formatDiscoveryPorts: port number, else port name, else `*`."""
    shown = []
    for p in ports:
        if p.get("port") is not None:
            shown.append(str(p["port"]))
        elif p.get("name") is not None:
            shown.append(p["name"])
        else:
            shown.append("*")
    return list_with_more(shown, len(shown))


def _slice_endpoints(endpoints: list[Obj]) -> str:
    addresses = [a for ep in endpoints for a in ep.get("addresses") or []]
    return list_with_more(addresses, len(addresses))


def endpointslice_cells(es: Obj, now: float) -> Cells:
    return [
        name_of(es),
        es.get("addressType", ""),
        _slice_ports(es.get("ports") or []),
        _slice_endpoints(es.get("endpoints") or []),
        age(es, now),
    ]


# Upstream's rest.DefaultTableConvertor, used by kinds that register no printer
# (LimitRange among the built-ins): the name and the creation time as an RFC3339 date.
DEFAULT_COLUMNS = (name_col(), col("Created At", "date", AGE_DESC))


def default_cells(obj: Obj, now: float) -> Cells:
    return [name_of(obj), rfc3339_utc(meta(obj).get("creationTimestamp"))]


DEFAULT_PRINTER = Printer(DEFAULT_COLUMNS, default_cells)

PRINTERS = {
    ("coordination.k8s.io", "Lease"): Printer(LEASE_COLUMNS, lease_cells),
    ("policy", "PodDisruptionBudget"): Printer(PDB_COLUMNS, pdb_cells),
    ("discovery.k8s.io", "EndpointSlice"): Printer(ENDPOINTSLICE_COLUMNS, endpointslice_cells),
    # apiextensions-apiserver serves CRDs with the default table: Name, Created At.
    ("apiextensions.k8s.io", "CustomResourceDefinition"): DEFAULT_PRINTER,
}
