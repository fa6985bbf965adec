"""Pod volumes on the node (volumes, atomicwriter, hostpath) and container mounts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from volume_fakes import CONFIG, b64, make_pod, mode_of, prepare, visible

from pyk8s.kubelet.volumes import (
    MountError,
    VolumeError,
    container_mounts,
)

# ------------------------------------------------------------------------ layout


async def test_empty_dir_layout_and_mode(tmp_path: Path) -> None:
    paths = await prepare(tmp_path, {"name": "scratch", "emptyDir": {}})
    expected = tmp_path / "pod" / "volumes" / "kubernetes.io~empty-dir" / "scratch"
    assert paths == {"scratch": expected}
    assert expected.is_dir() and mode_of(expected) == 0o777
    assert mode_of(tmp_path / "pod") == 0o750


async def test_memory_medium_is_a_plain_directory(tmp_path: Path) -> None:
    paths = await prepare(tmp_path, {"name": "shm", "emptyDir": {"medium": "Memory"}})
    assert paths["shm"].is_dir() and not os.path.ismount(paths["shm"])


async def test_config_map_atomic_writer_layout(tmp_path: Path) -> None:
    paths = await prepare(tmp_path, {"name": "conf", "configMap": {"name": "cfg"}}, objects=CONFIG)
    vol = paths["conf"]
    assert vol == tmp_path / "pod" / "volumes" / "kubernetes.io~configmap" / "conf"
    data_target = os.readlink(vol / "..data")
    assert data_target.startswith("..") and (vol / data_target).is_dir()
    assert not (vol / data_target).is_symlink()
    assert mode_of(vol / data_target) == 0o755
    assert visible(vol) == {"a.conf": "..data/a.conf", "b.conf": "..data/b.conf"}
    assert (vol / "a.conf").read_text() == "A=1\n"
    assert mode_of(vol / data_target / "a.conf") == 0o644
    hidden = sorted(p.name for p in vol.iterdir() if p.name.startswith(".."))
    assert hidden == sorted(["..data", data_target])


async def test_items_paths_and_modes(tmp_path: Path) -> None:
    source = {
        "name": "cfg",
        "defaultMode": 0o440,
        "items": [
            {"key": "a.conf", "path": "etc/app/a.conf", "mode": 0o600},
            {"key": "b.conf", "path": "b"},
        ],
    }
    vol = (await prepare(tmp_path, {"name": "conf", "configMap": source}, objects=CONFIG))["conf"]
    assert visible(vol) == {"etc": "..data/etc", "b": "..data/b"}
    assert (vol / "etc" / "app" / "a.conf").read_text() == "A=1\n"
    assert mode_of(vol / "..data" / "etc" / "app" / "a.conf") == 0o600
    assert mode_of(vol / "..data" / "b") == 0o440


async def test_binary_data(tmp_path: Path) -> None:
    objects = {
        ("configmaps", "default", "cfg"): {
            "data": {"t": "x"},
            "binaryData": {"blob": b64(b"\x00\xff")},
        }
    }
    vol = (await prepare(tmp_path, {"name": "v", "configMap": {"name": "cfg"}}, objects=objects))[
        "v"
    ]
    assert (vol / "blob").read_bytes() == b"\x00\xff" and (vol / "t").read_text() == "x"


async def test_update_swaps_atomically_and_prunes(tmp_path: Path) -> None:
    volume = {"name": "conf", "configMap": {"name": "cfg"}}
    vol = (await prepare(tmp_path, volume, objects=CONFIG))["conf"]
    first = os.readlink(vol / "..data")
    await prepare(tmp_path, volume, objects=CONFIG)
    assert os.readlink(vol / "..data") == first, "unchanged data writes no new version"

    changed = {("configmaps", "default", "cfg"): {"data": {"a.conf": "A=2\n", "c.conf": "C"}}}
    await prepare(tmp_path, volume, objects=changed)
    second = os.readlink(vol / "..data")
    assert second != first and not (vol / first).exists()
    assert visible(vol) == {"a.conf": "..data/a.conf", "c.conf": "..data/c.conf"}
    assert (vol / "a.conf").read_text() == "A=2\n"


# ---------------------------------------------------------------- configMap, secret


async def test_secret_is_decoded_with_its_mode(tmp_path: Path) -> None:
    objects = {
        ("secrets", "default", "tls"): {"data": {"tls.key": b64("KEY"), "raw": b64(b"\x01")}}
    }
    vol = (
        await prepare(
            tmp_path,
            {"name": "certs", "secret": {"secretName": "tls", "defaultMode": 0o400}},
            objects=objects,
        )
    )["certs"]
    assert vol.parent.name == "kubernetes.io~secret"
    assert (vol / "tls.key").read_text() == "KEY" and (vol / "raw").read_bytes() == b"\x01"
    assert mode_of(vol / "..data" / "tls.key") == 0o400


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        (
            {"name": "x", "configMap": {"name": "y"}},
            'MountVolume.SetUp failed for volume "x" : configmap "y" not found',
        ),
        (
            {"name": "x", "secret": {"secretName": "s"}},
            'MountVolume.SetUp failed for volume "x" : secret "s" not found',
        ),
        (
            {"name": "x", "configMap": {"name": "cfg", "items": [{"key": "nope", "path": "p"}]}},
            'MountVolume.SetUp failed for volume "x" : configmap references non-existent config key: nope',
        ),
        (
            {"name": "x", "secret": {"secretName": "pw", "items": [{"key": "nope", "path": "p"}]}},
            'MountVolume.SetUp failed for volume "x" : references non-existent secret key: nope',
        ),
        (
            {"name": "data", "persistentVolumeClaim": {"claimName": "c"}},
            'MountVolume.SetUp failed for volume "data" : no volume plugin matched '
            "(unsupported volume type persistentVolumeClaim)",
        ),
    ],
)
async def test_set_up_failures(tmp_path: Path, volume: dict, message: str) -> None:
    objects = {**CONFIG, ("secrets", "default", "pw"): {"data": {"k": b64("v")}}}
    with pytest.raises(VolumeError) as err:
        await prepare(tmp_path, volume, objects=objects)
    assert str(err.value) == message and err.value.reason == "FailedMount"


async def test_every_volume_is_tried_and_reported(tmp_path: Path) -> None:
    with pytest.raises(VolumeError) as err:
        await prepare(
            tmp_path,
            {"name": "a", "configMap": {"name": "missing"}},
            {"name": "ok", "emptyDir": {}},
            {"name": "b", "nfs": {"server": "x", "path": "/"}},
        )
    assert len(err.value.messages) == 2
    assert err.value.messages[1].startswith('MountVolume.SetUp failed for volume "b" : ')
    assert (tmp_path / "pod" / "volumes" / "kubernetes.io~empty-dir" / "ok").is_dir()


async def test_optional_sources(tmp_path: Path) -> None:
    paths = await prepare(
        tmp_path,
        {"name": "a", "configMap": {"name": "missing", "optional": True}},
        {
            "name": "b",
            "configMap": {"name": "cfg", "optional": True, "items": [{"key": "no", "path": "p"}]},
        },
        objects=CONFIG,
    )
    assert visible(paths["a"]) == {} and (paths["a"] / "..data").is_dir()
    assert visible(paths["b"]) == {}


# ------------------------------------------------------------ downwardAPI, projected


async def test_downward_api_files(tmp_path: Path) -> None:
    items = [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "note", "fieldRef": {"fieldPath": "metadata.annotations['note']"}, "mode": 0o600},
        {
            "path": "mem",
            "resourceFieldRef": {
                "containerName": "app",
                "resource": "limits.memory",
                "divisor": "1Mi",
            },
        },
        {
            "path": "cpu",
            "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu", "divisor": "1m"},
        },
    ]
    paths = await prepare(
        tmp_path, {"name": "info", "downwardAPI": {"items": items}}, node_allocatable={"cpu": "2"}
    )
    vol = paths["info"]
    assert vol.parent.name == "kubernetes.io~downward-api"
    assert (vol / "labels").read_text() == 'a="say \\"1\\""\nb="2"'
    assert (vol / "name").read_text() == "web-1"
    assert (vol / "note").read_text() == "x" and mode_of(vol / "..data" / "note") == 0o600
    assert (vol / "mem").read_text() == "64" and (vol / "cpu").read_text() == "2000"


async def test_downward_api_volume_takes_metadata_only(tmp_path: Path) -> None:
    items = [{"path": "node", "fieldRef": {"fieldPath": "spec.nodeName"}}]
    with pytest.raises(VolumeError) as err:
        await prepare(tmp_path, {"name": "info", "downwardAPI": {"items": items}})
    assert str(err.value).endswith(" : unsupported fieldPath: spec.nodeName")


async def test_projected_sources(tmp_path: Path) -> None:
    objects = {
        ("configmaps", "default", "kube-root-ca.crt"): {"data": {"ca.crt": "PEM"}},
        ("secrets", "default", "pw"): {"data": {"password": b64("hunter2")}},
    }
    sources = [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"secret": {"name": "pw"}},
        {
            "downwardAPI": {
                "items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]
            }
        },
    ]
    vol = (
        await prepare(
            tmp_path,
            {"name": "kube-api-access", "projected": {"sources": sources, "defaultMode": 0o444}},
            objects=objects,
        )
    )["kube-api-access"]
    assert vol.parent.name == "kubernetes.io~projected"
    assert sorted(visible(vol)) == ["ca.crt", "namespace", "password", "token"]
    assert (vol / "token").read_bytes() == b""  # no TokenRequest yet: an empty placeholder
    assert (vol / "ca.crt").read_text() == "PEM" and (vol / "password").read_text() == "hunter2"
    assert (vol / "namespace").read_text() == "default"
    assert mode_of(vol / "..data" / "token") == 0o444


async def test_projected_errors_are_aggregated(tmp_path: Path) -> None:
    sources = [{"configMap": {"name": "a"}}, {"secret": {"name": "b"}}]
    with pytest.raises(VolumeError) as err:
        await prepare(tmp_path, {"name": "p", "projected": {"sources": sources}})
    assert str(err.value) == (
        'MountVolume.SetUp failed for volume "p" : [configmap "a" not found, secret "b" not found]'
    )


# ------------------------------------------------------------------------- mounts


def mounts_of(pod: dict, container: dict, paths: dict, **kw: object) -> list[dict]:
    return container_mounts(pod, container, paths, **kw)  # type: ignore[arg-type]


async def test_mounts(tmp_path: Path) -> None:
    volumes = [
        {"name": "conf", "configMap": {"name": "cfg"}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "host", "hostPath": {"path": str(tmp_path)}},
    ]
    pod = make_pod(*volumes)
    paths = await prepare(tmp_path, pod=pod, objects=CONFIG)
    container = {
        "name": "app",
        "volumeMounts": [
            {"name": "conf", "mountPath": "/etc/app"},  # configMap: always read-only
            {"name": "scratch", "mountPath": "/tmp", "mountPropagation": "None"},
            {
                "name": "scratch",
                "mountPath": "data",
                "readOnly": True,
                "mountPropagation": "HostToContainer",
            },
            {"name": "host", "mountPath": "/host", "mountPropagation": "Bidirectional"},
        ],
    }
    assert mounts_of(pod, container, paths) == [
        {
            "container_path": "/etc/app",
            "host_path": str(paths["conf"]),
            "readonly": True,
            "propagation": 0,
        },
        {
            "container_path": "/tmp",
            "host_path": str(paths["scratch"]),
            "readonly": False,
            "propagation": 0,
        },
        {
            "container_path": "/data",
            "host_path": str(paths["scratch"]),
            "readonly": True,
            "propagation": 1,
        },
        {
            "container_path": "/host",
            "host_path": str(tmp_path),
            "readonly": False,
            "propagation": 2,
        },
    ]


def test_unknown_volume_and_bad_propagation() -> None:
    pod = make_pod({"name": "v", "emptyDir": {}})
    with pytest.raises(MountError) as err:
        mounts_of(pod, {"name": "app", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}, {})
    assert str(err.value) == 'cannot find volume "nope" to mount into container "app"'
    assert err.value.reason == "CreateContainerConfigError"
    vm = {"name": "v", "mountPath": "/x", "mountPropagation": "Sideways"}
    with pytest.raises(MountError, match='invalid MountPropagation mode: "Sideways"'):
        mounts_of(pod, {"name": "app", "volumeMounts": [vm]}, {"v": Path("/tmp")})


async def test_sub_paths(tmp_path: Path) -> None:
    pod = make_pod({"name": "conf", "configMap": {"name": "cfg"}}, {"name": "data", "emptyDir": {}})
    paths = await prepare(tmp_path, pod=pod, objects=CONFIG)
    container = {
        "name": "app",
        "volumeMounts": [
            {"name": "conf", "mountPath": "/etc/a.conf", "subPath": "a.conf"},
            {"name": "data", "mountPath": "/logs", "subPathExpr": "logs/$(POD_NAME)"},
        ],
    }
    mounts = mounts_of(pod, container, paths, env=[("POD_NAME", "web-1")])
    # A configMap key resolves to the file of the current version, as upstream's bind mount.
    data_dir = os.readlink(paths["conf"] / "..data")
    assert mounts[0]["host_path"] == str(paths["conf"] / data_dir / "a.conf")
    made = paths["data"] / "logs" / "web-1"
    assert mounts[1]["host_path"] == str(made) and made.is_dir()
    assert mode_of(made) == 0o777  # the volume's own mode


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        ({"subPath": "/etc"}, "error SubPath `/etc` must not be an absolute path"),
        (
            {"subPath": "a/../../etc"},
            "unable to provision SubPath `a/../../etc`: must not contain '..'",
        ),
        (
            {"subPathExpr": "$(UP)/etc"},
            "unable to provision SubPath `../etc`: must not contain '..'",
        ),
        ({"subPathExpr": "$(NOPE)/$(EMPTY)"}, "missing value for EMPTY, NOPE"),
        (
            {"subPath": "escape/etc"},
            'failed to prepare subPath for volumeMount "data" of container "app"',
        ),
        (
            {"subPath": "escape/new"},
            'failed to create subPath directory for volumeMount "data" of container "app"',
        ),
    ],
)
async def test_sub_path_escapes_refused(tmp_path: Path, mount: dict, message: str) -> None:
    pod = make_pod({"name": "data", "emptyDir": {}})
    paths = await prepare(tmp_path, pod=pod)
    outside = tmp_path / "outside"
    (outside / "etc").mkdir(parents=True)
    (paths["data"] / "escape").symlink_to(outside)
    container = {"name": "app", "volumeMounts": [{"name": "data", "mountPath": "/m", **mount}]}
    with pytest.raises(MountError) as err:
        mounts_of(pod, container, paths, env=[("UP", ".."), ("EMPTY", "")])
    assert str(err.value) == message
    assert not (outside / "new").exists()


def test_managed_files_are_mounted(tmp_path: Path) -> None:
    hosts, term = tmp_path / "etc-hosts", tmp_path / "term"
    pod = make_pod({"name": "v", "emptyDir": {}})
    plain = {"name": "app"}
    assert mounts_of(
        pod, plain, {}, etc_hosts=hosts, termination=(term, "/dev/termination-log")
    ) == [
        {
            "container_path": "/etc/hosts",
            "host_path": str(hosts),
            "readonly": False,
            "propagation": 0,
        },
        {
            "container_path": "/dev/termination-log",
            "host_path": str(term),
            "readonly": False,
            "propagation": 0,
        },
    ]
    own = {
        "name": "app",
        "volumeMounts": [{"name": "v", "mountPath": "/etc/hosts", "subPath": "h"}],
    }
    paths = {"v": tmp_path}
    assert [m["container_path"] for m in mounts_of(pod, own, paths, etc_hosts=hosts)] == [
        "/etc/hosts"
    ]
