"""Name and field-format checks with upstream's exact message texts.

The `is_*` functions mirror k8s.io/apimachinery/pkg/util/validation: they return a
list of human-readable problems (empty when valid), because several callers prefix or
combine them differently (label selectors, name validators, finalizers). Turn them into
API causes with `invalid_causes(field, value, msgs)`.

`validate_object_meta` mirrors apimachinery's ValidateObjectMeta and returns Causes
ready for `errors.invalid(...)`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from pyk8s.machinery.errors import Cause, field_forbidden, field_invalid

# A name validator: (name, is_prefix) -> problems. `is_prefix` is true when checking a
# generateName, which will have random characters appended (so a trailing '-' is fine).
NameValidator = Callable[[str, bool], list[str]]


# ----------------------------------------------------------------------------- messages


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """Upstream's RegexError, including its odd `'a',  or 'b', ` example spacing."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _blen(value: str) -> int:
    # Upstream limits count bytes (Go's len), not characters.
    return len(value.encode())


def _full(regex: re.Pattern[str], value: str) -> bool:
    # fullmatch, because `$` alone would accept a trailing newline.
    return regex.fullmatch(value) is not None


def empty_error() -> str:
    return "must be non-empty"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


# ------------------------------------------------------------------- qualified names


_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_QNAME_MAX = 63
_QNAME_RE = re.compile(_QNAME_FMT)


