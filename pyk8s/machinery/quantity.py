"""resource.Quantity: `100m`, `1.5Gi`, `2e3`, as upstream parses, compares and prints them.

A Quantity is an exact value held as an integer count of nano-units (every value
upstream keeps is a multiple of 1e-9) plus the format family its text used, which
canonical printing preserves:

- binary SI (`Ki` .. `Ei`): `1024Mi` prints as `1Gi`, `1536Mi` stays `1536Mi`;
- decimal SI (`n u m "" k M G T P E`): `1.5` prints as `1500m`, `1000m` as `1`;
- decimal exponent (`e3`, `E-6`): `1.5e3` prints as `1500`, `12e3` stays `12e3`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import total_ordering

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"

_NANO = 10**9
_MAX_ALLOWED = 2**63 - 1  # upstream caps binary values that took the slow path
_REGEX = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_SUFFIX_CHARS = set("eEinumkKMGTP")
_DIGITS = set("0123456789")

_DECIMAL_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {e: s for s, e in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXPONENT = {e: s for s, e in _BINARY_SUFFIXES.items()} | {0: ""}


class QuantityError(ValueError):
    """A string that is not a quantity; the message is upstream's."""


def _format_error() -> QuantityError:
    return QuantityError(f"quantities must match the regular expression '{_REGEX}'")


