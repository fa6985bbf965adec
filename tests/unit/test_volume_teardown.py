"""Removing a pod's volume directory, and disk and hostPath failures as mount errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from volume_fakes import CONFIG, make_pod, prepare

from pyk8s.kubelet.volumes import VolumeError, remove_pod_dir


async def test_remove_pod_dir_leaves_host_paths(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "keep").write_text("x")
    pod = make_pod(
        {"name": "h", "hostPath": {"path": str(host)}}, {"name": "c", "configMap": {"name": "cfg"}}
    )
    paths = await prepare(tmp_path, pod=pod, objects=CONFIG)
    (paths["c"].parent.parent / "link-to-host").symlink_to(host)
    remove_pod_dir(tmp_path / "pod")
    assert not (tmp_path / "pod").exists()
    assert (host / "keep").read_text() == "x"
    remove_pod_dir(tmp_path / "pod")  # already gone: nothing to do


async def test_remove_pod_dir_refuses_mount_points(tmp_path: Path, monkeypatch) -> None:
    paths = await prepare(tmp_path, {"name": "scratch", "emptyDir": {}})
    (paths["scratch"] / "data").write_text("x")
    real_ismount = os.path.ismount
    monkeypatch.setattr(
        os.path, "ismount", lambda p: str(p) == str(paths["scratch"]) or real_ismount(p)
    )
    with pytest.raises(OSError, match="is a mount point"):
        remove_pod_dir(tmp_path / "pod")
    assert (paths["scratch"] / "data").read_text() == "x"


async def test_disk_errors_are_volume_errors(tmp_path: Path) -> None:
    plugin_dir = tmp_path / "pod" / "volumes" / "kubernetes.io~empty-dir"
    plugin_dir.parent.mkdir(parents=True)
    plugin_dir.write_text("not a directory")
    with pytest.raises(VolumeError) as err:
        await prepare(tmp_path, {"name": "scratch", "emptyDir": {}})
    assert str(err.value).startswith('MountVolume.SetUp failed for volume "scratch" : ')
    assert "Not a directory" in str(err.value)


async def test_host_path_failures_are_mount_failures(tmp_path: Path) -> None:
    source = {"path": str(tmp_path / "absent"), "type": "Directory"}
    with pytest.raises(VolumeError) as err:
        await prepare(tmp_path, {"name": "h", "hostPath": source})
    assert str(err.value) == (
        f'MountVolume.SetUp failed for volume "h" : hostPath {tmp_path / "absent"} doesn\'t exist'
    )
