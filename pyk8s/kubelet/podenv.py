"""A container's environment, as the kubelet computes it (makeEnvironmentVariables),
and upstream's `$(VAR)` expansion for env values, command and args.

Precedence, lowest first: the service variables (KUBERNETES_SERVICE_HOST, ...),
then envFrom sources in order, then env entries in order. An env value may refer
to anything defined before it, or to a service variable; a reference to anything
else is left as written. Errors carry upstream's text: the kubelet reports them
as CreateContainerConfigError with that message.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from pyk8s.kubelet.downward import FieldError, PodAddresses, env_field, resource_value

Obj = dict[str, Any]
WarnFunc = Callable[[str, str], None]  # (reason, message) of a Warning event

INVALID_ENV_NAMES = "InvalidEnvironmentVariableNames"
# Kinds as the kubelet's watch-based object managers name them in NotFound errors.
_KIND = {"configmaps": "configmap", "secrets": "secret"}
_TITLE = {"configmaps": "ConfigMap", "secrets": "Secret"}


class ObjectLookup(Protocol):
    async def get(self, resource: str, namespace: str, name: str) -> dict | None:
        """A ConfigMap ("configmaps") or Secret ("secrets") as the API returns it; None when absent."""
        ...


class EnvError(Exception):
    """The environment cannot be built; str() is the message upstream reports."""


# ------------------------------------------------------------------------ expansion


def expand(text: str, env: Mapping[str, str] | Callable[[str], str]) -> str:
    """Upstream's expansion: `$(NAME)` becomes its value, `$$` becomes `$`, and a
    reference to an unknown name, an unterminated `$(`, or `$` before anything
    else stays as written. Values are not expanded again."""
    lookup = env if callable(env) else _mapping(env)
    out: list[str] = []
    start = i = 0
    n = len(text)
    while i < n - 1:
        if text[i] != "$":
            i += 1
            continue
        out.append(text[start:i])
        nxt = text[i + 1]
        if nxt == "(":
            close = text.find(")", i + 2)
            if close < 0:
                out.append("$(")
                i += 2
            else:
                out.append(lookup(text[i + 2 : close]))
                i = close + 1
        else:
            out.append("$" if nxt == "$" else "$" + nxt)
            i += 2
        start = i
    out.append(text[start:])
    return "".join(out)


def _mapping(*maps: Mapping[str, str]) -> Callable[[str], str]:
    def lookup(name: str) -> str:
        for m in maps:
            if name in m:
                return m[name]
        return f"$({name})"

    return lookup


def expand_command(values: Sequence[str], env: Sequence[tuple[str, str]]) -> list[str]:
    """command or args with `$(VAR)` expanded against the container's final environment."""
    lookup = _mapping(dict(env))
    return [expand(v, lookup) for v in values]


# ---------------------------------------------------------------------- environment


async def container_env(
    pod: Obj,
    container: Obj,
    lookup: ObjectLookup,
    *,
    pod_ip: str | None,
    host_ip: str | None,
    service_env: Mapping[str, str] | None = None,
    pod_ips: Sequence[str] | None = None,
    host_ips: Sequence[str] | None = None,
    node_allocatable: Obj | None = None,
    warn: WarnFunc | None = None,
) -> list[tuple[str, str]]:
    """The container's environment as (name, value) pairs, each name once: the
    declared variables (envFrom, then env), then the service variables they do
    not override. Raises EnvError with upstream's message."""
    namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
    objects = _Objects(lookup, namespace)
    declared: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        await _add_env_from(source, objects, declared, warn)
    services = dict(service_env or {})
    ctx = _EnvContext(
        pod,
        container,
        objects,
        PodAddresses.of(pod_ip, host_ip, pod_ips, host_ips),
        node_allocatable,
        _mapping(declared, services),
    )
    for var in container.get("env") or []:
        value = await ctx.value_of(var)
        if value is not None:
            declared[str(var.get("name"))] = value
    result = list(declared.items())
    result.extend((k, v) for k, v in services.items() if k not in declared)
    return result


