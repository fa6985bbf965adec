"""The atomic writer behind configMap, secret, downwardAPI and projected volumes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pyk8s.kubelet.atomicwriter import FileProjection, PayloadError, write_atomic


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_first_write_layout(tmp_path: Path) -> None:
    assert write_atomic(
        tmp_path / "v", {"a": FileProjection(b"1", 0o644), "d/b": FileProjection(b"2", 0o600)}
    )
    vol = tmp_path / "v"
    version = os.readlink(vol / "..data")
    assert version.startswith("..") and (vol / version).is_dir() and mode_of(vol / version) == 0o755
    assert os.readlink(vol / "a") == "..data/a" and os.readlink(vol / "d") == "..data/d"
    assert (vol / "d" / "b").read_bytes() == b"2" and mode_of(vol / version / "d" / "b") == 0o600
    assert not (vol / "..data_tmp").exists()


def test_writer_rewrites_when_only_the_mode_changes(tmp_path: Path) -> None:
    assert write_atomic(tmp_path, {"f": FileProjection(b"x", 0o644)})
    assert not write_atomic(tmp_path, {"f": FileProjection(b"x", 0o644)})
    assert write_atomic(tmp_path, {"f": FileProjection(b"x", 0o400)})
    assert mode_of(tmp_path / "..data" / "f") == 0o400


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/etc/passwd", "invalid path: must be relative path: /etc/passwd"),
        ("a/../../x", "invalid path: must not contain '..': a/../../x"),
        ("..data", "invalid path: must not start with '..': ..data"),
        ("", 'invalid path: must not be empty: ""'),
    ],
)
def test_writer_refuses_paths(tmp_path: Path, path: str, message: str) -> None:
    with pytest.raises(PayloadError) as err:
        write_atomic(tmp_path / "v", {path: FileProjection(b"", 0o644)})
    assert str(err.value) == message
