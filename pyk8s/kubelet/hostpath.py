"""hostPath volumes: the host path itself, checked (or created) as the volume's
`type` asks, with upstream's messages (pkg/volume/hostpath)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

_HOST_PATH_TYPES = {
    "Directory": "directory",
    "File": "file",
    "Socket": "socket file",
    "CharDevice": "character device",
    "BlockDevice": "block device",
}


class HostPathError(Exception):
    """The path fails its type check (upstream's text)."""


def set_up_host_path(source: dict[str, Any]) -> Path:
    """Check (or create) a hostPath volume's path as its `type` asks."""
    path = str(source.get("path") or "")
    if ".." in path.split("/"):
        raise HostPathError(f"invalid HostPath `{path}`: must not contain '..'")
    kind = str(source.get("type") or "")
    if kind:
        check_host_path_type(path, kind)
    return Path(path)


def check_host_path_type(path: str, kind: str) -> None:
    if kind == "DirectoryOrCreate":
        if not os.path.exists(path):
            _go_call("mkdir", path, lambda: os.makedirs(path, 0o755, exist_ok=True))
            return
        kind = "Directory"
    elif kind == "FileOrCreate":
        if not os.path.exists(path):
            _go_call("open", path, lambda: os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o644)))
            return
        kind = "File"
    if kind not in _HOST_PATH_TYPES:
        raise HostPathError(f"{kind} is an invalid volume type")
    description = _HOST_PATH_TYPES[kind]
    if not os.path.exists(path):
        raise HostPathError(f"hostPath {path} doesn't exist")
    actual = host_file_type(path)
    if actual is None:
        raise HostPathError(
            f"hostPath type check failed, {path} is not a {description}, unable to determine "
            "its type: only recognise file, directory, socket, block device and character device"
        )
    if actual != kind:
        raise HostPathError(
            f"hostPath type check failed: {path} is not a {description}, it's a {actual}"
        )


def host_file_type(path: str) -> str | None:
    mode = os.stat(path).st_mode
    for test, name in (
        (stat.S_ISSOCK, "Socket"),
        (stat.S_ISBLK, "BlockDevice"),
        (stat.S_ISCHR, "CharDevice"),
        (stat.S_ISDIR, "Directory"),
        (stat.S_ISREG, "File"),
    ):
        if test(mode):
            return name
    return None


def _go_call(op: str, path: str, call: Callable[[], Any]) -> None:
    """Run a file operation, failing with Go's `op path: reason` text."""
    try:
        call()
    except FileExistsError:
        return
    except OSError as err:
        reason = (err.strerror or str(err)).lower()
        raise HostPathError(f"{op} {path}: {reason}") from err
