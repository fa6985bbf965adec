"""The OCI archive writer: layout validity, digests, config fields, determinism, tags."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from pyk8s.images.oci import (
    ANNOTATION_IMAGE_NAME,
    ANNOTATION_REF_NAME,
    MEDIA_CONFIG,
    MEDIA_INDEX,
    MEDIA_LAYER,
    MEDIA_MANIFEST,
    Image,
    ImageConfig,
    Layer,
    archive_refs,
    directory,
    entries_from_tree,
    file,
    hardlink,
    host_architecture,
    symlink,
    write_archive,
)
from pyk8s.images.refs import normalize_ref, ref_tag


def read_layout(archive: Path) -> dict[str, bytes]:
    """Every regular file of the archive by name."""
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def blob(files: dict[str, bytes], digest: str) -> bytes:
    algo, hexdigest = digest.split(":")
    assert algo == "sha256"
    return files[f"blobs/sha256/{hexdigest}"]


def layer_members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def sample_image(text: str = "hello\n") -> Image:
    layer = Layer(
        [
            file("/etc/greeting", text),
            file("/bin/tool", b"#!/bin/sh\necho hi\n", 0o755),
            symlink("/bin/sh", "/bin/tool"),
            hardlink("/bin/tool2", "/bin/tool"),
            directory("/tmp", 0o1777),
        ],
        "test layer",
    )
    config = ImageConfig(
        entrypoint=["/bin/tool"],
        cmd=["-v"],
        env=["PATH=/bin", "A=1"],
        working_dir="/tmp",
        exposed_ports=["80/tcp"],
        stop_signal="SIGQUIT",
        labels={"k": "v"},
    )
    return Image([layer, Layer([file("/etc/extra", "x")])], config)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "a.tar", {"demo:1.0": sample_image()})


def test_layout_files_and_every_digest_matches_its_content(archive: Path) -> None:
    files = read_layout(archive)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    blobs = [name for name in files if name.startswith("blobs/sha256/")]
    assert len(blobs) == 4  # manifest, config, two layers
    for name in blobs:
        assert hashlib.sha256(files[name]).hexdigest() == name.rsplit("/", 1)[1]


def test_index_manifest_and_config_fields(archive: Path) -> None:
    files = read_layout(archive)
    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2 and index["mediaType"] == MEDIA_INDEX
    [desc] = index["manifests"]
    assert desc["mediaType"] == MEDIA_MANIFEST
    assert desc["annotations"] == {
        ANNOTATION_IMAGE_NAME: "docker.io/library/demo:1.0",
        ANNOTATION_REF_NAME: "1.0",
    }
    assert desc["platform"] == {"architecture": host_architecture(), "os": "linux"}
    manifest_bytes = blob(files, desc["digest"])
    assert desc["size"] == len(manifest_bytes)
    manifest = json.loads(manifest_bytes)
    assert manifest["mediaType"] == MEDIA_MANIFEST and manifest["schemaVersion"] == 2
    assert manifest["config"]["mediaType"] == MEDIA_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [MEDIA_LAYER, MEDIA_LAYER]
    for layer in manifest["layers"]:
        assert layer["size"] == len(blob(files, layer["digest"]))

    config = json.loads(blob(files, manifest["config"]["digest"]))
    assert config["os"] == "linux" and config["architecture"] in ("amd64", "arm64")
    # Uncompressed layers: the diff_ids are the layer digests themselves.
    assert config["rootfs"] == {
        "type": "layers",
        "diff_ids": [layer["digest"] for layer in manifest["layers"]],
    }
    assert [h["created_by"] for h in config["history"]] == ["test layer", "pyk8s"]
    assert config["config"] == {
        "Entrypoint": ["/bin/tool"],
        "Cmd": ["-v"],
        "Env": ["PATH=/bin", "A=1"],
        "WorkingDir": "/tmp",
        "ExposedPorts": {"80/tcp": {}},
        "StopSignal": "SIGQUIT",
        "Labels": {"k": "v"},
    }


def test_layer_members_parents_links_modes_and_zero_mtimes(archive: Path) -> None:
    files = read_layout(archive)
    manifest = json.loads(blob(files, json.loads(files["index.json"])["manifests"][0]["digest"]))
    members = layer_members(blob(files, manifest["layers"][0]["digest"]))
    by_name = {m.name: m for m in members}
    names = [m.name for m in members]
    # Parent directories are added, and come before their children.
    assert by_name["etc"].isdir() and by_name["bin"].isdir()
    assert names.index("bin") < names.index("bin/tool") < names.index("bin/tool2")
    assert by_name["bin/sh"].issym() and by_name["bin/sh"].linkname == "/bin/tool"
    assert by_name["bin/tool2"].islnk() and by_name["bin/tool2"].linkname == "bin/tool"
    assert by_name["bin/tool"].mode == 0o755 and by_name["etc/greeting"].mode == 0o644
    assert by_name["tmp"].mode == 0o1777
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)


def test_same_input_gives_the_same_bytes_and_a_change_gives_new_digests(tmp_path: Path) -> None:
    first = write_archive(tmp_path / "1.tar", {"demo:1.0": sample_image()})
    again = write_archive(tmp_path / "2.tar", {"demo:1.0": sample_image()})
    assert first.read_bytes() == again.read_bytes()
    changed = write_archive(tmp_path / "3.tar", {"demo:1.0": sample_image("hello!\n")})
    digest = json.loads(read_layout(first)["index.json"])["manifests"][0]["digest"]
    other = json.loads(read_layout(changed)["index.json"])["manifests"][0]["digest"]
    assert digest != other


def test_several_tags_in_one_archive_share_blobs(tmp_path: Path) -> None:
    shared = sample_image()
    other = Image(list(shared.layers)[:1], ImageConfig(cmd=["sh"]))
    out = write_archive(
        tmp_path / "multi.tar",
        [
            ("busybox", shared),
            ("docker.io/library/busybox:1.36", shared),
            ("example.com/x/y:2", other),
        ],
    )
    assert archive_refs(out) == [
        "docker.io/library/busybox:latest",
        "docker.io/library/busybox:1.36",
        "example.com/x/y:2",
    ]
    manifests = json.loads(read_layout(out)["index.json"])["manifests"]
    assert [m["annotations"][ANNOTATION_REF_NAME] for m in manifests] == ["latest", "1.36", "2"]
    assert manifests[0]["digest"] == manifests[1]["digest"] != manifests[2]["digest"]
    blobs = [n for n in read_layout(out) if n.startswith("blobs/")]
    # Two manifests + two configs + two layers: the shared first layer is stored once.
    assert len(blobs) == 6


def test_entries_from_tree_keeps_modes_symlinks_and_hardlinks(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "usr/bin").mkdir(parents=True)
    tool = root / "usr/bin/tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o750)
    os.link(tool, root / "usr/bin/tool-again")
    (root / "usr/bin/alias").symlink_to("tool")
    members = {m.name: m for m in layer_members(Layer(entries_from_tree(root, "/opt")).blob.data)}
    assert members["opt/usr/bin/tool"].mode == 0o750
    assert members["opt/usr/bin/alias"].issym() and members["opt/usr/bin/alias"].linkname == "tool"
    linked = members["opt/usr/bin/tool-again"]
    assert linked.islnk() and linked.linkname == "opt/usr/bin/tool"
    assert members["opt"].isdir() and members["opt/usr/bin"].isdir()


def test_paths_climbing_out_of_the_root_are_refused() -> None:
    with pytest.raises(ValueError):
        Layer([file("/../etc/passwd", "x")])


@pytest.mark.parametrize(
    ("ref", "full", "tag"),
    [
        ("nginx", "docker.io/library/nginx:latest", "latest"),
        ("nginx:1.16.0", "docker.io/library/nginx:1.16.0", "1.16.0"),
        ("sysnet4admin/echo-hname", "docker.io/sysnet4admin/echo-hname:latest", "latest"),
        ("localhost/pyk8s/pause:3.10", "localhost/pyk8s/pause:3.10", "3.10"),
        ("127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1", "v1"),
        ("index.docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36", "1.36"),
    ],
)
def test_references_are_normalized_as_docker_does(ref: str, full: str, tag: str) -> None:
    assert normalize_ref(ref) == full
    assert ref_tag(ref) == tag


@pytest.mark.parametrize("ref", ["Nginx", "nginx:", "nginx:bad tag", ""])
def test_invalid_references_are_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="invalid reference format"):
        normalize_ref(ref)
