"""CRI messages <-> protobuf bytes, without protoc or generated stubs.

The CRI's messages are field tables (messages.py) in the notation of
pyk8s/machinery/protobuf/schema.py; encode.py writes them and the decoder of
decode.py reads them with proto3's rules (absent scalars read as zero, absent
lists and maps as empty, absent messages are left out of the dict). gRPC only
needs a serializer and a deserializer per method, which this module provides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from pyk8s.machinery.protobuf.decode import decode_proto3
from pyk8s.machinery.protobuf.encode import encode_message
from pyk8s.machinery.protobuf.schema import Message, build_registry

from .messages import MESSAGES, PACKAGE


@cache
def registry() -> dict[str, Message]:
    """The CRI messages by full name (runtime.v1.X), parsed once."""
    return build_registry({PACKAGE: MESSAGES})


def encode(name: str, obj: Mapping) -> bytes:
    """Encode obj as the CRI message `name` (short name, e.g. "RunPodSandboxRequest")."""
    return encode_message(registry(), f"{PACKAGE}.{name}", obj)


def decode(name: str, data: bytes) -> dict:
    """Decode the CRI message `name` from its wire bytes."""
    return decode_proto3(registry(), f"{PACKAGE}.{name}", data)


def serializer(name: str) -> Callable[[Mapping], bytes]:
    registry()[f"{PACKAGE}.{name}"]  # fail at set-up for a misspelt name
    return lambda obj: encode(name, obj)


def deserializer(name: str) -> Callable[[bytes], dict]:
    registry()[f"{PACKAGE}.{name}"]
    return lambda data: decode(name, data)
