"""Server-side printing: metav1.Table rows for `kubectl get`, as kube-apiserver renders them.

kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the cells it
gets back, so every column name, cell and `<none>` placeholder here follows upstream's
printers. The server always computes the wide (priority 1) cells too; kubectl hides them
unless `-o wide` is given.

Kinds without a printer (LimitRange, custom resources) get upstream's default table:
Name and Created At.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api.printers import apps, batch, core, events, other, pod
from pyk8s.api.printers.common import Printer
from pyk8s.api.printers.other import DEFAULT_PRINTER
from pyk8s.machinery.errors import bad_request

INCLUDE_OBJECT = ("Metadata", "Object", "None")

_REGISTRY: dict[tuple[str, str], Printer] = {
    **pod.PRINTERS,
    **core.PRINTERS,
    **events.PRINTERS,
    **apps.PRINTERS,
    **batch.PRINTERS,
    **other.PRINTERS,
}


def register(group: str, kind: str, printer: Printer) -> None:
    """Add or replace the printer of a kind (e.g. a custom resource with printer columns)."""
    _REGISTRY[(group, kind)] = printer


def unregister(group: str, kind: str) -> None:
    """Forget a kind's printer (its custom resource definition went away)."""
    _REGISTRY.pop((group, kind), None)


def printer_for(group: str, kind: str) -> Printer:
    """The kind's printer, or upstream's default (Name, Created At)."""
    return _REGISTRY.get((group, kind), DEFAULT_PRINTER)


def has_printer(group: str, kind: str) -> bool:
    return (group, kind) in _REGISTRY


def column_definitions(group: str, kind: str) -> list[dict]:
    """metav1.TableColumnDefinition dicts: name, type, format, description, priority."""
    return [dict(c) for c in printer_for(group, kind).columns]


def row_cells(group: str, kind: str, obj: dict, now: float) -> list:
    """The cells of one object's row, wide columns included; `now` is epoch seconds."""
    return printer_for(group, kind).cells(obj, now)


def _row_object(obj: dict[str, Any], include_object: str) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        # Shared, not copied: a Table is serialised at once and never changed.
        "metadata": obj.get("metadata") or {},
    }


def _row(printer: Printer, obj: dict[str, Any], now: float, include_object: str) -> dict[str, Any]:
    row: dict[str, Any] = {"cells": printer.cells(obj, now)}
    if printer.conditions is not None:
        conditions = printer.conditions(obj)
        if conditions:
            row["conditions"] = conditions
    row_object = _row_object(obj, include_object)
    if row_object is not None:
        row["object"] = row_object
    return row


def validate_include_object(include_object: str) -> str:
    """The includeObject query parameter; empty means Metadata, anything unknown is a 400."""
    if include_object == "":
        return "Metadata"
    if include_object not in INCLUDE_OBJECT:
        raise bad_request(
            f'includeObject: Invalid value: "{include_object}": '
            "must be 'Metadata', 'Object', 'None', or empty"
        )
    return include_object


def to_table(
    group: str,
    kind: str,
    objs: list[dict],
    now: float,
    *,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    with_columns: bool = True,
) -> dict:
    """A meta.k8s.io/v1 Table of `objs` (one row each, in order).

    `with_columns=False` leaves columnDefinitions empty, as upstream does for watch
    events after the first (kubectl keeps the columns of the initial list).
    """
    include_object = validate_include_object(include_object)
    printer = printer_for(group, kind)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [dict(c) for c in printer.columns] if with_columns else [],
        "rows": [_row(printer, obj, now, include_object) for obj in objs],
    }


__all__ = [
    "INCLUDE_OBJECT",
    "Printer",
    "column_definitions",
    "has_printer",
    "printer_for",
    "register",
    "row_cells",
    "to_table",
    "unregister",
    "validate_include_object",
]
