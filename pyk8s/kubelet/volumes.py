"""A pod's volumes on one node, as the kubelet sets them up: files and directories
on the host that become the CRI mounts of the pod's containers.

Layout, as upstream's (/var/lib/kubelet/pods/<uid>/...), under the pod's directory:

    volumes/kubernetes.io~empty-dir/<name>/      emptyDir
    volumes/kubernetes.io~configmap/<name>/      configMap   } written by the atomic
    volumes/kubernetes.io~secret/<name>/         secret      } writer: a versioned
    volumes/kubernetes.io~downward-api/<name>/   downwardAPI } directory, ..data and
    volumes/kubernetes.io~projected/<name>/      projected   } one link per file
    etc-hosts                                    the managed /etc/hosts (podfiles.py)
    containers/<container>/<id>                  termination message files (podfiles.py)

hostPath volumes are the host path itself. Nothing is mounted on the host: upstream
backs emptyDir{medium: Memory}, secret and projected volumes with tmpfs; here they
are plain directories (no memory accounting, the data sits on the node's disk), so
removing a pod's directory is all the teardown there is.

Errors: prepare_volumes raises VolumeError (upstream posts a FailedMount event with
the message and retries; the containers wait in ContainerCreating);
container_mounts raises MountError, a VolumeError that upstream reports as
CreateContainerConfigError.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyk8s.kubelet.atomicwriter import FileProjection, PayloadError, write_atomic
from pyk8s.kubelet.downward import FieldError, metadata_field, resource_value
from pyk8s.kubelet.hostpath import HostPathError, set_up_host_path
from pyk8s.kubelet.podenv import ObjectLookup, decode_secret_value, expand
from pyk8s.kubelet.podfiles import (
    read_cri_log_tail,
    read_termination_message,
    termination_log,
    write_etc_hosts,
)

__all__ = [
    "MountError",
    "VolumeError",
    "container_mounts",
    "prepare_volumes",
    "read_cri_log_tail",
    "read_termination_message",
    "remove_pod_dir",
    "termination_log",
    "volume_kind",
    "write_etc_hosts",
]

Obj = dict[str, Any]

PLUGIN_DIRS = {
    "emptyDir": "kubernetes.io~empty-dir",
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
    "downwardAPI": "kubernetes.io~downward-api",
    "projected": "kubernetes.io~projected",
}
# Volumes whose plugin says ReadOnly: their mounts are read-only whatever the pod asks.
READ_ONLY_KINDS = frozenset({"configMap", "secret", "downwardAPI", "projected"})
DEFAULT_MODE = 0o644  # the API's default defaultMode for every projection
PROPAGATION = {"None": 0, "HostToContainer": 1, "Bidirectional": 2}  # CRI MountPropagation


class VolumeError(Exception):
    """A pod's volumes cannot be set up. str() is the first failure as upstream's
    FailedMount event says it (`MountVolume.SetUp failed for volume "x" : ...`);
    `messages` holds one such line per failed volume."""

    reason = "FailedMount"

    def __init__(self, message: str, messages: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.messages = list(messages) or [message]


class MountError(VolumeError):
    """A container's volumeMounts cannot be made (CreateContainerConfigError)."""

    reason = "CreateContainerConfigError"


class _Failure(Exception):
    """One volume's SetUp failure, in upstream's words."""


def volume_kind(volume: Obj) -> str:
    """The volume source's field name: "emptyDir", "hostPath", "configMap", ..."""
    for key, value in volume.items():
        if key != "name" and value is not None:
            return key
    return ""


# ------------------------------------------------------------------------ set-up


async def prepare_volumes(
    pod: Obj,
    pod_dir: Path,
    lookup: ObjectLookup,
    *,
    node_name: str,
    node_allocatable: Obj | None = None,
) -> dict[str, Path]:
    """Set up every volume of the pod; returns volume name -> host path. Calling it
    again brings configMap/secret/downwardAPI/projected contents up to date (one
    atomic swap per changed volume). Raises VolumeError after trying every volume.
    node_allocatable is what unset limits read as in resourceFieldRef items;
    node_name is not needed yet (it will bind service account tokens to the node)."""
    await asyncio.to_thread(make_pod_dirs, pod_dir)
    setup = _SetUp(pod, pod_dir, lookup, node_allocatable)
    paths: dict[str, Path] = {}
    failures: list[str] = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = str(volume.get("name") or "")
        try:
            paths[name] = await setup.volume(volume)
        except _Failure as err:
            failures.append(f'MountVolume.SetUp failed for volume "{name}" : {err}')
    if failures:
        raise VolumeError(failures[0], failures)
    return paths


