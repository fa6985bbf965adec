"""The Event printer, shared by core/v1 and events.k8s.io/v1.

Upstream stores both APIs' events in one registry and prints them from the internal
(core) shape, so an events.k8s.io/v1 Event is first mapped onto core/v1 field names.
"""

from __future__ import annotations

from pyk8s.api.printers.common import (
    NAME_DESC,
    Cells,
    Obj,
    Printer,
    col,
    dig,
    name_of,
    parse_time,
    since,
)

COLUMNS = (
    col("Last Seen", "string", "When the event was last observed."),
    col("Type", "string", "Type of this event (Normal, Warning)."),
    col("Reason", "string", "Short, machine understandable reason for the event."),
    col("Object", "string", "The object this event is about (kind/name)."),
    col(
        "Subobject",
        "string",
        "The part of the object the event is about, e.g. a container.",
        priority=1,
    ),
    col("Source", "string", "The component (and host) that reported the event.", priority=1),
    col("Message", "string", "A human-readable description of the event."),
    col("First Seen", "string", "When the event was first observed.", priority=1),
    col("Count", "string", "How many times the event has occurred.", priority=1),
    col("Name", "string", NAME_DESC, priority=1, fmt="name"),
)


def _first_seen(ev: Obj, now: float) -> str:
    if parse_time(ev.get("firstTimestamp")) is None:
        return since(ev.get("eventTime"), now)
    return since(ev.get("firstTimestamp"), now)


def _source(ev: Obj) -> str:
    """formatEventSource: component[, host], falling back to reportingController/Instance."""
    component = dig(ev, "source", "component", default="") or ev.get("reportingComponent") or ""
    host = dig(ev, "source", "host", default="") or ev.get("reportingInstance") or ""
    return f"{component}, {host}" if host else component


def _target(ev: Obj) -> str:
    involved = ev.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    name = involved.get("name") or ""
    return f"{kind}/{name}" if name else kind


def event_cells(ev: Obj, now: float) -> Cells:
    first = _first_seen(ev, now)
    last = first if parse_time(ev.get("lastTimestamp")) is None else since(ev["lastTimestamp"], now)
    count = ev.get("count") or 0
    series = ev.get("series")
    if series is not None:
        last = since(series.get("lastObservedTime"), now)
        count = series.get("count", 0)
    elif count == 0:
        count = 1  # singleton events of the new API carry no count
    return [
        last,
        ev.get("type", ""),
        ev.get("reason", ""),
        _target(ev),
        dig(ev, "involvedObject", "fieldPath", default=""),
        _source(ev),
        (ev.get("message") or "").strip(),
        first,
        count,
        name_of(ev),
    ]


# events.k8s.io/v1 field -> core/v1 field, as upstream's conversion maps them.
_EVENTS_V1_TO_CORE = {
    "regarding": "involvedObject",
    "related": "related",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}


def events_v1_to_core(ev: Obj) -> Obj:
    out = dict(ev)
    for new, old in _EVENTS_V1_TO_CORE.items():
        if new in ev:
            out[old] = out.pop(new) if new != old else ev[new]
    return out


def events_v1_cells(ev: Obj, now: float) -> Cells:
    return event_cells(events_v1_to_core(ev), now)


PRINTERS = {
    ("", "Event"): Printer(COLUMNS, event_cells),
    ("events.k8s.io", "Event"): Printer(COLUMNS, events_v1_cells),
}
