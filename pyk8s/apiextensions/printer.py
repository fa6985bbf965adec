"""Table columns of a custom resource version: Name, then its additionalPrinterColumns,
or Name and Age when it declares none (upstream's default columns)."""

from __future__ import annotations

from typing import Any

import orjson

from pyk8s.api.printers.common import NAME_DESC, Printer, col, name_of, since
from pyk8s.apiextensions import jsonpath

Obj = dict[str, Any]
CREATION_TIMESTAMP_DESC = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is "
    "in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
DEFAULT_COLUMNS = [
    {
        "name": "Age",
        "type": "date",
        "description": CREATION_TIMESTAMP_DESC,
        "jsonPath": ".metadata.creationTimestamp",
    }
]


def _cell(column_type: str, value: Any, now: float) -> Any:
    """One cell as upstream's CR table convertor renders a JSONPath result."""
    if value is None:
        return None
    if column_type == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return int(value)
    if column_type == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if column_type == "boolean":
        return value if isinstance(value, bool) else None
    if column_type == "date":
        return since(value, now) if isinstance(value, str) else None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def printer_for_columns(columns: list[Obj] | None) -> Printer:
    """A Printer for a version's additionalPrinterColumns (None or []: Name and Age)."""
    columns = list(columns or []) or DEFAULT_COLUMNS
    defs = [col("Name", "string", NAME_DESC, fmt="name")]
    paths = []
    for c in columns:
        defs.append(
            col(
                c.get("name", ""),
                c.get("type", "string"),
                c.get("description", ""),
                priority=int(c.get("priority", 0) or 0),
                fmt=c.get("format", ""),
            )
        )
        paths.append((c.get("type", "string"), jsonpath.parse(c.get("jsonPath", ""))))

    def cells(obj: Obj, now: float) -> list[Any]:
        row: list[Any] = [name_of(obj)]
        for column_type, steps in paths:
            found = jsonpath.find(obj, steps)
            row.append(_cell(column_type, found[0], now) if found else None)
        return row

    return Printer(tuple(defs), cells)
