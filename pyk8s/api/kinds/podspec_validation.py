"""PodSpec validation shared by Pod and pod templates (upstream ValidatePodSpec and
its container, volume, port, env, probe and toleration checks).

Paths are built as strings: `spec.template.spec.containers[0].ports[1].containerPort`.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api.kinds import _names
from pyk8s.api.kinds._util import (
    Obj,
    as_dict,
    as_list,
    field_not_found,
    is_int,
    nonnegative,
    parse_quantity,
    port_num_errors,
    required_detail,
)
from pyk8s.api.kinds.podspec import volume_source_keys
from pyk8s.machinery.errors import (
    Cause,
    field_duplicate,
    field_forbidden,
    field_invalid,
    field_required,
    field_unsupported,
)

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
MESSAGE_POLICIES = ["FallbackToLogsOnError", "File"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
TOLERATION_OPERATORS = ["Equal", "Exists"]
TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"]
MAX_INT32 = 2147483647


def validate_pod_spec(spec: Any, path: str) -> list[Cause]:
    """Everything upstream checks in a PodSpec that a pyk8s cluster can act on."""
    if not isinstance(spec, dict):
        return [field_required(path)]
    errs: list[Cause] = []
    volume_names, vol_errs = _validate_volumes(as_list(spec.get("volumes")), f"{path}.volumes")
    errs += vol_errs
    seen: set[str] = set()
    init = as_list(spec.get("initContainers"))
    for i, ctr in enumerate(init):
        errs += _validate_container(ctr, f"{path}.initContainers[{i}]", volume_names, seen)
    containers = as_list(spec.get("containers"))
    if not containers:
        errs.append(field_required(f"{path}.containers"))
    for i, ctr in enumerate(containers):
        errs += _validate_container(ctr, f"{path}.containers[{i}]", volume_names, seen)
    errs += _validate_enum(spec, "restartPolicy", RESTART_POLICIES, path)
    errs += _validate_enum(spec, "dnsPolicy", DNS_POLICIES, path)
    errs += _validate_deadline(spec.get("activeDeadlineSeconds"), f"{path}.activeDeadlineSeconds")
    errs += _validate_node_selector(as_dict(spec.get("nodeSelector")), f"{path}.nodeSelector")
    errs += validate_tolerations(as_list(spec.get("tolerations")), f"{path}.tolerations")
    if spec.get("serviceAccountName"):
        errs += _names.dns1123_subdomain(spec["serviceAccountName"], f"{path}.serviceAccountName")
    if spec.get("nodeName"):
        errs += _names.dns1123_subdomain(spec["nodeName"], f"{path}.nodeName")
    if spec.get("hostname"):
        errs += _names.dns1123_label(spec["hostname"], f"{path}.hostname")
    if spec.get("subdomain"):
        errs += _names.dns1123_label(spec["subdomain"], f"{path}.subdomain")
    return errs


def _validate_enum(obj: Obj, key: str, allowed: list[str], path: str) -> list[Cause]:
    value = obj.get(key)
    if value in (None, ""):
        return [field_required(f"{path}.{key}")]
    if value not in allowed:
        return [field_unsupported(f"{path}.{key}", value, allowed)]
    return []


def _validate_deadline(value: Any, path: str) -> list[Cause]:
    if value is None:
        return []
    if not is_int(value) or not 1 <= value <= MAX_INT32:
        return [field_invalid(path, value, f"must be between 1 and {MAX_INT32}, inclusive")]
    return []


# --- volumes -------------------------------------------------------------------


def _validate_volumes(volumes: list[Any], path: str) -> tuple[set[str], list[Cause]]:
    names: set[str] = set()
    errs: list[Cause] = []
    for i, vol in enumerate(volumes):
        vpath = f"{path}[{i}]"
        vol = as_dict(vol)
        name = vol.get("name")
        if not name:
            errs.append(field_required(f"{vpath}.name"))
        else:
            errs += _names.dns1123_label(name, f"{vpath}.name")
            if name in names:
                errs.append(field_duplicate(f"{vpath}.name", name))
            names.add(name)
        sources = volume_source_keys(vol)
        if not sources:
            errs.append(required_detail(vpath, "must specify a volume type"))
        elif len(sources) > 1:
            errs.append(
                field_forbidden(f"{vpath}.{sources[1]}", "may not specify more than 1 volume type")
            )
        errs += _validate_volume_source(vol, vpath)
    return names, errs


def _validate_volume_source(vol: Obj, path: str) -> list[Cause]:
    errs: list[Cause] = []
    if isinstance(vol.get("hostPath"), dict) and not vol["hostPath"].get("path"):
        errs.append(field_required(f"{path}.hostPath.path"))
    claim = vol.get("persistentVolumeClaim")
    if isinstance(claim, dict) and not claim.get("claimName"):
        errs.append(field_required(f"{path}.persistentVolumeClaim.claimName"))
    for key in ("configMap", "secret", "downwardAPI", "projected"):
        if isinstance(vol.get(key), dict):
            errs += _validate_mode(vol[key].get("defaultMode"), f"{path}.{key}.defaultMode")
    return errs


def _validate_mode(mode: Any, path: str) -> list[Cause]:
    if mode is not None and (not is_int(mode) or not 0 <= mode <= 0o777):
        return [
            field_invalid(path, mode, "must be a number between 0 and 0777 (octal), both inclusive")
        ]
    return []


# --- containers ----------------------------------------------------------------


def _validate_container(ctr: Any, path: str, volumes: set[str], seen: set[str]) -> list[Cause]:
    ctr = as_dict(ctr)
    errs: list[Cause] = []
    name = ctr.get("name")
    if not name:
        errs.append(field_required(f"{path}.name"))
    else:
        errs += _names.dns1123_label(name, f"{path}.name")
        if name in seen:
            errs.append(field_duplicate(f"{path}.name", name))
        seen.add(name)
    image = ctr.get("image")
    if not image:
        errs.append(field_required(f"{path}.image"))
    elif isinstance(image, str) and image != image.strip():
        errs.append(
            field_invalid(f"{path}.image", image, "must not have leading or trailing whitespace")
        )
    errs += _validate_enum(ctr, "imagePullPolicy", PULL_POLICIES, path)
    errs += _validate_enum(ctr, "terminationMessagePolicy", MESSAGE_POLICIES, path)
    errs += _validate_ports(as_list(ctr.get("ports")), f"{path}.ports")
    errs += _validate_env(as_list(ctr.get("env")), f"{path}.env")
    errs += _validate_mounts(as_list(ctr.get("volumeMounts")), f"{path}.volumeMounts", volumes)
    errs += validate_resources(as_dict(ctr.get("resources")), f"{path}.resources")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(ctr.get(key), dict):
            errs += _validate_probe(ctr[key], f"{path}.{key}", key != "readinessProbe")
    return errs


def _validate_ports(ports: list[Any], path: str) -> list[Cause]:
    errs: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        ppath = f"{path}[{i}]"
        port = as_dict(port)
        if port.get("name"):
            errs += _names.port_name(port["name"], f"{ppath}.name")
            if port["name"] in names:
                errs.append(field_duplicate(f"{ppath}.name", port["name"]))
            names.add(port["name"])
        if not port.get("containerPort"):
            errs.append(field_required(f"{ppath}.containerPort"))
        else:
            errs += port_num_errors(port["containerPort"], f"{ppath}.containerPort")
        if port.get("hostPort"):
            errs += port_num_errors(port["hostPort"], f"{ppath}.hostPort")
        errs += _validate_enum(port, "protocol", PROTOCOLS, ppath)
    return errs


def _validate_env(env: list[Any], path: str) -> list[Cause]:
    errs: list[Cause] = []
    for i, var in enumerate(env):
        epath = f"{path}[{i}]"
        var = as_dict(var)
        name = var.get("name")
        if not name:
            errs.append(field_required(f"{epath}.name"))
        else:
            errs += _names.env_var_name(name, f"{epath}.name")
        source = var.get("valueFrom")
        if isinstance(source, dict):
            errs += _validate_env_source(var, source, f"{epath}.valueFrom")
    return errs


def _validate_env_source(var: Obj, source: Obj, path: str) -> list[Cause]:
    kinds = [
        k
        for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef")
        if source.get(k) is not None
    ]
    if not kinds:
        return [
            required_detail(
                path,
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            )
        ]
    if len(kinds) > 1:
        return [field_invalid(path, "", "may not have more than one field specified at a time")]
    if var.get("value"):
        return [field_invalid(path, "", "may not be specified when `value` is not empty")]
    ref = as_dict(source[kinds[0]])
    if kinds[0] == "fieldRef" and not ref.get("fieldPath"):
        return [field_required(f"{path}.fieldRef.fieldPath")]
    if kinds[0] in ("configMapKeyRef", "secretKeyRef") and not ref.get("key"):
        return [field_required(f"{path}.{kinds[0]}.key")]
    return []


def _validate_mounts(mounts: list[Any], path: str, volumes: set[str]) -> list[Cause]:
    errs: list[Cause] = []
    paths: set[str] = set()
    for i, mount in enumerate(mounts):
        mpath = f"{path}[{i}]"
        mount = as_dict(mount)
        name = mount.get("name")
        if not name:
            errs.append(field_required(f"{mpath}.name"))
        elif name not in volumes:
            errs.append(field_not_found(f"{mpath}.name", name))
        mount_path = mount.get("mountPath")
        if not mount_path:
            errs.append(field_required(f"{mpath}.mountPath"))
        elif mount_path in paths:
            errs.append(field_invalid(f"{mpath}.mountPath", mount_path, "must be unique"))
        else:
            paths.add(mount_path)
    return errs


def validate_resources(resources: Obj, path: str) -> list[Cause]:
    """Quantities are non-negative and every request is at most its limit."""
    errs: list[Cause] = []
    limits = as_dict(resources.get("limits"))
    requests = as_dict(resources.get("requests"))
    for key, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            q = parse_quantity(value)
            if q is not None and q < 0:
                errs.append(
                    field_invalid(
                        f"{path}.{key}[{name}]", value, "must be greater than or equal to 0"
                    )
                )
    for name, value in requests.items():
        req, lim = parse_quantity(value), parse_quantity(limits.get(name))
        if name in limits and req is not None and lim is not None and req > lim:
            errs.append(
                field_invalid(
                    f"{path}.requests",
                    value,
                    f"must be less than or equal to {name} limit of {limits[name]}",
                )
            )
    return errs


def _validate_probe(probe: Obj, path: str, success_must_be_one: bool) -> list[Cause]:
    errs: list[Cause] = []
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        errs += nonnegative(probe.get(key), f"{path}.{key}")
    if success_must_be_one and probe.get("successThreshold") not in (None, 1):
        errs.append(
            field_invalid(f"{path}.successThreshold", probe["successThreshold"], "must be 1")
        )
    handlers = [k for k in ("exec", "httpGet", "tcpSocket", "grpc") if probe.get(k) is not None]
    if not handlers:
        errs.append(required_detail(path, "must specify a handler type"))
    elif len(handlers) > 1:
        errs.append(
            field_forbidden(f"{path}.{handlers[1]}", "may not specify more than 1 handler type")
        )
    for key in ("httpGet", "tcpSocket"):
        port = as_dict(probe.get(key)).get("port")
        if probe.get(key) is not None:
            errs += _validate_named_or_number_port(port, f"{path}.{key}.port")
    return errs


def _validate_named_or_number_port(port: Any, path: str) -> list[Cause]:
    if is_int(port):
        return port_num_errors(port, path)
    if isinstance(port, str) and port:
        return _names.port_name(port, path)
    return [field_required(path)]


# --- scheduling ------------------------------------------------------------------


def _validate_node_selector(selector: Obj, path: str) -> list[Cause]:
    errs: list[Cause] = []
    for key, value in selector.items():
        errs += _names.label_key(key, path)
        errs += _names.label_value(value, f"{path}[{key}]")
    return errs


def validate_tolerations(tolerations: list[Any], path: str) -> list[Cause]:
    errs: list[Cause] = []
    for i, tol in enumerate(tolerations):
        tpath = f"{path}[{i}]"
        tol = as_dict(tol)
        key, op = tol.get("key", ""), tol.get("operator") or "Equal"
        if key:
            errs += _names.label_key(key, f"{tpath}.key")
        if not key and op != "Exists":
            errs.append(
                field_invalid(
                    f"{tpath}.operator",
                    op,
                    'operator must be Exists when `key` is empty, which means "match all values and all keys"',
                )
            )
        if tol.get("tolerationSeconds") is not None and tol.get("effect") != "NoExecute":
            errs.append(
                field_invalid(
                    f"{tpath}.effect",
                    tol.get("effect", ""),
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if op not in TOLERATION_OPERATORS:
            errs.append(field_unsupported(f"{tpath}.operator", op, TOLERATION_OPERATORS))
        elif op == "Exists" and tol.get("value"):
            errs.append(
                field_invalid(
                    f"{tpath}.operator",
                    tol["value"],
                    "value must be empty when `operator` is 'Exists'",
                )
            )
        if tol.get("effect") and tol["effect"] not in TAINT_EFFECTS:
            errs.append(field_unsupported(f"{tpath}.effect", tol["effect"], TAINT_EFFECTS))
    return errs
