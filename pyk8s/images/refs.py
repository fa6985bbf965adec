"""Image references, normalized as docker and containerd's CRI do.

nginx                     -> docker.io/library/nginx:latest
nginx:1.16.0              -> docker.io/library/nginx:1.16.0
sysnet4admin/echo-hname   -> docker.io/sysnet4admin/echo-hname:latest
localhost/pyk8s/pause:3.10 (a domain already: has '.', ':' or is localhost) unchanged
"""

from __future__ import annotations

import re

DEFAULT_DOMAIN = "docker.io"
_PATH = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


def split_ref(ref: str) -> tuple[str, str, str, str]:
    """(domain, path, tag, digest) of a reference, with docker's defaults applied:
    docker.io, library/ for single-name Docker Hub images, tag latest unless a
    digest is given. Raises ValueError for references docker would refuse."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    domain, sep, path = name.partition("/")
    if not sep or not ("." in domain or ":" in domain or domain == "localhost"):
        domain, path = DEFAULT_DOMAIN, name
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = "library/" + path
    if not _PATH.match(path) or (tag is not None and not _TAG.match(tag)):
        raise ValueError(f"invalid reference format: {ref!r}")
    if tag is None:
        tag = "" if digest else "latest"
    return domain, path, tag, digest


def normalize_ref(ref: str) -> str:
    """The fully qualified form of `ref` (the name containerd stores the image under)."""
    domain, path, tag, digest = split_ref(ref)
    full = f"{domain}/{path}"
    if tag:
        full += ":" + tag
    if digest:
        full += "@" + digest
    return full


def ref_tag(ref: str) -> str:
    """The tag of `ref` ("latest" when none is given; "" for a digest-only reference)."""
    return split_ref(ref)[2]