def make_pod_dirs(pod_dir: Path) -> None:
    for path in (pod_dir, pod_dir / "volumes", pod_dir / "plugins"):
        path.mkdir(mode=0o750, parents=True, exist_ok=True)


class _SetUp:
    def __init__(
        self,
        pod: Obj,
        pod_dir: Path,
        lookup: ObjectLookup,
        node_allocatable: Obj | None,
    ) -> None:
        self.pod = pod
        self.pod_dir = pod_dir
        self.lookup = lookup
        self.node_allocatable = node_allocatable
        self.namespace = str((pod.get("metadata") or {}).get("namespace") or "default")

    async def volume(self, volume: Obj) -> Path:
        try:
            return await self._set_up(volume)
        except OSError as err:  # the node's disk: reported like any other failure
            raise _Failure(str(err)) from err

    async def _set_up(self, volume: Obj) -> Path:
        kind = volume_kind(volume)
        source = volume.get(kind) or {}
        if kind == "hostPath":
            try:
                return await asyncio.to_thread(set_up_host_path, source)
            except HostPathError as err:
                raise _Failure(str(err)) from err
        if kind not in PLUGIN_DIRS:
            raise _Failure(f"no volume plugin matched (unsupported volume type {kind or '<none>'})")
        path = self.pod_dir / "volumes" / PLUGIN_DIRS[kind] / str(volume.get("name"))
        if kind == "emptyDir":
            await asyncio.to_thread(_make_empty_dir, path)
            return path
        payload = await self.payload(kind, source)
        try:
            await asyncio.to_thread(write_atomic, path, payload)
        except PayloadError as err:
            raise _Failure(str(err)) from err
        return path

    async def payload(self, kind: str, source: Obj) -> dict[str, FileProjection]:
        mode = _mode(source.get("defaultMode"), DEFAULT_MODE)
        if kind == "configMap":
            return await self._object_files(
                "configmaps", source, str(source.get("name") or ""), mode
            )
        if kind == "secret":
            return await self._object_files(
                "secrets", source, str(source.get("secretName") or ""), mode
            )
        if kind == "downwardAPI":
            payload, errors = self._downward_files(source.get("items") or [], mode)
            if errors:
                raise _Failure(_aggregate(errors))
            return payload
        return await self._projected_files(source.get("sources") or [], mode)

    async def _object_files(
        self, resource: str, source: Obj, name: str, mode: int
    ) -> dict[str, FileProjection]:
        optional = bool(source.get("optional"))
        data = await self._object_data(resource, name, optional)
        missing = (
            "configmap references non-existent config key: {}"
            if resource == "configmaps"
            else "references non-existent secret key: {}"
        )
        return make_payload(source.get("items"), data, mode, optional, missing)

    async def _object_data(self, resource: str, name: str, optional: bool) -> dict[str, bytes]:
        try:
            obj = await self.lookup.get(resource, self.namespace, name)
        except Exception as err:  # noqa: BLE001 - reported in the FailedMount event
            raise _Failure(str(err) or type(err).__name__) from err
        if obj is None:
            if optional:
                return {}
            raise _Failure(
                f'{"configmap" if resource == "configmaps" else "secret"} "{name}" not found'
            )
        if resource == "secrets":
            return {str(k): decode_secret_value(v) for k, v in (obj.get("data") or {}).items()}
        data = {str(k): str(v).encode() for k, v in (obj.get("data") or {}).items()}
        for key, value in (obj.get("binaryData") or {}).items():
            data[str(key)] = decode_secret_value(value)
        return data

    def _downward_files(
        self, items: list[Obj], default_mode: int
    ) -> tuple[dict[str, FileProjection], list[str]]:
        payload: dict[str, FileProjection] = {}
        errors: list[str] = []
        for item in items:
            data = b""
            try:
                if item.get("fieldRef") is not None:
                    data = metadata_field(
                        self.pod, str(item["fieldRef"].get("fieldPath") or "")
                    ).encode()
                elif item.get("resourceFieldRef") is not None:
                    value = resource_value(
                        item["resourceFieldRef"], self.pod, None, self.node_allocatable
                    )
                    data = value.encode()
            except FieldError as err:
                errors.append(str(err))
            path = os.path.normpath(str(item.get("path") or ""))
            payload[path] = FileProjection(data, _mode(item.get("mode"), default_mode))
        return payload, errors

    async def _projected_files(
        self, sources: list[Obj], default_mode: int
    ) -> dict[str, FileProjection]:
        payload: dict[str, FileProjection] = {}
        errors: list[str] = []
        for source in sources:
            try:
                payload.update(await self._projection(source, default_mode, errors))
            except _Failure as err:
                errors.append(str(err))
        if errors:
            raise _Failure(_aggregate(errors))
        return payload

    async def _projection(
        self, source: Obj, mode: int, errors: list[str]
    ) -> dict[str, FileProjection]:
        if source.get("configMap") is not None:
            src = source["configMap"]
            return await self._object_files("configmaps", src, str(src.get("name") or ""), mode)
        if source.get("secret") is not None:
            src = source["secret"]
            return await self._object_files("secrets", src, str(src.get("name") or ""), mode)
        if source.get("downwardAPI") is not None:
            files, errs = self._downward_files(source["downwardAPI"].get("items") or [], mode)
            errors.extend(errs)
            return files
        if source.get("serviceAccountToken") is not None:
            # The API server does not issue tokens (TokenRequest) yet: the file exists,
            # empty, so images that open it start; authenticating with it fails.
            path = str(source["serviceAccountToken"].get("path") or "token")
            return {path: FileProjection(b"", mode)}
        kind = next((k for k, v in source.items() if v is not None), "<none>")
        raise _Failure(f"unsupported projected volume source {kind}")


