"""JSON forms of the apimachinery types whose protobuf shape differs from their JSON.

Each converter takes the message bytes and returns the value Go's JSON marshaller
would produce for the decoded Go value.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .wire import FIXED32, FIXED64, LEN, VARINT, WireError, iter_fields, to_signed64

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PROTOBUF_MAGIC = b"k8s\x00"


def _scalars(data: memoryview) -> dict[int, int | memoryview]:
    """Last-wins field values of a flat message (proto semantics for singular fields)."""
    return {number: value for number, _wire_type, value in iter_fields(data)}


def _int(values: dict, number: int) -> int:
    value = values.get(number, 0)
    if not isinstance(value, int):
        raise WireError(f"proto: wrong wireType = {LEN} for field {number}")
    return to_signed64(value)


def _text(values: dict, number: int) -> str:
    value = values.get(number, b"")
    if isinstance(value, int):
        raise WireError(f"proto: wrong wireType = {VARINT} for field {number}")
    return bytes(value).decode("utf-8", errors="replace")


def _instant(data: memoryview) -> datetime | None:
    values = _scalars(data)
    seconds, nanos = _int(values, 1), _int(values, 2)
    if seconds == 0 and nanos == 0:
        return None  # Go's zero Time (or an empty message): JSON null
    try:
        return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        raise WireError("proto: Time out of range") from None


def time_json(data: memoryview) -> str | None:
    """metav1.Time: RFC3339 at second precision (Go truncates on unmarshal)."""
    instant = _instant(data)
    return None if instant is None else instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def microtime_json(data: memoryview) -> str | None:
    """metav1.MicroTime: RFC3339 with six fractional digits."""
    instant = _instant(data)
    return None if instant is None else instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def duration_json(data: memoryview) -> str:
    """metav1.Duration marshals as Go's time.Duration.String()."""
    return go_duration(_int(_scalars(data), 1))


def go_duration(ns: int) -> str:
    """Format nanoseconds the way Go's time.Duration.String does ("1h0m0s", "1.5s", "2ms")."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 6)}ms"
    seconds = _fraction(ns % 60_000_000_000, 9)
    minutes, hours = ns // 60_000_000_000 % 60, ns // 3_600_000_000_000
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"


def _fraction(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    return str(whole) if not frac else f"{whole}.{frac:0{digits}d}".rstrip("0")


def int_or_string_json(data: memoryview) -> int | str:
    """intstr.IntOrString{type, intVal, strVal}: an int (type 0) or a string (type 1)."""
    values = _scalars(data)
    kind = _int(values, 1)
    if kind == 0:
        return _int(values, 2)
    if kind == 1:
        return _text(values, 3)
    raise WireError("impossible IntOrString.Type")


def quantity_json(data: memoryview) -> str:
    """resource.Quantity{string}: the string; an empty Quantity marshals as "0"."""
    return _text(_scalars(data), 1) or "0"


def string_list_json(data: memoryview) -> list[str]:
    """Messages wrapping a Go []string (authentication ExtraValue): a plain list."""
    return [bytes(v).decode("utf-8", errors="replace") for n, w, v in iter_fields(data) if n == 1]


def json_raw(data: memoryview, decode_envelope: Callable[[bytes], Any]) -> Any:
    """RawExtension / FieldsV1 hold raw JSON (or a nested protobuf object); nil is null."""
    raw = _text_bytes(_scalars(data))
    if not raw:
        return None
    if raw.startswith(_PROTOBUF_MAGIC):
        return decode_envelope(raw)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"invalid JSON in raw field: {exc}") from None


def _text_bytes(values: dict) -> bytes:
    value = values.get(1, b"")
    if isinstance(value, int):
        raise WireError(f"proto: wrong wireType = {VARINT} for field Raw")
    return bytes(value)


def bytes_json(value: memoryview) -> str:
    """[]byte fields marshal as standard base64."""
    return base64.b64encode(value).decode("ascii")


def fixed_value(code: str, wire_type: int, value: memoryview) -> float:
    """double (fixed64) and float (fixed32) fields."""
    expected = FIXED64 if code == "d" else FIXED32
    if wire_type != expected:
        raise WireError(f"proto: wrong wireType = {wire_type} for a {code} field")
    return struct.unpack("<d" if code == "d" else "<f", value)[0]


CONVERTERS: dict[str, Callable[[memoryview], Any]] = {
    "time": time_json,
    "microtime": microtime_json,
    "duration": duration_json,
    "int_or_string": int_or_string_json,
    "quantity": quantity_json,
    "string_list": string_list_json,
}
