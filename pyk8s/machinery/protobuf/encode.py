"""A protobuf encoder over a message registry: dicts -> wire bytes.

The counterpart of decode.decode_proto3, for registries built with
schema.build_registry (the CRI's, pyk8s/kubelet/cri/). Dict keys are the field
names of the tables; values are Python values of the field's type: str, int
(enums too), bool, float, bytes, lists for repeated fields, dicts for maps and
messages. None means absent.

The output is proto3's canonical form: fields in number order, singular scalars
equal to their zero value left out (proto3 cannot tell them from absent), repeated
numbers packed, map entries sorted by key. Messages are always written when
given, even empty, because presence of a message is meaningful ({} differs from
absent). Unknown keys and values of the wrong type raise EncodeError: a typo in a
request must fail here, not be silently dropped.

Kubernetes types with a special JSON form (Time, Quantity, ...) are not handled.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from .schema import Field, Message
from .wire import FIXED32, FIXED64, LEN, VARINT

_PACKABLE = frozenset("iubdf")  # proto3 packs repeated numbers
_INT64 = 1 << 63
_UINT64 = 1 << 64


class EncodeError(ValueError):
    """A value that does not fit its message table."""


def encode_message(messages: Mapping[str, Message], type_name: str, obj: Mapping) -> bytes:
    """Encode obj as the message type_name of the registry `messages`."""
    return _Encoder(messages).message(type_name, obj, type_name)


def varint(value: int) -> bytes:
    """An unsigned varint; negative numbers become their 64-bit two's complement."""
    value &= _UINT64 - 1
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def length_delimited(number: int, payload: bytes) -> bytes:
    return tag(number, LEN) + varint(len(payload)) + payload


class _Encoder:
    def __init__(self, messages: Mapping[str, Message]) -> None:
        self._messages = messages

    def _get(self, type_name: str) -> Message:
        try:
            return self._messages[type_name]
        except KeyError:
            raise EncodeError(f"unknown protobuf message {type_name!r}") from None

    def message(self, type_name: str, obj: Any, path: str) -> bytes:
        if not isinstance(obj, Mapping):
            raise EncodeError(f"{path}: expected a dict for {type_name}, got {type(obj).__name__}")
        message = self._get(type_name)
        by_name = {f.name: f for f in message.fields.values()}
        unknown = [k for k in obj if k not in by_name]
        if unknown:
            raise EncodeError(f"{path}: unknown field(s) {', '.join(map(str, unknown))}")
        out = bytearray()
        for field in sorted(by_name.values(), key=lambda f: f.number):
            value = obj.get(field.name)
            if value is not None:
                out += self._field(field, value, f"{path}.{field.name}")
        return bytes(out)

    def _field(self, field: Field, value: Any, path: str) -> bytes:
        if field.is_map:
            return self._map(field, value, path)
        if field.repeated:
            if not isinstance(value, list | tuple):
                raise EncodeError(f"{path}: expected a list, got {type(value).__name__}")
            if field.type in _PACKABLE and value:
                packed = b"".join(_raw_scalar(field.type, v, path) for v in value)
                return length_delimited(field.number, packed)
            return b"".join(self._single(field, item, path, True) for item in value)
        return self._single(field, value, path, False)

    def _map(self, field: Field, value: Any, path: str) -> bytes:
        if not isinstance(value, Mapping):
            raise EncodeError(f"{path}: expected a dict, got {type(value).__name__}")
        key_field = Field(1, "key", field.map_key or "s")
        value_field = Field(2, "value", field.type)
        out = bytearray()
        for key in sorted(value):
            item = value[key]
            entry = self._single(key_field, key, f"{path}[{key}]", True)
            entry += self._single(value_field, item, f"{path}[{key}]", True)
            out += length_delimited(field.number, entry)
        return bytes(out)

    def _single(self, field: Field, value: Any, path: str, keep_zero: bool) -> bytes:
        """One value; zero scalars are left out unless inside a list or map entry."""
        code = field.type
        if field.is_message:
            return length_delimited(field.number, self.message(code, value, path))
        raw = _raw_scalar(code, value, path)
        if not keep_zero and _is_zero(value):
            return b""
        if code in ("s", "y"):
            return tag(field.number, LEN) + raw
        if code == "d":
            return tag(field.number, FIXED64) + raw
        if code == "f":
            return tag(field.number, FIXED32) + raw
        return tag(field.number, VARINT) + raw


def _is_zero(value: Any) -> bool:
    return value == 0 or value == "" or value == b"" or value is False


def _raw_scalar(code: str, value: Any, path: str) -> bytes:
    """The wire bytes of one scalar without its tag (strings and bytes with their length)."""
    if code == "s":
        if not isinstance(value, str):
            raise EncodeError(f"{path}: expected a string, got {type(value).__name__}")
        data = value.encode("utf-8")
        return varint(len(data)) + data
    if code == "y":
        if not isinstance(value, bytes | bytearray | memoryview):
            raise EncodeError(f"{path}: expected bytes, got {type(value).__name__}")
        return varint(len(value)) + bytes(value)
    if code == "b":
        if not isinstance(value, bool):
            raise EncodeError(f"{path}: expected a bool, got {type(value).__name__}")
        return b"\x01" if value else b"\x00"
    if code in ("d", "f"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise EncodeError(f"{path}: expected a number, got {type(value).__name__}")
        return struct.pack("<d" if code == "d" else "<f", value)
    return varint(_checked_int(code, value, path))


def _checked_int(code: str, value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise EncodeError(f"{path}: expected an integer, got {type(value).__name__}")
    low, high = (0, _UINT64) if code == "u" else (-_INT64, _INT64)
    if not low <= value < high:
        raise EncodeError(f"{path}: {value} is out of range")
    return value
