"""Kubernetes protobuf request bodies -> JSON-shaped dicts.

kubectl's typed clients send `application/vnd.kubernetes.protobuf` bodies: the
magic `k8s\\0`, then a runtime.Unknown envelope {typeMeta{apiVersion, kind}, raw}
whose raw bytes are the object encoded with upstream's generated.proto message.

The mapping follows what the Go apiserver would hold after unmarshalling, as its
JSON would show it:
- Go writes non-pointer zero values explicitly (`generation: 0`, `stdin: false`);
  numbers and booleans that are on the wire stay in the dict.
- A singular string that is empty is dropped: in Go an empty non-pointer string is
  the same as an absent one (its JSON tag has omitempty), and keeping "" would
  defeat defaulting such as `restartPolicy` -> Always. Strings inside lists and
  maps are kept, as are the few pointer strings where "" means something.
- Messages on the wire stay, even when empty (`resources: {}`), as Go's JSON shows
  non-pointer structs; Time/MicroTime with no instant become null.
- Unknown field numbers are skipped (forward compatible) and reported by path.

`decode_proto3` decodes plain proto3 messages of another registry (the CRI's) with
proto3's own mapping instead: absent scalars read as their zero value, absent
repeated fields and maps as empty, bytes stay bytes, and no type has a special form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import StatusError, bad_request, request_entity_too_large
from . import special
from .schema import SPECIAL, Field, Message, get_message, message_for
from .wire import LEN, VARINT, WireError, iter_fields, iter_packed_varints
from .wire import to_signed64 as _signed

MAGIC = b"k8s\x00"
MAX_DEPTH = 100
MAX_BODY_BYTES = 3 * 1024 * 1024  # upstream's default request body limit
# Upstream's kube-apiserver scheme name, as it appears in "no kind registered" errors.
SCHEME_NAME = "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"

# Pointer strings where "" is a value of its own (kept instead of dropped).
_KEEP_EMPTY_STRING = {
    ("k8s.io.api.core.v1.PersistentVolumeClaimSpec", "storageClassName"),
    ("k8s.io.api.core.v1.PersistentVolumeClaimSpec", "volumeAttributesClassName"),
}


def is_protobuf_envelope(body: bytes) -> bool:
    """True when body starts with the Kubernetes protobuf magic `k8s\\0`."""
    return bytes(body[:4]) == MAGIC


def decode_object(body: bytes, *, strict: bool = False) -> dict:
    """Decode an envelope into a JSON-shaped object with apiVersion and kind set.

    With strict=True, unknown field numbers fail the request (fieldValidation=Strict).
    Raises StatusError 400 for malformed input or an unregistered apiVersion/kind.
    """
    obj, unknown = decode_object_and_unknown(body)
    if strict and unknown:
        raise _unknown_fields_error(unknown)
    return obj


def decode_object_and_unknown(body: bytes) -> tuple[dict, list[str]]:
    """Like decode_object, also returning the paths of unknown fields (e.g. `spec.#99`)."""
    if len(body) > MAX_BODY_BYTES:
        raise request_entity_too_large(MAX_BODY_BYTES)
    api_version, kind, raw = _open_envelope(body)
    type_name = _registered(api_version, kind)
    decoder = _Decoder()
    try:
        fields = decoder.message(get_message(type_name), raw, "", 0)
    except WireError as exc:
        version = api_version.rsplit("/", 1)[-1]
        raise bad_request(
            f'{kind} in version "{version}" cannot be handled as a {kind}: {exc}'
        ) from None
    return {"kind": kind, "apiVersion": api_version, **fields}, decoder.unknown


def _registered(api_version: str, kind: str) -> str:
    type_name = message_for(api_version, kind)
    if type_name is None:
        raise bad_request(
            f'no kind "{kind}" is registered for version "{api_version}" in scheme "{SCHEME_NAME}"'
        )
    return type_name


def decode_message(type_name: str, data: bytes, *, strict: bool = False) -> dict:
    """Decode one message (e.g. "k8s.io.api.apps.v1.Deployment") without an envelope."""
    try:
        message = get_message(type_name)
    except KeyError as exc:
        raise bad_request(str(exc.args[0])) from None
    decoder = _Decoder()
    try:
        obj = decoder.message(message, memoryview(bytes(data)), "", 0)
    except WireError as exc:
        raise bad_request(str(exc)) from None
    if strict and decoder.unknown:
        raise _unknown_fields_error(decoder.unknown)
    return obj


def decode_proto3(messages: Mapping[str, Message], type_name: str, data: bytes) -> dict:
    """Decode a proto3 message of `messages` (a registry from schema.build_registry).

    Raises WireError for malformed data and KeyError for an unknown type name.
    """
    decoder = _Decoder(messages)
    return decoder.message(decoder.get(type_name), memoryview(bytes(data)), "", 0)


def _unknown_fields_error(paths: list[str]) -> StatusError:
    return bad_request("strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in paths))


def _open_envelope(body: bytes) -> tuple[str, str, memoryview]:
    """Check the magic and read runtime.Unknown: (apiVersion, kind, raw object bytes)."""
    if not is_protobuf_envelope(body):
        raise bad_request(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    api_version, kind, raw = "", "", memoryview(b"")
    try:
        for number, wire_type, value in iter_fields(memoryview(bytes(body))[4:]):
            if number == 1 and wire_type == LEN:
                api_version, kind = _type_meta(value)
            elif number == 2 and wire_type == LEN:
                raw = value
    except WireError as exc:
        raise bad_request(str(exc)) from None
    type_meta = f'runtime.TypeMeta{{APIVersion:"{api_version}", Kind:"{kind}"}}'
    if not kind:
        raise bad_request(f"Object 'Kind' is missing in '{type_meta}'")
    if not api_version:
        raise bad_request(f"Object 'apiVersion' is missing in '{type_meta}'")
    return api_version, kind, raw


def _type_meta(data: memoryview) -> tuple[str, str]:
    values = {n: v for n, w, v in iter_fields(data) if w == LEN}
    return _utf8(values.get(1, b"")), _utf8(values.get(2, b""))


def _utf8(value) -> str:
    return bytes(value).decode("utf-8", errors="replace")


class _Decoder:
    """One decoding pass; collects the paths of unknown fields as it goes.

    Without `messages` it decodes Kubernetes objects (the mapping described above);
    with a registry of its own it decodes that registry's proto3 messages.
    """

    def __init__(self, messages: Mapping[str, Message] | None = None) -> None:
        self.unknown: list[str] = []
        self.proto3 = messages is not None
        self._messages = messages
        self._special = {} if self.proto3 else SPECIAL

    def get(self, type_name: str) -> Message:
        if self._messages is None:
            return get_message(type_name)
        try:
            return self._messages[type_name]
        except KeyError:
            raise KeyError(f"unknown protobuf message {type_name!r}") from None

    def message(self, message: Message, data: memoryview, path: str, depth: int) -> dict:
        if depth >= MAX_DEPTH:
            raise WireError(f"proto: exceeded max nesting depth {MAX_DEPTH}")
        out: dict[str, Any] = {}
        # Singular messages may arrive in pieces; protobuf merges them, which is the
        # same as decoding their concatenation, so gather first and decode at the end.
        pieces: dict[int, list[memoryview]] = {}
        for number, wire_type, value in iter_fields(data):
            field = message.fields.get(number)
            if field is None:
                self.unknown.append(_join(path, f"#{number}"))
            elif field.is_message and not field.repeated and not field.is_map:
                _check_wire_type(field, wire_type, LEN)
                pieces.setdefault(number, []).append(value)
                if not field.inline:
                    out.setdefault(field.name, None)  # keep first-seen position
            else:
                self._value(message, field, wire_type, value, out, path, depth)
        for number, parts in pieces.items():
            field = message.fields[number]
            merged = parts[0] if len(parts) == 1 else memoryview(b"".join(parts))
            value = self.submessage(field.type, merged, _join(path, field.name), depth + 1)
            if field.inline:
                out.update(value)
            else:
                out[field.name] = value
        if self.proto3:
            _fill_proto3_defaults(message, out)
        return out

    def submessage(self, type_name: str, data: memoryview, path: str, depth: int) -> Any:
        kind = self._special.get(type_name)
        if kind == "json_raw":
            return special.json_raw(data, lambda raw: self.embedded(raw, path, depth))
        if kind is not None:
            return special.CONVERTERS[kind](data)
        return self.message(self.get(type_name), data, path, depth)

    def embedded(self, body: bytes, path: str, depth: int) -> dict:
        """An object embedded as a protobuf envelope (e.g. in a RawExtension)."""
        api_version, kind, raw = _open_envelope(body)
        fields = self.message(get_message(_registered(api_version, kind)), raw, path, depth + 1)
        return {"kind": kind, "apiVersion": api_version, **fields}

    def _value(self, message, field: Field, wire_type, value, out, path, depth) -> None:
        if field.is_map:
            entries = out.setdefault(field.name, {})
            key, item = self._map_entry(field, value, wire_type, path, depth)
            entries[key] = item
        elif field.repeated:
            items = out.setdefault(field.name, [])
            index_path = f"{_join(path, field.name)}[{len(items)}]"
            if wire_type == LEN and field.type in _VARINT_CODES:
                items.extend(self.scalar(field, VARINT, v) for v in iter_packed_varints(value))
            elif field.is_message:
                _check_wire_type(field, wire_type, LEN)
                items.append(self.submessage(field.type, value, index_path, depth + 1))
            else:
                items.append(self.scalar(field, wire_type, value))
        else:
            scalar = self.scalar(field, wire_type, value)
            if scalar == "" and field.type == "s" and not self.proto3:
                if (message.name, field.name) not in _KEEP_EMPTY_STRING:
                    out.pop(field.name, None)  # last one wins, and it is empty
                    return
            out[field.name] = scalar

    def _map_entry(self, field: Field, data, wire_type, path: str, depth: int):
        _check_wire_type(field, wire_type, LEN)
        key_field = Field(1, "key", field.map_key or "s")
        value_field = Field(2, "value", field.type)
        key: Any = _zero(key_field.type, self.proto3)
        raw_value: tuple[int, Any] | None = None
        for number, entry_wire_type, value in iter_fields(data):
            if number == 1:
                key = self.scalar(key_field, entry_wire_type, value)
            elif number == 2:
                raw_value = (entry_wire_type, value)
        if raw_value is None:
            raw_value = (LEN, memoryview(b"")) if value_field.is_message else None
        if raw_value is None:
            return key, _zero(value_field.type, self.proto3)
        if value_field.is_message:
            _check_wire_type(value_field, raw_value[0], LEN)
            item_path = f"{_join(path, field.name)}[{key}]"
            return key, self.submessage(value_field.type, raw_value[1], item_path, depth + 1)
        return key, self.scalar(value_field, *raw_value)

    def scalar(self, field: Field, wire_type: int, value) -> Any:
        code = field.type
        if code in _VARINT_CODES:
            _check_wire_type(field, wire_type, VARINT)
            if code == "b":
                return value != 0
            return value if code == "u" else _signed(value)
        if code in ("d", "f"):
            return special.fixed_value(code, wire_type, value)
        _check_wire_type(field, wire_type, LEN)
        if code == "y":
            return bytes(value) if self.proto3 else special.bytes_json(value)
        return _utf8(value)


_VARINT_CODES = ("i", "u", "b")


def _zero(code: str, proto3: bool = False) -> Any:
    if code == "y" and proto3:
        return b""
    return {"s": "", "y": "", "i": 0, "u": 0, "b": False, "d": 0.0, "f": 0.0}[code]


def _fill_proto3_defaults(message: Message, out: dict) -> None:
    """What proto3 leaves off the wire reads as its zero value; messages stay absent."""
    for field in message.fields.values():
        if field.name in out:
            continue
        if field.is_map:
            out[field.name] = {}
        elif field.repeated:
            out[field.name] = []
        elif not field.is_message:
            out[field.name] = _zero(field.type, proto3=True)


def _check_wire_type(field: Field, wire_type: int, expected: int) -> None:
    if wire_type != expected:
        name = field.name or "(inline)"
        raise WireError(f"proto: wrong wireType = {wire_type} for field {name}")


def _join(path: str, name: str) -> str:
    if not name:
        return path
    return f"{path}.{name}" if path else name