class _Objects:
    """ConfigMaps and Secrets of one namespace, each fetched at most once per call."""

    def __init__(self, lookup: ObjectLookup, namespace: str) -> None:
        self.lookup = lookup
        self.namespace = namespace
        self._cache: dict[tuple[str, str], Obj | None] = {}

    async def get(self, resource: str, name: str, optional: bool) -> Obj | None:
        """The object, None when it is absent and optional; EnvError when it is absent
        and required, or when it cannot be read."""
        key = (resource, name)
        if key not in self._cache:
            try:
                self._cache[key] = await self.lookup.get(resource, self.namespace, name)
            except Exception as err:  # noqa: BLE001 - an API failure fails this container only
                raise EnvError(str(err) or type(err).__name__) from err
        obj = self._cache[key]
        if obj is None and not optional:
            raise EnvError(f'{_KIND[resource]} "{name}" not found')
        return obj

    def missing_key(self, resource: str, name: str, key: str) -> EnvError:
        return EnvError(f"couldn't find key {key} in {_TITLE[resource]} {self.namespace}/{name}")


def string_data(resource: str, obj: Obj) -> dict[str, str]:
    """A ConfigMap's data, or a Secret's data base64-decoded, as text."""
    data = obj.get("data") or {}
    if resource == "configmaps":
        return {str(k): str(v) for k, v in data.items()}
    return {str(k): decode_secret_value(v).decode("utf-8", "replace") for k, v in data.items()}


def decode_secret_value(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value or ""), validate=False)
    except (binascii.Error, ValueError):
        return str(value).encode()


async def _add_env_from(
    source: Obj, objects: _Objects, declared: dict[str, str], warn: WarnFunc | None
) -> None:
    if source.get("configMapRef") is not None:
        resource, ref, label = "configmaps", source["configMapRef"], "configMap"
    elif source.get("secretRef") is not None:
        resource, ref, label = "secrets", source["secretRef"], "secret"
    else:
        return
    name = str(ref.get("name") or "")
    obj = await objects.get(resource, name, bool(ref.get("optional")))
    if obj is None:
        return
    prefix = str(source.get("prefix") or "")
    invalid = []
    for key, value in string_data(resource, obj).items():
        if not is_env_var_name(prefix + key):
            invalid.append(prefix + key)
            continue
        declared[prefix + key] = value
    if invalid and warn is not None:
        warn(
            INVALID_ENV_NAMES,
            f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {label} "
            f"{objects.namespace}/{name} were skipped since they are considered invalid "
            "environment variable names.",
        )


def is_env_var_name(name: str) -> bool:
    """Upstream's relaxed rule (on by default since 1.32): printable ASCII except '='."""
    return bool(name) and all(" " <= ch <= "~" and ch != "=" for ch in name)


class _EnvContext:
    def __init__(
        self,
        pod: Obj,
        container: Obj,
        objects: _Objects,
        addresses: PodAddresses,
        node_allocatable: Obj | None,
        mapping: Callable[[str], str],
    ) -> None:
        self.pod = pod
        self.container = container
        self.objects = objects
        self.addresses = addresses
        self.node_allocatable = node_allocatable
        self.mapping = mapping

    async def value_of(self, var: Obj) -> str | None:
        """An env entry's value; None when an optional source is missing (the entry is
        then skipped, leaving any envFrom value of the same name in place)."""
        value = var.get("value")
        if value:
            return expand(str(value), self.mapping)
        source = var.get("valueFrom")
        if not source:
            return ""
        try:
            if source.get("fieldRef") is not None:
                return env_field(self.pod, source["fieldRef"], self.addresses)
            if source.get("resourceFieldRef") is not None:
                return resource_value(
                    source["resourceFieldRef"], self.pod, self.container, self.node_allocatable
                )
        except FieldError as err:
            raise EnvError(str(err)) from err
        if source.get("configMapKeyRef") is not None:
            return await self._key_ref("configmaps", source["configMapKeyRef"])
        if source.get("secretKeyRef") is not None:
            return await self._key_ref("secrets", source["secretKeyRef"])
        return ""

    async def _key_ref(self, resource: str, ref: Obj) -> str | None:
        name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
        optional = bool(ref.get("optional"))
        obj = await self.objects.get(resource, name, optional)
        if obj is None:
            return None
        data = obj.get("data") or {}
        if key not in data:
            if optional:
                return None
            raise self.objects.missing_key(resource, name, key)
        if resource == "secrets":
            return decode_secret_value(data[key]).decode("utf-8", "replace")
        return str(data[key])
