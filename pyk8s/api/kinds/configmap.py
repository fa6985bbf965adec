"""core/v1 ConfigMap and Secret: key names, size limits, immutability, secret types."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pyk8s.api.kinds import _names
from pyk8s.api.kinds._base import KindStrategy
from pyk8s.api.kinds._util import Obj, as_dict, required_detail
from pyk8s.machinery.errors import (
    Cause,
    field_forbidden,
    field_immutable,
    field_invalid,
    field_required,
)
from pyk8s.machinery.validation import field_too_long

MAX_SIZE = 1024 * 1024  # 1 MiB, for ConfigMap and Secret alike
IMMUTABLE_DETAIL = "field is immutable when `immutable` is set"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
# Keys each built-in secret type requires in data.
REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def _validate_keys(data: Obj, binary: Obj) -> list[Cause]:
    errs: list[Cause] = []
    for key in data:
        errs += _names.config_key(key, f"data[{key}]")
    for key in binary:
        errs += _names.config_key(key, f"binaryData[{key}]")
        if key in data:
            errs.append(
                field_invalid(f"data[{key}]", key, "duplicate of key present in binaryData")
            )
    return errs


def _immutability(new: Obj, old: Obj, fields: tuple[str, ...]) -> list[Cause]:
    """Once `immutable: true` is stored, neither the data nor the flag may change."""
    if old.get("immutable") is not True:
        return []
    errs: list[Cause] = []
    if new.get("immutable") is not True:
        errs.append(field_forbidden("immutable", IMMUTABLE_DETAIL))
    for key in fields:
        if (new.get(key) or {}) != (old.get(key) or {}):
            errs.append(field_forbidden(key, IMMUTABLE_DETAIL))
    return errs


class ConfigMapStrategy(KindStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        data, binary = as_dict(obj.get("data")), as_dict(obj.get("binaryData"))
        errs = _validate_keys(data, binary)
        size = sum(len(str(v).encode()) for v in data.values())
        size += sum(len(_decoded(v)) for v in binary.values())
        if size > MAX_SIZE:
            errs.append(field_too_long("", MAX_SIZE))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _immutability(new, old, ("data", "binaryData"))


class SecretStrategy(KindStrategy):
    def default(self, obj: Obj) -> None:
        if not obj.get("type"):
            obj["type"] = "Opaque"
        # stringData is write-only: upstream folds it into data (base64) on decode.
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            data = obj.get("data")
            if not isinstance(data, dict):
                data = obj["data"] = {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def validate(self, obj: Obj) -> list[Cause]:
        data = as_dict(obj.get("data"))
        errs = _validate_keys(data, {})
        if sum(len(_decoded(v)) for v in data.values()) > MAX_SIZE:
            errs.append(field_too_long("data", MAX_SIZE))
        errs += _validate_type(obj, data)
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        errs: list[Cause] = []
        if (new.get("type") or "Opaque") != (old.get("type") or "Opaque"):
            errs.append(field_immutable("type", new.get("type")))
        return errs + _immutability(new, old, ("data",))


def _validate_type(obj: Obj, data: Obj) -> list[Cause]:
    kind = obj.get("type") or "Opaque"
    errs = [
        field_required(f"data[{key}]") for key in REQUIRED_KEYS.get(kind, ()) if key not in data
    ]
    if kind == "kubernetes.io/service-account-token":
        annotations = as_dict(as_dict(obj.get("metadata")).get("annotations"))
        if not annotations.get(SA_NAME_ANNOTATION):
            errs.append(field_required(f"metadata.annotations[{SA_NAME_ANNOTATION}]"))
    if kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        detail = "must specify at least one of: `username`, `password`"
        errs.append(required_detail("data[username]", detail))
    return errs


def _decoded(value: Any) -> bytes:
    """A data value's bytes (base64 in JSON); undecodable values count as sent."""
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value.encode()
