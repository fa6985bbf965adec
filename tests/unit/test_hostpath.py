"""hostPath volumes: type checks and creation, with upstream's messages."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from pyk8s.kubelet.hostpath import HostPathError, set_up_host_path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def host_path(path: Path | str, kind: str | None) -> Path:
    source = {"path": str(path), **({"type": kind} if kind is not None else {})}
    return set_up_host_path(source)


def test_host_path_create_types(tmp_path: Path) -> None:
    made = tmp_path / "host" / "deep" / "dir"
    assert host_path(made, "DirectoryOrCreate") == made and made.is_dir()
    assert mode_of(made) & 0o755 == 0o755
    file = tmp_path / "host" / "file.txt"
    assert host_path(file, "FileOrCreate") == file and file.is_file()
    assert host_path(file, "File") == file
    assert host_path(made, "Directory") == made
    assert host_path(tmp_path / "absent", "") == tmp_path / "absent"
    assert host_path(tmp_path / "absent", None) == tmp_path / "absent"
    assert host_path("/dev/null", "CharDevice") == Path("/dev/null")


def test_host_path_socket(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
        assert host_path(path, "Socket") == path
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("target", "kind", "detail"),
    [
        ("file", "Directory", "hostPath type check failed: {p} is not a directory, it's a File"),
        ("dir", "File", "hostPath type check failed: {p} is not a file, it's a Directory"),
        (
            "file",
            "DirectoryOrCreate",
            "hostPath type check failed: {p} is not a directory, it's a File",
        ),
        ("dir", "FileOrCreate", "hostPath type check failed: {p} is not a file, it's a Directory"),
        ("dir", "Socket", "hostPath type check failed: {p} is not a socket file, it's a Directory"),
        (
            "file",
            "CharDevice",
            "hostPath type check failed: {p} is not a character device, it's a File",
        ),
        (
            "/dev/null",
            "BlockDevice",
            "hostPath type check failed: {p} is not a block device, it's a CharDevice",
        ),
        ("absent", "Directory", "hostPath {p} doesn't exist"),
        ("absent", "Socket", "hostPath {p} doesn't exist"),
        ("dir", "Pipe", "Pipe is an invalid volume type"),
        ("absent/x", "FileOrCreate", "open {p}: no such file or directory"),
    ],
)
def test_host_path_type_errors(tmp_path: Path, target: str, kind: str, detail: str) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    path = target if target.startswith("/") else str(tmp_path / target)
    with pytest.raises(HostPathError) as err:
        host_path(path, kind)
    assert str(err.value) == detail.format(p=path)


def test_host_path_backsteps_refused(tmp_path: Path) -> None:
    with pytest.raises(HostPathError) as err:
        host_path("/var/../etc", None)
    assert str(err.value) == "invalid HostPath `/var/../etc`: must not contain '..'"
