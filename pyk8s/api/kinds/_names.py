"""Name checks as Causes: thin adapters over pyk8s.machinery.validation, whose
`is_*` functions return plain problem messages."""

from __future__ import annotations

from typing import Any

from pyk8s.machinery import validation as v
from pyk8s.machinery.errors import Cause, field_invalid


def _causes(field: str, value: Any, msgs: list[str]) -> list[Cause]:
    return [field_invalid(field, value, m) for m in msgs]


def _check(check: Any, value: Any, field: str) -> list[Cause]:
    if not isinstance(value, str):
        return [field_invalid(field, value, "must be a string")]
    return _causes(field, value, check(value))


def dns1123_label(value: Any, field: str) -> list[Cause]:
    return _check(v.is_dns1123_label, value, field)


def dns1123_subdomain(value: Any, field: str) -> list[Cause]:
    return _check(v.is_dns1123_subdomain, value, field)


def dns1035_label(value: Any, field: str) -> list[Cause]:
    return _check(v.is_dns1035_label, value, field)


def label_key(value: Any, field: str) -> list[Cause]:
    return _check(v.is_qualified_name, value, field)


def label_value(value: Any, field: str) -> list[Cause]:
    return _check(v.is_valid_label_value, value, field)


def config_key(value: Any, field: str) -> list[Cause]:
    return _check(v.is_config_map_key, value, field)


def ip_address(value: Any, field: str) -> list[Cause]:
    return _check(v.is_valid_ip, value, field)


def port_name(value: Any, field: str) -> list[Cause]:
    return _check(v.is_valid_port_name, value, field)


def env_var_name(value: Any, field: str) -> list[Cause]:
    return _check(v.is_env_var_name, value, field)


def object_meta(obj: dict[str, Any], namespaced: bool, name_check: Any = None) -> list[Cause]:
    """metadata checks on create; `name_check` is one of validation's name_is_* functions."""
    return v.validate_object_meta(
        obj.get("metadata"), namespaced, name_check or v.name_is_dns_subdomain
    )


name_is_dns_subdomain = v.name_is_dns_subdomain
name_is_dns_label = v.name_is_dns_label
name_is_dns1035_label = v.name_is_dns1035_label
