"""Deterministic OCI image-layout archives, in pure Python.

An archive is a tar holding the OCI image layout (`oci-layout`, `index.json`,
`blobs/sha256/<hex>`) that `ctr images import` (and so `pyk8s images import`)
loads. Every timestamp is 0 and every owner root, entries are sorted, and JSON
is written with sorted keys, so the same input always gives the same digests:
an image rebuilt from the same files is the same image to containerd.

Layers are plain (uncompressed) tars, media type
`application/vnd.oci.image.layer.v1.tar`. These archives never cross a network:
they are written and imported on the same machine, so gzip would only cost time
(pure-Python deflate of a 10 MB layer takes about a second, and containerd would
inflate it again on import); uncompressed, a layer's digest is also its diff_id.

    image = Image([Layer([file("/hello.txt", "hi\\n"), symlink("/bin/sh", "busybox")])],
                  ImageConfig(cmd=["/bin/sh"]))
    write_archive(Path("hello.tar"), {"docker.io/library/hello:1.0": image})

One archive may carry several tags (one `index.json` entry each, sharing blobs),
so one import brings them all.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import stat
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pyk8s.images.refs import normalize_ref, ref_tag

MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
EPOCH = "1970-01-01T00:00:00Z"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

EntryKind = Literal["file", "dir", "symlink", "hardlink"]

_ARCHITECTURES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def host_architecture() -> str:
    """The host's architecture in OCI/Go spelling (amd64, arm64, ...)."""
    machine = platform.machine().lower()
    return _ARCHITECTURES.get(machine, machine)


# -- layer entries -------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One filesystem object of a layer.

    `path` is absolute inside the image ("/usr/bin/x"). A file's content is
    `data`, or read from the host file `source` when the layer is built.
    `target` is a symlink's target (as written) or a hardlink's path in the layer.
    """

    path: str
    kind: EntryKind = "file"
    mode: int = 0o644
    data: bytes = b""
    source: Path | None = None
    target: str = ""
    uid: int = 0
    gid: int = 0

    @property
    def name(self) -> str:
        """The member name inside the layer tar (relative, no leading slash)."""
        return layer_name(self.path)


def layer_name(path: str) -> str:
    """'/usr/bin/x' -> 'usr/bin/x'; rejects paths that climb out of the root."""
    parts = [p for p in PurePosixPath("/", path).parts[1:] if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"invalid path in image: {path!r}")
    return "/".join(parts)


def file(path: str, data: bytes | str, mode: int = 0o644) -> Entry:
    """A regular file with the given content."""
    raw = data.encode() if isinstance(data, str) else data
    return Entry(path, "file", mode, data=raw)


def host_file(path: str, source: Path, mode: int | None = None) -> Entry:
    """A regular file copied from the host (content read when the layer is built);
    mode defaults to the host file's permission bits."""
    if mode is None:
        mode = stat.S_IMODE(source.stat().st_mode)
    return Entry(path, "file", mode, source=source)


def directory(path: str, mode: int = 0o755) -> Entry:
    return Entry(path, "dir", mode)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, "symlink", 0o777, target=target)


def hardlink(path: str, target: str) -> Entry:
    """A hard link to `target`, another path in the same layer."""
    return Entry(path, "hardlink", 0o644, target=target)


