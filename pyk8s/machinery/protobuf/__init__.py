"""Decoding of Kubernetes protobuf bodies (application/vnd.kubernetes.protobuf).

No protoc and no generated code: wire.py reads the wire format, schema.py holds
upstream's message tables in a compact notation, decode.py maps messages to the
JSON-shaped dicts the rest of pyk8s works with.
"""

from .decode import (
    MAGIC,
    decode_message,
    decode_object,
    decode_object_and_unknown,
    is_protobuf_envelope,
)
from .schema import message_for

__all__ = [
    "MAGIC",
    "decode_message",
    "decode_object",
    "decode_object_and_unknown",
    "is_protobuf_envelope",
    "message_for",
]