@total_ordering
@dataclass(frozen=True, eq=False)
class Quantity:
    nanos: int
    format: str = DECIMAL_SI

    # ----------------------------------------------------------------- building

    @classmethod
    def from_int(cls, value: int, format: str = DECIMAL_SI) -> Quantity:
        return cls(value * _NANO, format)

    @classmethod
    def from_milli(cls, milli: int, format: str = DECIMAL_SI) -> Quantity:
        return cls(milli * 10**6, format)

    # --------------------------------------------------------------- reading out

    def is_zero(self) -> bool:
        return self.nanos == 0

    def sign(self) -> int:
        return (self.nanos > 0) - (self.nanos < 0)

    def value(self) -> int:
        """Whole units, rounded away from zero (upstream's Value(); bytes for memory)."""
        return _ceil_away(self.nanos, _NANO)

    def milli_value(self) -> int:
        """Milli-units, rounded away from zero (upstream's MilliValue(); millicores)."""
        return _ceil_away(self.nanos, 10**6)

    def as_float(self) -> float:
        return self.nanos / _NANO

    # ------------------------------------------------------------------ arithmetic

    def __add__(self, other: Quantity) -> Quantity:
        # Upstream keeps the receiver's format, unless the receiver is zero.
        return Quantity(self.nanos + other.nanos, other.format if self.is_zero() else self.format)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.nanos - other.nanos, other.format if self.is_zero() else self.format)

    def __neg__(self) -> Quantity:
        return Quantity(-self.nanos, self.format)

    def __mul__(self, factor: int) -> Quantity:
        return Quantity(self.nanos * factor, self.format)

    __rmul__ = __mul__

    # ------------------------------------------------------------------ comparing

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.nanos == other.nanos

    def __lt__(self, other: Quantity) -> bool:
        return self.nanos < other.nanos

    def __hash__(self) -> int:
        return hash(self.nanos)

    def cmp(self, other: Quantity) -> int:
        return (self.nanos > other.nanos) - (self.nanos < other.nanos)

    # ------------------------------------------------------------------ printing

    def __str__(self) -> str:
        if self.nanos == 0:
            return "0"
        if self.format == BINARY_SI and abs(self.nanos) >= 1024 * _NANO and self.nanos % _NANO == 0:
            return _binary_string(self.nanos // _NANO)
        # Small or fractional binary values print as decimal SI, as upstream does.
        fmt = DECIMAL_EXPONENT if self.format == DECIMAL_EXPONENT else DECIMAL_SI
        return _decimal_string(self.nanos, fmt)

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"


def _ceil_away(nanos: int, unit: int) -> int:
    whole, rest = divmod(abs(nanos), unit)
    whole += rest != 0
    return whole if nanos >= 0 else -whole


def _decimal_string(nanos: int, fmt: str) -> str:
    mantissa, exponent = nanos, -9
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    shift = exponent % 3  # lower the exponent to a multiple of 3
    mantissa, exponent = mantissa * 10**shift, exponent - shift
    if exponent == 0:
        return str(mantissa)
    if fmt == DECIMAL_SI and exponent in _DECIMAL_BY_EXPONENT:
        return f"{mantissa}{_DECIMAL_BY_EXPONENT[exponent]}"
    return f"{mantissa}e{exponent}"


def _binary_string(units: int) -> str:
    mantissa, exponent = units, 0
    while mantissa % 1024 == 0 and exponent < 60:
        mantissa //= 1024
        exponent += 10
    return f"{mantissa}{_BINARY_BY_EXPONENT[exponent]}"


# ------------------------------------------------------------------------- parsing


@dataclass
class _Parts:
    negative: bool
    num: str  # integer digits, leading zeros stripped ("0" if none)
    denom: str  # fraction digits
    suffix: str


def _split(text: str) -> _Parts:
    """Scan sign, digits, fraction and suffix the way upstream's parser does."""
    pos, end = 0, len(text)
    negative = text[0] == "-"
    if text[0] in "+-":
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        start = pos = pos + 1
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise _format_error()
    return _Parts(negative, num, denom, text[suffix_start:])


def _interpret_suffix(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) for a suffix; raise upstream's ErrSuffix if unknown."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[2:] if suffix[1] in "+-" else suffix[1:]
        if digits.isdigit():
            return 10, int(suffix[1:]), DECIMAL_EXPONENT
    raise QuantityError("unable to parse quantity's suffix")


def _takes_exact_path(parts: _Parts, base: int, exponent: int) -> bool:
    # Upstream computes "small" quantities exactly in int64 and everything else in
    # arbitrary precision that rounds up to 1n and caps at 2^63-1. Mirror the split so
    # the rounding and the cap apply to exactly the same inputs.
    digits = len(parts.num) + len(parts.denom)
    if base == 10:
        return digits <= 18 and exponent - len(parts.denom) >= -9
    if exponent < 0 or parts.denom:
        return False
    precision = 15 - len(parts.num) - int(exponent * 3 / 10) - 1
    return precision >= 0 and int(parts.num) << exponent < 2**63


def parse_quantity(text: str | int | float) -> Quantity:
    """Parse a quantity string (or a JSON number); raise QuantityError (a ValueError)."""
    if isinstance(text, bool):
        raise _format_error()
    if isinstance(text, int | float):
        text = repr(text) if isinstance(text, float) else str(text)
    if not text:
        raise _format_error()
    parts = _split(text)
    base, exponent, fmt = _interpret_suffix(parts.suffix)
    magnitude = Fraction(int(parts.num + parts.denom), 10 ** len(parts.denom))
    magnitude *= Fraction(base) ** exponent
    nanos = math.ceil(magnitude * _NANO)  # upstream rounds up to 1n, away from zero
    if not _takes_exact_path(parts, base, exponent) and fmt == BINARY_SI:
        nanos = min(nanos, _MAX_ALLOWED * _NANO)
        if nanos < _NANO:
            fmt = DECIMAL_SI  # a fraction of a byte is shown in decimal
    return Quantity(-nanos if parts.negative else nanos, fmt)


def quantity_from_json(value: str | int | float | None) -> Quantity | None:
    """Upstream's UnmarshalJSON: null stays None, strings are trimmed, numbers accepted."""
    if value is None:
        return None
    return parse_quantity(value.strip() if isinstance(value, str) else value)


def canonicalize(text: str | int | float) -> str:
    """The string upstream stores and returns for a quantity the client sent."""
    return str(parse_quantity(text))


def is_quantity(text: str) -> bool:
    try:
        parse_quantity(text)
    except ValueError:
        return False
    return True
