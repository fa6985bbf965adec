"""Tiny OCI image archives for the registry tests, written by hand so the tests
check pyk8s.images against an independent writer."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(doc: object) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def add_member(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def layer_tar(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """An uncompressed layer: regular files (executable) and symlinks."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs = sorted({n.rsplit("/", 1)[0] for n in [*files, *(symlinks or {})] if "/" in n})
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in files.items():
            add_member(tar, name, data, 0o755)
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buf.getvalue()


@dataclass(frozen=True)
class TinyImage:
    layer: bytes
    config: bytes
    manifest: bytes


def tiny_image(layer: bytes, cmd: list[str]) -> TinyImage:
    """Config and manifest for a one-layer linux image on this machine's architecture."""
    config = canonical(
        {
            "architecture": _ARCH.get(platform.machine(), platform.machine()),
            "os": "linux",
            "config": {"Cmd": cmd, "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [sha(layer)]},
        }
    )
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha(layer), "size": len(layer)}],
        }
    )
    return TinyImage(layer, config, manifest)


def write_oci_archive(
    path: Path, images: dict[str, TinyImage], annotate: str = "full"
) -> dict[str, TinyImage]:
    """An OCI image-layout tar with one index entry per reference.
    annotate: "full" (containerd's image name + tag) or "tag" (a bare tag, as skopeo)."""
    blobs: dict[str, bytes] = {}
    entries = []
    for ref, image in images.items():
        for blob in (image.layer, image.config, image.manifest):
            blobs[sha(blob)] = blob
        notes = {"org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]}
        if annotate == "full":
            notes["io.containerd.image.name"] = ref
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha(image.manifest),
                "size": len(image.manifest),
                "annotations": notes,
            }
        )
    index = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    with tarfile.open(path, "w") as tar:
        add_member(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_member(tar, "index.json", index)
        for digest, blob in blobs.items():
            add_member(tar, "blobs/sha256/" + digest.split(":")[1], blob)
    return images


def text_image(payload: bytes) -> TinyImage:
    """An image holding one small file (not runnable; for protocol tests)."""
    return tiny_image(layer_tar({"hello.txt": payload}), ["/hello.txt"])
