"""Files of configMap, secret, downwardAPI and projected volumes, written as the
kubelet's AtomicWriter writes them, so an update is one atomic rename:

    <volume>/..2024_01_02_15_04_05.123456789/   the data, one directory per version
    <volume>/..data -> ..2024_01_02_15_04_05.123456789
    <volume>/key    -> ..data/key                one link per top-level name

A reader following `key` sees either the old or the new version, never a mix.
Names starting with `..` are reserved for this layout.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = "..data"
NEW_DATA_DIR = "..data_tmp"
MAX_FILE_NAME = 255
MAX_PATH = 4096


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int


class PayloadError(ValueError):
    """A payload path the writer refuses (upstream's "invalid path: ..." text)."""


def validate_path(path: str) -> None:
    if path == "":
        raise PayloadError(f'invalid path: must not be empty: "{path}"')
    if path.startswith("/"):
        raise PayloadError(f"invalid path: must be relative path: {path}")
    if len(path) > MAX_PATH:
        raise PayloadError(f"invalid path: must be less than or equal to {MAX_PATH} characters")
    items = path.split("/")
    for item in items:
        if item == "..":
            raise PayloadError(f"invalid path: must not contain '..': {path}")
        if len(item) > MAX_FILE_NAME:
            raise PayloadError(
                f"invalid path: filenames must be less than or equal to {MAX_FILE_NAME} characters"
            )
    if items[0].startswith("..") and len(items[0]) > 2:
        raise PayloadError(f"invalid path: must not start with '..': {path}")


def write_atomic(target: Path, payload: dict[str, FileProjection]) -> bool:
    """Project `payload` (relative path -> content) into `target`, replacing what an
    earlier call wrote. Returns False when nothing changed (no new version written)."""
    clean = {}
    for path, projection in payload.items():
        validate_path(path)
        clean[os.path.normpath(path)] = projection
    target.mkdir(parents=True, exist_ok=True)
    data_link = target / DATA_DIR
    old = _readlink(data_link)
    stale: set[str] = set()
    if old:
        stale = _paths_to_remove(clean, target / old)
        if not stale and not _changed(clean, target / old):
            return False
    ts_dir = _new_version_dir(target)
    try:
        _write_files(ts_dir, clean)
        _link_visible(target, clean)
        tmp_link = target / NEW_DATA_DIR
        with contextlib.suppress(FileNotFoundError):
            tmp_link.unlink()
        tmp_link.symlink_to(ts_dir.name)
        os.replace(tmp_link, data_link)  # the atomic step
    except BaseException:
        shutil.rmtree(ts_dir, ignore_errors=True)
        raise
    for path in stale:
        if "/" not in path:  # only links in the volume's root are ours to prune
            with contextlib.suppress(FileNotFoundError):
                (target / path).unlink()
    if old:
        shutil.rmtree(target / old, ignore_errors=True)
    return True


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _changed(payload: dict[str, FileProjection], old_dir: Path) -> bool:
    for path, projection in payload.items():
        try:
            st = (old_dir / path).lstat()
            if (st.st_mode & 0o7777) != (projection.mode & 0o7777):
                return True
            if (old_dir / path).read_bytes() != projection.data:
                return True
        except OSError:
            return True
    return False


def _paths_to_remove(payload: dict[str, FileProjection], old_dir: Path) -> set[str]:
    """Paths of the previous version that the new payload no longer has."""
    current: set[str] = set()
    for root, dirs, files in os.walk(old_dir):
        rel = os.path.relpath(root, old_dir)
        for name in dirs + files:
            current.add(name if rel == "." else f"{rel}/{name}")
    wanted: set[str] = set()
    for path in payload:
        parts = path.split("/")
        wanted.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return current - wanted


def _new_version_dir(target: Path) -> Path:
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    while True:
        path = target / f"{stamp}{random.randrange(10**9):09d}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        # 0755 whatever the umask: group and others must be able to walk the tree.
        path.chmod(0o755)
        return path


def _write_files(ts_dir: Path, payload: dict[str, FileProjection]) -> None:
    for path, projection in payload.items():
        full = ts_dir / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_bytes(projection.data)
        # The mode asked for, not mode & ~umask.
        full.chmod(projection.mode & 0o7777)


def _link_visible(target: Path, payload: dict[str, FileProjection]) -> None:
    for path in payload:
        top = path.split("/", 1)[0]
        link = target / top
        if not os.path.lexists(link):
            link.symlink_to(f"{DATA_DIR}/{top}")
