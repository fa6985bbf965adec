"""Upstream's controller.ComputeHash: the short hash in pod-template-hash and
controller-revision-hash labels. FNV-32a of the object (plus the collision count,
as 8 little-endian bytes, when set), its decimal digits mapped onto util/rand's
vowel-free alphabet (SafeEncodeString), e.g. `7894b67f`.

Upstream feeds a Go struct dump to the hash; we feed canonical JSON, so values
differ from a real cluster's but have the same shape and stability."""

from __future__ import annotations

import struct
from typing import Any

import orjson

from pyk8s.machinery import meta

_SAFE_ALPHABET = meta.NAME_ALPHABET


def safe_encode_string(text: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def fnv32a(data: bytes, h: int = 0x811C9DC5) -> int:
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def compute_hash(value: Any, collision_count: int | None = None) -> str:
    h = fnv32a(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    if collision_count is not None:
        h = fnv32a(struct.pack("<Q", collision_count & 0xFFFFFFFF), h)
    return safe_encode_string(str(h))