def entries_from_tree(root: Path, prefix: str = "/") -> list[Entry]:
    """Entries for everything under `root`, placed under `prefix` in the image.

    Modes and symlinks are kept; files sharing an inode become hard links to the
    first one seen; sockets, FIFOs and device nodes are skipped (runc provides
    /dev; an image has no business carrying them). Owners become root.
    """
    entries: list[Entry] = []
    seen_inodes: dict[tuple[int, int], str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        here = Path(dirpath)
        for name in sorted(dirnames + filenames):
            host = here / name
            image_path = str(PurePosixPath(prefix, host.relative_to(root).as_posix()))
            entry = _tree_entry(host, image_path, seen_inodes)
            if entry is not None:
                entries.append(entry)
    return entries


def _tree_entry(host: Path, image_path: str, seen: dict[tuple[int, int], str]) -> Entry | None:
    st = host.lstat()
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return symlink(image_path, os.readlink(host))
    if stat.S_ISDIR(st.st_mode):
        return directory(image_path, mode)
    if not stat.S_ISREG(st.st_mode):
        return None
    if st.st_nlink > 1:
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return hardlink(image_path, seen[key])
        seen[key] = image_path
    return host_file(image_path, host, mode)


# -- blobs and layers ----------------------------------------------------------


@dataclass(frozen=True)
class Blob:
    """Content-addressed bytes with their OCI media type."""

    media_type: str
    data: bytes

    @cached_property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        """The OCI descriptor pointing at this blob."""
        return {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": len(self.data),
            **extra,
        }


def json_blob(media_type: str, doc: Mapping[str, Any]) -> Blob:
    """A JSON document as a blob, canonical (sorted keys, no spaces) so digests are stable."""
    return Blob(media_type, json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())


class Layer:
    """One uncompressed layer built from entries, ready to be written.

    Missing parent directories are added (0755, root); when a path is given twice
    the last entry wins. `comment` becomes the layer's history `created_by`.
    """

    def __init__(self, entries: Iterable[Entry], comment: str = "") -> None:
        self.comment = comment
        self.blob = Blob(MEDIA_LAYER, build_layer_tar(entries))

    @property
    def diff_id(self) -> str:
        """The digest of the uncompressed tar: here the blob's own digest."""
        return self.blob.digest

    def names(self) -> list[str]:
        """The member names of the layer tar, in order (for tests and listings)."""
        with tarfile.open(fileobj=io.BytesIO(self.blob.data)) as tar:
            return tar.getnames()


def build_layer_tar(entries: Iterable[Entry]) -> bytes:
    """The deterministic tar bytes for `entries` (parents first, hard links last)."""
    by_name: dict[str, Entry] = {}
    for entry in entries:
        by_name[entry.name] = entry
    for name in list(by_name):
        for parent in PurePosixPath(name).parents[:-1]:
            by_name.setdefault(str(parent), directory("/" + str(parent)))
    # A hard link's target must already be in the tar when the link is read.
    order = sorted(by_name, key=lambda n: (by_name[n].kind == "hardlink", n.split("/")))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in order:
            _add_entry(tar, by_name[name])
    return buf.getvalue()


def _add_entry(tar: tarfile.TarFile, entry: Entry) -> None:
    info = tarfile.TarInfo(entry.name)
    info.mtime = 0
    info.mode = entry.mode
    info.uid, info.gid = entry.uid, entry.gid
    info.uname = info.gname = ""
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif entry.kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, entry.target
        tar.addfile(info)
    elif entry.kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, layer_name(entry.target)
        tar.addfile(info)
    else:
        data = entry.source.read_bytes() if entry.source is not None else entry.data
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


# -- image config, manifest ----------------------------------------------------


@dataclass(frozen=True)
class ImageConfig:
    """The runtime part of an image config (`config` in the OCI image config)."""

    entrypoint: Sequence[str] = ()
    cmd: Sequence[str] = ()
    env: Sequence[str] = (DEFAULT_PATH,)
    working_dir: str = ""
    user: str = ""
    exposed_ports: Sequence[str] = ()  # "80/tcp"
    stop_signal: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The OCI `config` object; empty fields are left out, as builders do."""
        doc: dict[str, Any] = {
            "Entrypoint": list(self.entrypoint),
            "Cmd": list(self.cmd),
            "Env": list(self.env),
            "WorkingDir": self.working_dir,
            "User": self.user,
            "ExposedPorts": {port: {} for port in self.exposed_ports},
            "StopSignal": self.stop_signal,
            "Labels": dict(self.labels),
        }
        return {k: v for k, v in doc.items() if v}


@dataclass(frozen=True)
class Image:
    """Layers plus config for one platform: linux on `architecture`."""

    layers: Sequence[Layer]
    config: ImageConfig = ImageConfig()
    architecture: str = field(default_factory=host_architecture)

    @property
    def platform(self) -> dict[str, str]:
        return {"architecture": self.architecture, "os": "linux"}

    @cached_property
    def config_blob(self) -> Blob:
        history = [
            {"created": EPOCH, "created_by": layer.comment or "pyk8s"} for layer in self.layers
        ]
        doc = {
            "created": EPOCH,
            **self.platform,
            "config": self.config.to_json(),
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in self.layers]},
            "history": history,
        }
        return json_blob(MEDIA_CONFIG, doc)

    @cached_property
    def manifest_blob(self) -> Blob:
        doc = {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": self.config_blob.descriptor(),
            "layers": [layer.blob.descriptor() for layer in self.layers],
        }
        return json_blob(MEDIA_MANIFEST, doc)

    def blobs(self) -> list[Blob]:
        return [self.manifest_blob, self.config_blob, *(layer.blob for layer in self.layers)]


# -- the archive ---------------------------------------------------------------


def index_document(images: Mapping[str, Image]) -> dict[str, Any]:
    """index.json: one manifest entry per reference (full name and tag annotated)."""
    manifests = []
    for ref, image in images.items():
        annotations = {ANNOTATION_IMAGE_NAME: ref, ANNOTATION_REF_NAME: ref_tag(ref)}
        manifests.append(
            image.manifest_blob.descriptor(platform=image.platform, annotations=annotations)
        )
    return {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests}


def write_archive(out: Path, images: Mapping[str, Image] | Iterable[tuple[str, Image]]) -> Path:
    """Write an OCI image-layout tar holding every (reference, image) pair.

    References are normalized as docker does ("nginx:1.16.0" ->
    "docker.io/library/nginx:1.16.0"); blobs shared between images are stored
    once. The file appears atomically (written beside `out`, then renamed), so a
    reader never sees half an archive.
    """
    pairs = images.items() if isinstance(images, Mapping) else images
    tagged = {normalize_ref(ref): image for ref, image in pairs}
    if not tagged:
        raise ValueError("an archive needs at least one image")
    blobs: dict[str, Blob] = {}
    for image in tagged.values():
        for blob in image.blobs():
            blobs.setdefault(blob.digest, blob)
    meta = {
        "oci-layout": json_blob("", {"imageLayoutVersion": "1.0.0"}).data,
        "index.json": json_blob(MEDIA_INDEX, index_document(tagged)).data,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in meta.items():
                _add_entry(tar, file(name, data))
            for name in ("blobs", "blobs/sha256"):
                _add_entry(tar, directory(name))
            for digest in sorted(blobs):
                _add_entry(tar, file("blobs/sha256/" + digest.split(":", 1)[1], blobs[digest].data))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _read_member(archive: Path, name: str) -> Any | None:
    """A JSON member of a tar archive, or None when the archive has none of that name."""
    with tarfile.open(archive) as tar:
        try:
            member = tar.extractfile(name)
        except KeyError:
            return None
        return None if member is None else json.loads(member.read())


def read_index(archive: Path) -> dict[str, Any]:
    """The index.json of an OCI archive."""
    index = _read_member(archive, "index.json")
    if not isinstance(index, dict):
        raise ValueError(f"{archive}: not an OCI archive (no index.json)")
    return index


def archive_refs(archive: Path) -> list[str]:
    """The image references an archive carries, as containerd will name them:
    index.json's annotations for OCI archives, manifest.json's RepoTags for
    `docker save` archives."""
    index = _read_member(archive, "index.json")
    if isinstance(index, dict):
        refs = []
        for desc in index.get("manifests", []):
            notes = desc.get("annotations") or {}
            ref = notes.get(ANNOTATION_IMAGE_NAME) or notes.get(ANNOTATION_REF_NAME)
            if ref:
                refs.append(ref)
        return refs
    manifest = _read_member(archive, "manifest.json")
    if isinstance(manifest, list):
        return [normalize_ref(tag) for item in manifest for tag in item.get("RepoTags") or []]
    raise ValueError(f"{archive}: neither an OCI nor a docker archive")
