"""Message tables for Kubernetes' protobuf encoding, parsed from a compact notation.

Each message is one string of whitespace-separated fields, `name=number:type`:

- `name` is the field's JSON name; `*` marks an embedded Go struct whose fields are
  inlined into the parent's JSON (`Volume` inlines `VolumeSource`).
- `type` defaults to `s` (string). Scalars: `s` string, `b` bool, `i` varint integer
  (int32/int64 and enums), `u` unsigned varint (uint32/uint64; Kubernetes has none),
  `y` bytes, `d` double, `f` float.
  Anything else names a message: `Foo` (same package, else a shared alias such as
  `ObjectMeta` or `Time`) or `core.Foo` / `meta.Foo` across packages.
- `[T]` is a repeated field, `{K,V}` a map (entries {key=1, value=2}).

The field numbers, names and types are facts from upstream's generated.proto files.
Other protocols (the CRI, pyk8s/kubelet/cri/) build their own registry from tables in
the same notation with `build_registry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from . import defs_core1, defs_core2, defs_core3, defs_groups, defs_meta

CORE = "k8s.io.api.core.v1"
META = defs_meta.META
SCALARS = frozenset("sbiuydf")

# Prefixes usable in type references across packages.
_PREFIXES = {
    "core": CORE,
    "meta": META,
    "runtime": defs_meta.RUNTIME,
    "intstr": defs_meta.INTSTR,
    "resource": defs_meta.RESOURCE,
}

# Bare names resolved outside their package when the package has no message of that name.
_ALIASES = {
    **{
        name: f"{META}.{name}"
        for name in (
            "ObjectMeta",
            "ListMeta",
            "LabelSelector",
            "LabelSelectorRequirement",
            "OwnerReference",
            "ManagedFieldsEntry",
            "Time",
            "MicroTime",
            "Duration",
            "FieldsV1",
            "Condition",
            "DeleteOptions",
        )
    },
    "TypeMeta": f"{defs_meta.RUNTIME}.TypeMeta",
    "RawExtension": f"{defs_meta.RUNTIME}.RawExtension",
    "IntOrString": f"{defs_meta.INTSTR}.IntOrString",
    "Quantity": f"{defs_meta.RESOURCE}.Quantity",
}

# Messages whose JSON form is not an object (see decode.py for each mapping).
SPECIAL = {
    f"{META}.Time": "time",
    f"{META}.MicroTime": "microtime",
    f"{META}.Duration": "duration",
    f"{META}.FieldsV1": "json_raw",
    f"{defs_meta.RUNTIME}.RawExtension": "json_raw",
    f"{defs_meta.INTSTR}.IntOrString": "int_or_string",
    f"{defs_meta.RESOURCE}.Quantity": "quantity",
    "k8s.io.api.authentication.v1.ExtraValue": "string_list",
}

# Options kinds that every group version accepts (metav1.AddToGroupVersion).
OPTION_KINDS = ("DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions", "GetOptions")

CORE_KINDS = (
    "Pod",
    "PodTemplate",
    "ReplicationController",
    "Service",
    "ServiceAccount",
    "Endpoints",
    "Node",
    "Namespace",
    "Event",
    "LimitRange",
    "ResourceQuota",
    "Secret",
    "ConfigMap",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Binding",
    "ComponentStatus",
)


@dataclass(frozen=True, slots=True)
class Field:
    number: int
    name: str  # JSON name; "" for an inlined embedded struct
    type: str  # scalar code or full message name; for maps, the value type
    repeated: bool = False
    map_key: str | None = None  # scalar code of the key when the field is a map

    @property
    def inline(self) -> bool:
        return self.name == ""

    @property
    def is_map(self) -> bool:
        return self.map_key is not None

    @property
    def is_message(self) -> bool:
        return self.type not in SCALARS


@dataclass(frozen=True, slots=True)
class Message:
    name: str  # full proto name, e.g. k8s.io.api.apps.v1.Deployment
    fields: dict[int, Field]

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[1]


def _packages() -> dict[str, dict[str, str]]:
    core: dict[str, str] = {}
    for part in (defs_core1, defs_core2, defs_core3):
        core.update(part.MESSAGES)
    packages = {CORE: core, **defs_meta.PACKAGES}
    for package, messages, _kinds in defs_groups.GROUPS.values():
        packages[package] = messages
    return packages


@dataclass(frozen=True, slots=True)
class _Scope:
    """What type references may name: packages, cross-package prefixes, bare aliases."""

    packages: dict[str, dict[str, str]]
    prefixes: dict[str, str]
    aliases: dict[str, str]


def _resolve(ref: str, package: str, scope: _Scope) -> str:
    if ref in SCALARS:
        return ref
    if "." in ref:
        prefix, name = ref.split(".", 1)
        full_package = scope.prefixes.get(prefix)
        if full_package is None or name not in scope.packages[full_package]:
            raise ValueError(f"unknown message reference {ref!r} in {package}")
        return f"{full_package}.{name}"
    if ref in scope.packages[package]:
        return f"{package}.{ref}"
    if ref in scope.aliases:
        return scope.aliases[ref]
    raise ValueError(f"unknown message reference {ref!r} in {package}")


def _parse_field(token: str, package: str, scope: _Scope) -> Field:
    name, _, rest = token.partition("=")
    number_text, _, type_text = rest.partition(":")
    number = int(number_text)
    type_text = type_text or "s"
    json_name = "" if name == "*" else name
    if type_text.startswith("[") and type_text.endswith("]"):
        return Field(number, json_name, _resolve(type_text[1:-1], package, scope), True)
    if type_text.startswith("{") and type_text.endswith("}"):
        key, value = type_text[1:-1].split(",")
        if key not in SCALARS:
            raise ValueError(f"map key must be a scalar in {token!r}")
        return Field(number, json_name, _resolve(value, package, scope), map_key=key)
    return Field(number, json_name, _resolve(type_text, package, scope))


def _parse_message(name: str, text: str, package: str, scope: _Scope) -> Message:
    fields: dict[int, Field] = {}
    for token in text.split():
        field = _parse_field(token, package, scope)
        if field.number in fields or field.number <= 0:
            raise ValueError(f"bad or duplicate field number in {package}.{name}: {token}")
        fields[field.number] = field
    names = [f.name for f in fields.values() if f.name]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate JSON name in {package}.{name}")
    return Message(f"{package}.{name}", fields)


def build_registry(
    packages: dict[str, dict[str, str]],
    *,
    prefixes: dict[str, str] | None = None,
    aliases: dict[str, str] | None = None,
) -> dict[str, Message]:
    """Parse message tables ({package: {name: fields}}) into messages by full name."""
    scope = _Scope(packages, prefixes or {}, aliases or {})
    messages: dict[str, Message] = {}
    for package, defs in packages.items():
        for name, text in defs.items():
            message = _parse_message(name, text, package, scope)
            messages[message.name] = message
    return messages


@cache
def registry() -> dict[str, Message]:
    """Every known Kubernetes message by full proto name (parsed once, on first use)."""
    return build_registry(_packages(), prefixes=_PREFIXES, aliases=_ALIASES)


@cache
def kinds() -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> full message name for every kind a client may send."""
    table: dict[tuple[str, str], str] = {("v1", k): f"{CORE}.{k}" for k in CORE_KINDS}
    for api_version, (package, _messages, group_kinds) in defs_groups.GROUPS.items():
        table.update({(api_version, k): f"{package}.{k}" for k in group_kinds})
    for api_version in {v for v, _k in list(table)} | {"meta.k8s.io/v1"}:
        table.update({(api_version, k): f"{META}.{k}" for k in OPTION_KINDS})
    return table


def message_for(api_version: str, kind: str) -> str | None:
    """The full protobuf message name for an apiVersion/kind, or None if unknown."""
    return kinds().get((api_version, kind))


def get_message(type_name: str) -> Message:
    try:
        return registry()[type_name]
    except KeyError:
        raise KeyError(f"unknown protobuf message {type_name!r}") from None
