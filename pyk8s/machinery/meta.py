"""Small helpers for object metadata: timestamps, uids, generated names, ages, accessors.

Objects are JSON-shaped dicts; these helpers read them the way upstream's accessors do
(a missing field reads as its zero value).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

# upstream's util/rand alphabet: no vowels (no accidental words), no 0/1/3 lookalikes.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_RANDOM_LENGTH = 5
_MAX_NAME_LENGTH = 63
MAX_GENERATED_NAME_LENGTH = _MAX_NAME_LENGTH - _RANDOM_LENGTH


# ------------------------------------------------------------------------ time


def now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """metav1.Time: RFC 3339 in UTC, whole seconds, `Z` (e.g. 2024-05-01T12:00:00Z)."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(moment: datetime) -> str:
    """metav1.MicroTime (events, leases): six fractional digits, `Z`."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_rfc3339() -> str:
    return format_time(now())


def now_rfc3339_micro() -> str:
    return format_micro_time(now())


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (with `Z` or an offset, any fraction) to aware UTC."""
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return parsed.astimezone(UTC)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ---------------------------------------------------------------- identifiers


def new_uid() -> str:
    """A random (version 4) UUID. Drawn from the process PRNG (seeded from the OS, reseeded
    after fork): uids must be unique, not secret, and os.urandom per object is a hot
    spot under create load."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def random_suffix(length: int = _RANDOM_LENGTH) -> str:
    """generateName's suffix. From the process PRNG, as upstream's utilrand.String
    (math/rand): names must be unlikely to collide, not secret, and a getrandom call
    per character was ~40 us of every generated name."""
    return "".join(random.choices(NAME_ALPHABET, k=length))


def generate_name(prefix: str) -> str:
    """generateName: the prefix (cut to 58 chars) plus 5 random characters."""
    return prefix[:MAX_GENERATED_NAME_LENGTH] + random_suffix()


# -------------------------------------------------------------------- durations


def human_duration(seconds: float) -> str:
    """upstream's duration.HumanDuration (kubectl's AGE column): ~2-3 significant figures."""
    whole = int(seconds)  # Go truncates toward zero
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"  # tolerate up to 2s of clock skew as "now"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        s = whole % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(seconds: float) -> str:
    """upstream's duration.ShortHumanDuration: one unit only (e.g. `5m`, `3d`)."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60:
        return f"{whole}s"
    minutes = int(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours = int(seconds / 3600)
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{int(seconds / 3600 / 24 / 365)}y"


def translate_timestamp_since(timestamp: str | None, at: datetime | None = None) -> str:
    """kubectl's age cell: `<unknown>` without a timestamp, else HumanDuration since."""
    if not timestamp:
        return "<unknown>"
    elapsed = ((at or now()) - parse_time(timestamp)).total_seconds()
    return human_duration(elapsed)


# --------------------------------------------------------------------- accessors


def metadata_of(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def name_of(obj: dict[str, Any]) -> str:
    return metadata_of(obj).get("name") or ""


def namespace_of(obj: dict[str, Any]) -> str:
    return metadata_of(obj).get("namespace") or ""


def uid_of(obj: dict[str, Any]) -> str:
    return metadata_of(obj).get("uid") or ""


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    return metadata_of(obj).get("labels") or {}


def key_of(obj: dict[str, Any]) -> str:
    """client-go's MetaNamespaceKeyFunc: `namespace/name`, or `name` if cluster-scoped."""
    namespace, name = namespace_of(obj), name_of(obj)
    return f"{namespace}/{name}" if namespace else name


def split_key(key: str) -> tuple[str, str]:
    """Inverse of key_of: (namespace, name); namespace is "" for cluster-scoped keys."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


def owner_controller(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The ownerReference with `controller: true` (at most one is allowed), else None."""
    for ref in metadata_of(obj).get("ownerReferences") or []:
        if ref.get("controller") is True:
            return ref
    return None


def is_controlled_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    ref = owner_controller(obj)
    return ref is not None and ref.get("uid") == uid_of(owner)


def is_being_deleted(obj: dict[str, Any]) -> bool:
    return bool(metadata_of(obj).get("deletionTimestamp"))
