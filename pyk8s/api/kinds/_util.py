"""Small helpers shared by the kind strategies: dict access, Go-style value
rendering for messages, and the few Cause shapes errors.py does not cover."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pyk8s.machinery.errors import Cause, field_invalid

Obj = dict[str, Any]


def as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def set_default(obj: Obj, key: str, value: Any) -> None:
    """Set obj[key] when it is absent, null or an empty string (Go's zero value)."""
    if obj.get(key) in (None, ""):
        obj[key] = value


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- Go value rendering ----------------------------------------------------------
# Upstream renders a bad value with %#v when it has no String() method; clients
# (and people) recognise those shapes, so messages keep them.


def go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def go_string_map(m: Any) -> str:
    if m is None:
        return "map[string]string(nil)"
    items = ", ".join(f"{go_quote(k)}:{go_quote(str(v))}" for k, v in sorted(as_dict(m).items()))
    return "map[string]string{" + items + "}"


def go_string_slice(values: Any) -> str:
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(str(v)) for v in values) + "}"


def go_label_selector(ls: Any) -> str:
    ls = as_dict(ls)
    exprs = ls.get("matchExpressions")
    if exprs:
        rendered = ", ".join(
            "v1.LabelSelectorRequirement{"
            f"Key:{go_quote(str(e.get('key', '')))}, "
            f"Operator:{go_quote(str(e.get('operator', '')))}, "
            f"Values:{go_string_slice(e.get('values'))}}}"
            for e in as_list(exprs)
            if isinstance(e, dict)
        )
        exprs_s = "[]v1.LabelSelectorRequirement{" + rendered + "}"
    else:
        exprs_s = "[]v1.LabelSelectorRequirement(nil)"
    return (
        f"v1.LabelSelector{{MatchLabels:{go_string_map(ls.get('matchLabels'))}, "
        f"MatchExpressions:{exprs_s}}}"
    )


def go_int_or_string(value: Any) -> str:
    """%#v of an intstr.IntOrString, as apps validation reports it."""
    if isinstance(value, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(value)}}}"
    return f'intstr.IntOrString{{Type:0, IntVal:{value}, StrVal:""}}'


# --- Causes not in errors.py ---------------------------------------------------


def invalid_rendered(field: str, rendered: str, detail: str) -> Cause:
    """An Invalid cause whose bad value is already rendered (Go struct/map shapes)."""
    return Cause(field, "FieldValueInvalid", f"Invalid value: {rendered}: {detail}")


def field_not_found(field: str, value: Any) -> Cause:
    return Cause(field, "FieldValueNotFound", f"Not found: {_plain(value)}")


def required_detail(field: str, detail: str) -> Cause:
    return Cause(field, "FieldValueRequired", f"Required value: {detail}")


def _plain(value: Any) -> str:
    return go_quote(value) if isinstance(value, str) else str(value)


# --- numeric checks ------------------------------------------------------------

NONNEGATIVE = "must be greater than or equal to 0"


def nonnegative(value: Any, field: str) -> list[Cause]:
    if is_int(value) and value < 0:
        return [field_invalid(field, value, NONNEGATIVE)]
    return []


def port_num_errors(value: Any, field: str) -> list[Cause]:
    if not is_int(value) or not 1 <= value <= 65535:
        return [field_invalid(field, value, "must be between 1 and 65535, inclusive")]
    return []


_PERCENT = re.compile(r"^[0-9]+%$")
_PERCENT_MSG = (
    "a valid percent string must be a numeric string followed by an ending '%' "
    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
)


def int_or_percent_value(value: Any) -> int | None:
    """The integer (or percent number) of an int-or-percent field, None if malformed."""
    if is_int(value):
        return value
    if isinstance(value, str) and _PERCENT.match(value):
        return int(value[:-1])
    return None


def validate_int_or_percent(value: Any, field: str, max_percent: bool = False) -> list[Cause]:
    """Non-negative int, or a percent string; optionally at most 100%."""
    if isinstance(value, str):
        if not _PERCENT.match(value):
            return [invalid_rendered(field, go_int_or_string(value), _PERCENT_MSG)]
        if max_percent and int(value[:-1]) > 100:
            return [
                invalid_rendered(field, go_int_or_string(value), "must not be greater than 100%")
            ]
        return []
    if is_int(value):
        return nonnegative(value, field)
    return [invalid_rendered(field, repr(value), "must be an integer or percentage")]


# --- quantities (just enough for QoS and requests <= limits) --------------------

_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def parse_quantity(value: Any) -> Decimal | None:
    """A resource quantity as a Decimal, None when it does not parse."""
    if is_int(value) or isinstance(value, float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    m = _QUANTITY.match(value.strip())
    if not m:
        return None
    try:
        return Decimal(m.group(1)) * _SUFFIXES[m.group(2)]
    except InvalidOperation:
        return None