def is_qualified_name(value: str) -> list[str]:
    """A label key / annotation key / finalizer: `[prefix/]name` (name <= 63 chars)."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + empty_error())
    elif _blen(name) > _QNAME_MAX:
        errs.append("name part " + max_len_error(_QNAME_MAX))
    if not _full(_QNAME_RE, name):
        errs.append(
            "name part " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MAX = 63
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)


def is_valid_label_value(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > _LABEL_VALUE_MAX:
        errs.append(max_len_error(_LABEL_VALUE_MAX))
    if not _full(_LABEL_VALUE_RE, value):
        errs.append(regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


# ------------------------------------------------------------------------ DNS names

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
DNS1123_LABEL_MAX_LENGTH = 63
_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)

_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)

_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
DNS1035_LABEL_MAX_LENGTH = 63
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT)


def is_dns1123_label(value: str) -> list[str]:
    """Namespace names, most label-like names (RFC 1123 label, <= 63 chars)."""
    errs: list[str] = []
    if _blen(value) > DNS1123_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _full(_DNS1123_LABEL_RE, value):
        if _full(_DNS1123_SUBDOMAIN_RE, value):
            # A valid subdomain that is not a label can only differ by its dots.
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    """Most object names (RFC 1123 subdomain, <= 253 chars)."""
    errs: list[str] = []
    if _blen(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _full(_DNS1123_SUBDOMAIN_RE, value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    """Service names (RFC 1035 label: starts with a letter, <= 63 chars)."""
    errs: list[str] = []
    if _blen(value) > DNS1035_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1035_LABEL_MAX_LENGTH))
    if not _full(_DNS1035_LABEL_RE, value):
        errs.append(regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


# ------------------------------------------------------------------ other formats

_C_IDENTIFIER_FMT = "[A-Za-z_][A-Za-z0-9_]*"
_C_IDENTIFIER_MSG = (
    "a valid C identifier must start with alphabetic character or '_', "
    "followed by a string of alphanumeric characters or '_'"
)
_C_IDENTIFIER_RE = re.compile(_C_IDENTIFIER_FMT)


def is_c_identifier(value: str) -> list[str]:
    if _full(_C_IDENTIFIER_RE, value):
        return []
    return [regex_error(_C_IDENTIFIER_MSG, _C_IDENTIFIER_FMT, "my_name", "MY_NAME", "MyName")]


def is_env_var_name(value: str) -> list[str]:
    """Relaxed env var names (upstream's default since RelaxedEnvironmentVariableValidation)."""
    errs: list[str] = []
    if not value:
        errs.append("environment variable name " + empty_error())
    if any(c == "=" or not (" " <= c <= "~") for c in value):
        errs.append(
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
        )
    return errs


def is_valid_port_num(port: int) -> list[str]:
    if 1 <= port <= 65535:
        return []
    return [inclusive_range_error(1, 65535)]


_PORT_NAME_CHARSET = re.compile(r"[-a-z0-9]+")


def is_valid_port_name(port: str) -> list[str]:
    """IANA_SVC_NAME: <= 15 chars of [-a-z0-9] with a letter, no '--', no edge '-'."""
    errs: list[str] = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not _full(_PORT_NAME_CHARSET, port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


_CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_MAP_KEY_RE = re.compile(_CONFIG_MAP_KEY_FMT)


def is_config_map_key(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _full(_CONFIG_MAP_KEY_RE, value):
        msg = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
        errs.append(regex_error(msg, _CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _parse_ipv4_sloppy(value: str) -> bool:
    # Go's ParseIPSloppy accepts leading zeros ("010.1.1.1" == 10.1.1.1); Python does not.
    parts = value.split(".")
    return len(parts) == 4 and all(
        p.isascii() and p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts
    )


def parse_ip_sloppy(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse an IP as upstream's netutils.ParseIPSloppy does, or None."""
    if _parse_ipv4_sloppy(value):
        return ipaddress.IPv4Address(".".join(str(int(p)) for p in value.split(".")))
    if ":" not in value or "%" in value:  # Go rejects IPv6 zones in ParseIP
        return None
    try:
        return ipaddress.IPv6Address(value)
    except ValueError:
        return None


def is_valid_ip(value: str) -> list[str]:
    if parse_ip_sloppy(value) is not None:
        return []
    return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]


def is_valid_cidr(value: str) -> list[str]:
    addr, sep, bits = value.partition("/")
    ip = parse_ip_sloppy(addr)
    max_bits = 32 if isinstance(ip, ipaddress.IPv4Address) else 128
    if ip is None or not sep or not bits.isdigit() or int(bits) > max_bits:
        return ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]
    return []


# ------------------------------------------------------------------- name validators


def _mask_trailing_dash(name: str) -> str:
    # Upstream replaces the last *two* characters with "a" (name[:len-2] + "a"); keep
    # that quirk so generateName values validate exactly as they do upstream.
    return name[: max(len(name) - 2, 0)] + "a" if name.endswith("-") else name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def validate_path_segment_name(name: str, prefix: bool) -> list[str]:
    """Names that only need to be safe in a URL path (e.g. RBAC roles, CRD-defined kinds)."""
    if not prefix:
        for illegal in (".", ".."):
            if name == illegal:
                return [f"may not be '{illegal}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


validate_namespace_name = name_is_dns_label


# ------------------------------------------------------------------ cause helpers


def invalid_causes(field: str, value: Any, msgs: list[str]) -> list[Cause]:
    """One FieldValueInvalid cause per problem message, as upstream reports them."""
    return [field_invalid(field, value, m) for m in msgs]


def field_required_detail(field: str, detail: str = "") -> Cause:
    """FieldValueRequired with upstream's optional detail (`Required value: <detail>`)."""
    return Cause(
        field, "FieldValueRequired", f"Required value: {detail}" if detail else "Required value"
    )


def field_too_long(field: str, limit: int) -> Cause:
    return Cause(field, "FieldValueTooLong", f"Too long: must have at most {limit} bytes")


# -------------------------------------------------------------- labels/annotations

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def validate_labels(labels: Mapping[str, str] | None, field_path: str) -> list[Cause]:
    """Keys are qualified names, values label values; every cause is on `field_path`."""
    causes: list[Cause] = []
    for key, value in (labels or {}).items():
        causes += invalid_causes(field_path, key, is_qualified_name(key))
        causes += invalid_causes(field_path, value, is_valid_label_value(str(value)))
    return causes


def validate_annotations(annotations: Mapping[str, str] | None, field_path: str) -> list[Cause]:
    """Keys are qualified names (case-insensitive); all keys+values total <= 256 KiB."""
    causes: list[Cause] = []
    annotations = annotations or {}
    for key in annotations:
        causes += invalid_causes(field_path, key, is_qualified_name(key.lower()))
    total = sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(field_too_long(field_path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


# ---------------------------------------------------------------------- object meta


def validate_owner_references(refs: list[dict[str, Any]] | None, field_path: str) -> list[Cause]:
    causes: list[Cause] = []
    first_controller = ""
    for ref in refs or []:
        causes += _validate_owner_reference(ref, field_path)
        if ref.get("controller") is True:
            this = f"{ref.get('kind', '')}/{ref.get('name', '')}"
            if first_controller:
                detail = (
                    'Only one reference can have Controller set to true. Found "true" in '
                    f"references for {first_controller} and {this}"
                )
                causes.append(field_invalid(field_path, refs, detail))
            else:
                first_controller = this
    return causes


def _validate_owner_reference(ref: dict[str, Any], field_path: str) -> list[Cause]:
    # Upstream reports these on `ownerReferences.<field>`, without the list index.
    causes: list[Cause] = []
    api_version = ref.get("apiVersion") or ""
    group, version = _split_api_version(api_version)
    kind = ref.get("kind") or ""
    if not version:
        causes.append(
            field_invalid(f"{field_path}.apiVersion", api_version, "version must not be empty")
        )
    if not kind:
        causes.append(field_invalid(f"{field_path}.kind", kind, "must not be empty"))
    for key in ("name", "uid"):
        if not ref.get(key):
            causes.append(
                field_invalid(f"{field_path}.{key}", ref.get(key) or "", "must not be empty")
            )
    if (group, version, kind) == ("", "v1", "Event"):
        causes.append(
            field_invalid(field_path, ref, "/v1, Kind=Event is disallowed from being an owner")
        )
    return causes


def _split_api_version(api_version: str) -> tuple[str, str]:
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", ""  # unparseable: upstream drops group and version


def validate_finalizers(finalizers: list[str] | None, field_path: str) -> list[Cause]:
    causes: list[Cause] = []
    for name in finalizers or []:
        causes += invalid_causes(field_path, name, is_qualified_name(name))
    if finalizers and "orphan" in finalizers and "foregroundDeletion" in finalizers:
        detail = "finalizer orphan and foregroundDeletion cannot be both set"
        causes.append(field_invalid(field_path, finalizers, detail))
    return causes


def validate_object_meta(
    meta: Mapping[str, Any] | None,
    namespaced: bool,
    name_validator: NameValidator = name_is_dns_subdomain,
    field_path: str = "metadata",
) -> list[Cause]:
    """Metadata checks on create, in upstream's order.

    Like upstream this runs after name generation: a generateName is checked as a
    prefix, but an empty `name` is reported even when generateName is set.
    """
    meta = meta or {}
    causes: list[Cause] = []
    generate_name = meta.get("generateName") or ""
    if generate_name:
        msgs = name_validator(generate_name, True)
        causes += invalid_causes(f"{field_path}.generateName", generate_name, msgs)
    name = meta.get("name") or ""
    if not name:
        causes.append(
            field_required_detail(f"{field_path}.name", "name or generateName is required")
        )
    else:
        causes += invalid_causes(f"{field_path}.name", name, name_validator(name, False))
    causes += _validate_namespace(meta.get("namespace") or "", namespaced, field_path)
    generation = meta.get("generation")
    if isinstance(generation, int) and generation < 0:
        causes.append(
            field_invalid(
                f"{field_path}.generation", generation, "must be greater than or equal to 0"
            )
        )
    causes += validate_labels(meta.get("labels"), f"{field_path}.labels")
    causes += validate_annotations(meta.get("annotations"), f"{field_path}.annotations")
    causes += validate_owner_references(
        meta.get("ownerReferences"), f"{field_path}.ownerReferences"
    )
    causes += validate_finalizers(meta.get("finalizers"), f"{field_path}.finalizers")
    return causes


def _validate_namespace(namespace: str, namespaced: bool, field_path: str) -> list[Cause]:
    path = f"{field_path}.namespace"
    if not namespaced:
        return [field_forbidden(path, "not allowed on this type")] if namespace else []
    if not namespace:
        return [field_required_detail(path)]
    return invalid_causes(path, namespace, validate_namespace_name(namespace, False))
