"""Image content read in place from archives, for the local registry.

An `ArchiveStore` indexes image archives (tar files) without extracting them:
it walks the tar headers once, remembers where each member's bytes start, and
later reads blobs by offset. Archives can be hundreds of MB; only their small
JSON documents (index.json, manifest.json, image configs) are read whole.

Two layouts are understood:

- OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`), as
  `pyk8s.images.oci`, `ctr images export`, skopeo and buildkit write it. An
  index entry is named by its `io.containerd.image.name` annotation (a full
  reference) or else by `org.opencontainers.image.ref.name`, which may be a
  full reference or a bare tag; a bare tag needs the `name=` the archive is
  added with (skopeo writes bare tags).
- docker-archive (`manifest.json` with `Config`, `RepoTags`, `Layers`), as
  `docker save` writes it. A registry serves manifests, which such archives
  lack, so one is made up: an OCI manifest whose layers are the archive's
  layer tars. Layers stored under `blobs/sha256/` are taken by name; legacy
  `<id>/layer.tar` members must be hashed once when the archive is added.

A gzip-compressed archive cannot be read by offset, so it is decompressed once
into a private temporary file (removed by `close()`).

Images are keyed by (registry host, repository path) as containerd names them
(`docker.io`, `library/nginx`), tags by name; blobs are content-addressed and
shared by all repositories.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import posixpath
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyk8s.images.refs import split_ref

log = logging.getLogger("pyk8s.images")

MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"

# Manifests are small JSON documents; anything bigger is not one (the
# distribution spec lets registries refuse manifests over 4 MiB).
MAX_MANIFEST = 4 << 20
CHUNK = 1 << 20
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class ArchiveError(ValueError):
    """An archive this store cannot serve (message shown to the user as is)."""


@dataclass(frozen=True)
class Located:
    """`size` bytes of `path` starting at `offset` (a tar member's data)."""

    path: Path
    offset: int
    size: int


@dataclass
class Repository:
    """One (host, path) repository: tag -> manifest digest."""

    host: str
    path: str
    tags: dict[str, str] = field(default_factory=dict)


def is_digest(value: str) -> bool:
    return bool(_DIGEST.match(value))


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class ArchiveStore:
    """Blobs and tags of the added archives, read lazily from the tar files."""

    def __init__(self) -> None:
        self._blobs: dict[str, Located | bytes] = {}
        self.repos: dict[tuple[str, str], Repository] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # -- adding archives -------------------------------------------------------

    def add_archive(self, path: Path, name: str | None = None) -> list[str]:
        """Index one archive; returns the references (host/path:tag) it brought.

        `name` ("registry.example/app" or "app") names entries that carry only a
        bare tag; it is ignored for entries with a full reference.
        """
        path = self._seekable(Path(path))
        members = _index_members(path)
        if "index.json" in members:
            refs = self._add_oci(path, members, name)
        elif "manifest.json" in members:
            refs = self._add_docker(path, members)
        else:
            raise ArchiveError(f"{path}: neither an OCI image layout nor a docker archive")
        log.info("serving %s: %s", path, ", ".join(refs) or "(no tagged images)")
        return refs

    def _seekable(self, path: Path) -> Path:
        with path.open("rb") as fh:
            magic = fh.read(2)
        if magic != _GZIP_MAGIC:
            return path
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="pyk8s-registry-")
        out = Path(self._tmp.name) / f"{len(list(Path(self._tmp.name).iterdir()))}.tar"
        with gzip.open(path, "rb") as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        return out

    def _add_oci(self, path: Path, members: dict[str, Located], name: str | None) -> list[str]:
        for member_name, loc in members.items():
            if member_name.startswith("blobs/sha256/"):
                self._blobs.setdefault("sha256:" + member_name.rsplit("/", 1)[1], loc)
        index = _json(path, members["index.json"], "index.json")
        refs = []
        for desc in index.get("manifests") or []:
            digest = desc.get("digest", "")
            if digest not in self._blobs:
                raise ArchiveError(f"{path}: index.json names {digest}, which the archive lacks")
            ref = _entry_ref(desc.get("annotations") or {}, name)
            if ref:
                refs.append(self._tag(ref, digest))
        return refs

    def _add_docker(self, path: Path, members: dict[str, Located]) -> list[str]:
        refs = []
        for entry in _json(path, members["manifest.json"], "manifest.json"):
            config = _member(path, members, entry.get("Config", ""))
            config_data = _read(config)
            layers = [self._docker_layer(path, members, name) for name in entry.get("Layers", [])]
            manifest = {
                "schemaVersion": 2,
                "mediaType": MEDIA_OCI_MANIFEST,
                "config": self._add_bytes(MEDIA_OCI_CONFIG, config_data),
                "layers": layers,
            }
            data = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
            digest = self._add_bytes(MEDIA_OCI_MANIFEST, data)["digest"]
            refs.extend(self._tag(tag, digest) for tag in entry.get("RepoTags") or [])
        return refs

    def _docker_layer(self, path: Path, members: dict[str, Located], name: str) -> dict[str, Any]:
        loc = _member(path, members, name)
        stored = posixpath.normpath(name)
        if stored.startswith("blobs/sha256/"):
            digest = "sha256:" + stored.rsplit("/", 1)[1]
        else:
            digest = _hash_located(loc)
        self._blobs.setdefault(digest, loc)
        return {"mediaType": _layer_media_type(_read(loc, 4)), "digest": digest, "size": loc.size}

    def _add_bytes(self, media_type: str, data: bytes) -> dict[str, Any]:
        digest = sha256_digest(data)
        self._blobs.setdefault(digest, data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def _tag(self, ref: str, digest: str) -> str:
        try:
            host, repo_path, tag, _ = split_ref(ref)
        except ValueError as err:
            raise ArchiveError(str(err)) from None
        repo = self.repos.setdefault((host, repo_path), Repository(host, repo_path))
        if tag:  # a digest-pinned reference makes the repository known, no tag
            repo.tags[tag] = digest
        return f"{host}/{repo_path}:{tag}" if tag else f"{host}/{repo_path}@{digest}"

    # -- reading ---------------------------------------------------------------

    def has_blob(self, digest: str) -> bool:
        return digest in self._blobs

    def blob_size(self, digest: str) -> int:
        blob = self._blobs[digest]
        return len(blob) if isinstance(blob, bytes) else blob.size

    def read_blob(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The blob's bytes [start, end) in chunks (blocking: run it off the event loop)."""
        blob = self._blobs[digest]
        stop = self.blob_size(digest) if end is None else end
        if isinstance(blob, bytes):
            yield blob[start:stop]
            return
        with blob.path.open("rb") as fh:
            fh.seek(blob.offset + start)
            left = stop - start
            while left > 0:
                chunk = fh.read(min(CHUNK, left))
                if not chunk:
                    raise ArchiveError(f"{blob.path}: truncated archive")
                left -= len(chunk)
                yield chunk

    def manifest(self, digest: str) -> tuple[str, bytes] | None:
        """(media type, bytes) when `digest` is a manifest or index this store holds."""
        if digest not in self._blobs or self.blob_size(digest) > MAX_MANIFEST:
            return None
        data = b"".join(self.read_blob(digest))
        try:
            doc = json.loads(data)
        except ValueError:
            return None
        media_type = _manifest_media_type(doc)
        return (media_type, data) if media_type else None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


# -- helpers -------------------------------------------------------------------


def _index_members(path: Path) -> dict[str, Located]:
    """Member name -> data location for every regular file (links resolved)."""
    found: dict[str, Located] = {}
    links: dict[str, str] = {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            for info in tar:
                name = posixpath.normpath(info.name.lstrip("/"))
                if info.isreg():
                    found[name] = Located(path, info.offset_data, info.size)
                elif info.islnk():
                    links[name] = posixpath.normpath(info.linkname.lstrip("/"))
                elif info.issym():
                    target = posixpath.join(posixpath.dirname(name), info.linkname)
                    links[name] = posixpath.normpath(target)
    except tarfile.TarError as err:
        raise ArchiveError(f"{path}: not a readable tar archive ({err})") from None
    for name, target in links.items():
        for _ in range(8):  # links to links, bounded against loops
            if target in found or target not in links:
                break
            target = links[target]
        if target in found:
            found[name] = found[target]
    return found


def _member(path: Path, members: dict[str, Located], name: str) -> Located:
    loc = members.get(posixpath.normpath(name))
    if loc is None:
        raise ArchiveError(f"{path}: member {name!r} named by manifest.json is missing")
    return loc


def _read(loc: Located, limit: int | None = None) -> bytes:
    with loc.path.open("rb") as fh:
        fh.seek(loc.offset)
        return fh.read(loc.size if limit is None else min(limit, loc.size))


def _json(path: Path, loc: Located, what: str) -> Any:
    if loc.size > MAX_MANIFEST:
        raise ArchiveError(f"{path}: {what} is too large")
    try:
        return json.loads(_read(loc))
    except ValueError as err:
        raise ArchiveError(f"{path}: {what} is not JSON ({err})") from None


def _hash_located(loc: Located) -> str:
    digest = hashlib.sha256()
    with loc.path.open("rb") as fh:
        fh.seek(loc.offset)
        left = loc.size
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                raise ArchiveError(f"{loc.path}: truncated archive")
            digest.update(chunk)
            left -= len(chunk)
    return "sha256:" + digest.hexdigest()


def _entry_ref(annotations: dict[str, str], name: str | None) -> str | None:
    """The reference an index.json entry is served under, if it has one."""
    full = annotations.get(ANNOTATION_IMAGE_NAME)
    if full:
        return full
    ref_name = annotations.get(ANNOTATION_REF_NAME, "")
    if not ref_name:
        return None
    if _TAG.match(ref_name):  # a bare tag: only the caller knows the repository
        return f"{name}:{ref_name}" if name else None
    return ref_name


def _layer_media_type(head: bytes) -> str:
    if head.startswith(_GZIP_MAGIC):
        return MEDIA_OCI_LAYER + "+gzip"
    if head.startswith(_ZSTD_MAGIC):
        return MEDIA_OCI_LAYER + "+zstd"
    return MEDIA_OCI_LAYER


def _manifest_media_type(doc: Any) -> str | None:
    """The media type a manifest/index document declares (or its shape implies)."""
    if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
        return None
    declared = doc.get("mediaType")
    if declared in (MEDIA_OCI_MANIFEST, MEDIA_OCI_INDEX, MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_LIST):
        return declared
    if declared:
        return None
    if isinstance(doc.get("manifests"), list):
        return MEDIA_OCI_INDEX
    if isinstance(doc.get("layers"), list) and isinstance(doc.get("config"), dict):
        return MEDIA_OCI_MANIFEST
    return None