def make_payload(
    items: list[Obj] | None,
    data: dict[str, bytes],
    default_mode: int,
    optional: bool,
    missing_key: str,
) -> dict[str, FileProjection]:
    """configMap/secret files: every key, or the listed items (key -> path, mode)."""
    if not items:
        return {key: FileProjection(value, default_mode) for key, value in data.items()}
    payload: dict[str, FileProjection] = {}
    for item in items:
        key = str(item.get("key") or "")
        if key not in data:
            if optional:
                continue
            raise _Failure(missing_key.format(key))
        payload[str(item.get("path") or "")] = FileProjection(
            data[key], _mode(item.get("mode"), default_mode)
        )
    return payload


def _mode(value: Any, default: int) -> int:
    return default if value is None else int(value)


def _aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate's text: one error as itself, several as [a, b]."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def _make_empty_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)  # world-writable whatever the umask, as upstream's emptyDir


# ------------------------------------------------------------------------- mounts


def container_mounts(
    pod: Obj,
    container: Obj,
    volume_paths: dict[str, Path],
    *,
    env: Sequence[tuple[str, str]] | None = None,
    etc_hosts: Path | None = None,
    termination: tuple[Path, str] | None = None,
) -> list[dict]:
    """The container's CRI Mounts (api.proto field names): one per volumeMount, then
    the managed /etc/hosts (unless the container mounts something there) and the
    termination message file when given. `env` expands subPathExpr. Raises MountError."""
    kinds = {
        str(v.get("name")): volume_kind(v) for v in (pod.get("spec") or {}).get("volumes") or []
    }
    cname = str(container.get("name") or "")
    mounts = [
        _mount(vm, kinds, volume_paths, cname, env) for vm in container.get("volumeMounts") or []
    ]
    if etc_hosts is not None and not any(
        vm.get("mountPath") == "/etc/hosts" for vm in container.get("volumeMounts") or []
    ):
        mounts.append(cri_mount("/etc/hosts", etc_hosts))
    if termination is not None:
        mounts.append(cri_mount(termination[1], termination[0]))
    return mounts


