"""What the three patch flavours share: copying, JSON equality, Go-style rendering, failures.

Upstream's patch errors are Go error strings, and several of them print Go values with
`%v` (`map[image:nginx]`, `[a b]`) or Go type names (`[]interface {}`). Clients show those
strings verbatim, so we render values the same way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from pyk8s.machinery.errors import StatusError, bad_request

# The generic message NewGenericServerResponse gives a 422; the real cause goes in details.
_UNPROCESSABLE_MESSAGE = "the server rejected our request due to an error in our request"


class PatchFailure(Exception):
    """A patch that cannot be applied; `to_status` turns it into what upstream answers.

    kind is "bad_request" (400), "unprocessable" (422, the generic server response upstream
    uses for un-appliable JSON patches and some strategic errors) or "unknown": a plain Go
    error that kube-apiserver turns into 500 with an empty reason ("Error from server: ...").
    """

    def __init__(self, message: str, kind: str = "unknown") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind

    def to_status(self) -> StatusError:
        if self.kind == "bad_request":
            return bad_request(self.message)
        if self.kind == "unprocessable":
            return unprocessable(self.message)
        return StatusError(500, "", self.message)


def unprocessable(cause: str) -> StatusError:
    """422 as NewGenericServerResponse builds it: fixed message, cause in details.causes."""
    details = {"causes": [{"reason": "UnexpectedServerResponse", "message": cause}]}
    return StatusError(422, "Invalid", _UNPROCESSABLE_MESSAGE, details)


def deep_copy(value: Any) -> Any:
    """An independent copy of a JSON-shaped value; orjson does it in C, ~10x copy.deepcopy."""
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:  # orjson.JSONEncodeError: non-str keys, ints beyond 64 bits
        return _copy_slow(value)


def _copy_slow(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_slow(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_slow(v) for v in value]
    return value


def go_kind(value: Any) -> str:
    """The Go dynamic type a decoded JSON value would have (ints are kept as int64)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "slice"
    return type(value).__name__


def go_eq(a: Any, b: Any) -> bool:
    """Go's `==` on interface{} values: same dynamic type and equal value (1 != 1.0 != true)."""
    return go_kind(a) == go_kind(b) and a == b


def scalar_key(value: Any) -> Any:
    """A hashable key with go_eq semantics, for set membership of list elements."""
    kind = go_kind(value)
    if kind in ("map", "slice"):
        return (kind, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    return (kind, value)


def json_equal(a: Any, b: Any) -> bool:
    """Structural JSON equality, numbers compared by value but never equal to booleans."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(json_equal(v, b[k]) for k, v in a.items())
        )
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(json_equal, a, b))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def json_kind(value: Any) -> str:
    """How encoding/json names a JSON value in `cannot unmarshal X into ...` errors."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def go_type_name(value: Any) -> str:
    """reflect.TypeOf(v) as `%s` prints it, for ErrBadArgType messages."""
    names = {
        "nil": "%!s(<nil>)",
        "map": "map[string]interface {}",
        "slice": "[]interface {}",
    }
    kind = go_kind(value)
    return names.get(kind, kind)


def go_fmt(value: Any) -> str:
    """A decoded JSON value as Go's `%v` prints it (map keys sorted, as fmt does)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_fmt(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_fmt(v) for v in value) + "]"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    """%v of a float64 (%g, shortest digits): exponent form below 1e-4 and from 1e6 on."""
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(value)]
    number = Decimal(repr(value))
    exponent = number.adjusted()
    if -4 <= exponent < 6:
        return format(number.normalize(), "f")
    mantissa = format(number.scaleb(-exponent).normalize(), "f")
    sign = "+" if exponent >= 0 else "-"
    return f"{mantissa}e{sign}{abs(exponent):02d}"


def bad_arg_type(expected: str, actual: Any) -> PatchFailure:
    return PatchFailure(f"expected a {expected}, but received a {go_type_name(actual)}")


def no_merge_key(item: Any, merge_key: str) -> PatchFailure:
    return PatchFailure(f"map: {go_fmt(item)} does not contain declared merge key: {merge_key}")
