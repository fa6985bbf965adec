"""A small protobuf encoder for tests: JSON-shaped dicts -> Kubernetes wire bytes.

It walks the same message tables as the decoder, so round trips check the decoder's
mapping; hand-written byte strings in the tests check the wire details themselves.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from pyk8s.machinery.protobuf.decode import MAGIC
from pyk8s.machinery.protobuf.schema import SPECIAL, Field, get_message


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32/int64 become 10-byte varints, as Go writes them
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def length_delimited(number: int, payload: bytes) -> bytes:
    return key(number, 2) + varint(len(payload)) + payload


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = length_delimited(1, api_version.encode()) + length_delimited(2, kind.encode())
    unknown = length_delimited(1, type_meta) + length_delimited(2, raw)
    return MAGIC + unknown + length_delimited(3, b"") + length_delimited(4, b"")


def encode_object(obj: dict, type_name: str) -> bytes:
    """An envelope for obj (apiVersion/kind taken from the dict)."""
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    return envelope(obj["apiVersion"], obj["kind"], encode_message(type_name, body))


def encode_message(type_name: str, obj: dict, *, packed: bool = False) -> bytes:
    out = bytearray()
    for number in sorted(get_message(type_name).fields):
        field = get_message(type_name).fields[number]
        if field.inline:
            inner = encode_message(field.type, obj, packed=packed)
            if inner:
                out += length_delimited(number, inner)
        elif field.name in obj:
            out += _encode_field(field, obj[field.name], packed)
    return bytes(out)


def _encode_field(field: Field, value, packed: bool) -> bytes:
    if field.is_map:
        out = b""
        for k in sorted(value):
            entry = _encode_single(Field(1, "key", field.map_key), k, packed)
            entry += _encode_single(Field(2, "value", field.type), value[k], packed)
            out += length_delimited(field.number, entry)
        return out
    if field.repeated:
        if packed and field.type in ("i", "b"):
            return length_delimited(field.number, b"".join(varint(int(v)) for v in value))
        return b"".join(_encode_single(field, item, packed) for item in value)
    return _encode_single(field, value, packed)


def _encode_single(field: Field, value, packed: bool) -> bytes:
    code = field.type
    if code == "s":
        return length_delimited(field.number, value.encode())
    if code == "y":
        return length_delimited(field.number, base64.b64decode(value))
    if code in ("i", "b"):
        return key(field.number, 0) + varint(int(value))
    kind = SPECIAL.get(code)
    if kind is not None:
        return length_delimited(field.number, _encode_special(kind, value))
    return length_delimited(field.number, encode_message(code, value, packed=packed))


def _encode_special(kind: str, value) -> bytes:
    if kind in ("time", "microtime"):
        if value is None:
            return b""  # Go writes a zero Time as an empty message
        fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in value else "%Y-%m-%dT%H:%M:%SZ"
        instant = datetime.strptime(value, fmt).replace(tzinfo=UTC)
        seconds = int(instant.timestamp())
        return key(1, 0) + varint(seconds) + key(2, 0) + varint(instant.microsecond * 1000)
    if kind == "int_or_string":
        if isinstance(value, int):
            return key(1, 0) + varint(0) + key(2, 0) + varint(value) + length_delimited(3, b"")
        return key(1, 0) + varint(1) + key(2, 0) + varint(0) + length_delimited(3, value.encode())
    if kind == "quantity":
        return length_delimited(1, value.encode())
    if kind == "json_raw":
        return b"" if value is None else length_delimited(1, json.dumps(value).encode())
    if kind == "string_list":
        return b"".join(length_delimited(1, item.encode()) for item in value)
    raise AssertionError(f"no test encoding for {kind}")