def cri_mount(container_path: str, host_path: Path | str, readonly: bool = False) -> dict:
    return {
        "container_path": container_path,
        "host_path": str(host_path),
        "readonly": readonly,
        "propagation": 0,
    }


def _mount(
    vm: Obj,
    kinds: dict[str, str],
    volume_paths: dict[str, Path],
    cname: str,
    env: Sequence[tuple[str, str]] | None,
) -> dict:
    name = str(vm.get("name") or "")
    host = volume_paths.get(name)
    if host is None:
        raise MountError(f'cannot find volume "{name}" to mount into container "{cname}"')
    sub = _sub_path(vm, env)
    if sub:
        host = _prepare_sub_path(Path(host), sub, name, cname)
    mode = vm.get("mountPropagation") or None
    if mode is not None and mode not in PROPAGATION:
        raise MountError(f'invalid MountPropagation mode: "{mode}"')
    target = str(vm.get("mountPath") or "")
    return {
        "container_path": target if target.startswith("/") else os.path.normpath("/" + target),
        "host_path": str(host),
        "readonly": bool(vm.get("readOnly")) or kinds.get(name) in READ_ONLY_KINDS,
        "propagation": PROPAGATION.get(mode or "None", 0),
    }


def _sub_path(vm: Obj, env: Sequence[tuple[str, str]] | None) -> str:
    expr = vm.get("subPathExpr")
    if expr:
        values = dict(env or [])
        missing: set[str] = set()

        def value_of(key: str) -> str:
            if not values.get(key):
                missing.add(key)
            return values.get(key, "")

        sub = expand(str(expr), value_of)
        if missing:
            raise MountError(f"missing value for {', '.join(sorted(missing))}")
    else:
        sub = str(vm.get("subPath") or "")
    if sub.startswith("/"):
        raise MountError(f"error SubPath `{sub}` must not be an absolute path")
    if ".." in sub.split("/"):
        raise MountError(f"unable to provision SubPath `{sub}`: must not contain '..'")
    return sub


def _prepare_sub_path(volume: Path, sub: str, name: str, cname: str) -> Path:
    """The resolved host path of a subPath, created as a directory when missing.
    Symlinks inside the volume may not lead out of it; the path is resolved now,
    so a later change of a link inside the volume does not move the mount."""
    root = os.path.realpath(volume)
    if not os.path.exists(volume / sub):
        try:
            _make_sub_dirs(root, sub, os.stat(volume).st_mode & 0o7777)
        except (OSError, _Failure) as err:
            raise MountError(
                f'failed to create subPath directory for volumeMount "{name}" of container "{cname}"'
            ) from err
    real = os.path.realpath(volume / sub)
    if not _within(real, root):
        raise MountError(
            f'failed to prepare subPath for volumeMount "{name}" of container "{cname}"'
        )
    return Path(real)


def _make_sub_dirs(root: str, sub: str, mode: int) -> None:
    current = root
    for part in (p for p in sub.split("/") if p not in ("", ".")):
        nxt = os.path.join(current, part)
        if os.path.lexists(nxt):
            nxt = os.path.realpath(nxt)
            if not _within(nxt, root):
                raise _Failure(f"{nxt} is outside of the volume")
        else:
            os.mkdir(nxt, mode)
            os.chmod(nxt, mode)
        current = nxt


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


# ----------------------------------------------------------------------- teardown


def remove_pod_dir(pod_dir: Path) -> None:
    """Remove the pod's directory (volumes, etc-hosts, termination files). Refuses,
    with OSError, when anything below it is a mount point: removing through a mount
    would delete what it shows. Nothing here mounts, so that means someone else did."""
    if not os.path.lexists(pod_dir):
        return
    for root, dirs, _files in os.walk(pod_dir):
        for d in dirs:
            full = os.path.join(root, d)
            if os.path.ismount(full):
                raise OSError(f"refusing to remove {pod_dir}: {full} is a mount point")
    shutil.rmtree(pod_dir, ignore_errors=True)
