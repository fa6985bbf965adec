"""A strict reader for the protobuf wire format (no schema knowledge).

Every read is bounds-checked against the end of the enclosing message, so a
truncated or hostile body raises WireError instead of reading past its end, and
a declared length larger than what is left fails before anything is allocated.
Messages are handed out as memoryview slices: nesting never copies the buffer.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LEN, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
MAX_FIELD_NUMBER = (1 << 29) - 1
_MAX_VARINT_BYTES = 10
_UINT64 = 1 << 64


class WireError(ValueError):
    """Malformed protobuf data; the text follows Go's generated unmarshalers."""


def read_varint(data: memoryview, pos: int, end: int) -> tuple[int, int]:
    """Read an unsigned varint at pos; return (value, next position)."""
    result = 0
    for shift in range(0, 7 * _MAX_VARINT_BYTES, 7):
        if pos >= end:
            raise WireError("unexpected EOF")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            if result >= _UINT64:
                raise WireError("proto: integer overflow")
            return result, pos
    raise WireError("proto: integer overflow")


def to_signed64(value: int) -> int:
    """Reinterpret a uint64 varint as int64 (Go writes negative int32/int64 as 10 bytes)."""
    return value - _UINT64 if value >= 1 << 63 else value


def iter_fields(data: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """Yield (field number, wire type, value) for each field of one message.

    The value is an int for varints, and a memoryview for length-delimited and
    fixed-width fields (fixed values are decoded by the caller, who knows the type).
    """
    pos, end = 0, len(data)
    while pos < end:
        key, pos = read_varint(data, pos, end)
        number, wire_type = key >> 3, key & 7
        if number <= 0 or number > MAX_FIELD_NUMBER:
            raise WireError(f"proto: illegal tag {number} (wire type {wire_type})")
        if wire_type == VARINT:
            value, pos = read_varint(data, pos, end)
            yield number, wire_type, value
        elif wire_type == LEN:
            length, pos = read_varint(data, pos, end)
            if length > end - pos:
                raise WireError("unexpected EOF")
            yield number, wire_type, data[pos : pos + length]
            pos += length
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if size > end - pos:
                raise WireError("unexpected EOF")
            yield number, wire_type, data[pos : pos + size]
            pos += size
        else:
            # Groups (3, 4) are never produced by Kubernetes; 6 and 7 are invalid.
            raise WireError(f"proto: illegal wireType {wire_type} for field {number}")


def iter_packed_varints(data: memoryview) -> Iterator[int]:
    """The varints of a packed repeated field."""
    pos, end = 0, len(data)
    while pos < end:
        value, pos = read_varint(data, pos, end)
        yield value
