"""Images on a containerd node: the imageID the kubelet reports, and pull
credentials from imagePullSecrets (dockerconfigjson / dockercfg Secrets)."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

from pyk8s.kubelet.runtime.base import normalize_image

Obj = dict[str, Any]


def image_id_of(image: Obj, ref: str) -> str:
    """repo@sha256:<manifest digest> as the kubelet reports imageID; the image's
    own ID when the runtime knows no repo digest."""
    digests = image.get("repo_digests") or []
    repo = ref.split("@", 1)[0].rsplit(":", 1)[0] if "/" in ref else ref
    for digest in digests:
        if digest.split("@", 1)[0] == repo:
            return digest
    return digests[0] if digests else image.get("id", "")


def docker_credentials(secret: Obj) -> dict[str, Obj]:
    """registry -> {username, password, auth} from a dockerconfigjson/dockercfg Secret."""
    data = secret.get("data") or {}
    raw = data.get(".dockerconfigjson") or data.get(".dockercfg")
    if not raw:
        return {}
    try:
        parsed = json.loads(base64.b64decode(raw))
    except (ValueError, TypeError):
        return {}
    auths = parsed.get("auths", parsed) if isinstance(parsed, dict) else {}
    return {k: v for k, v in auths.items() if isinstance(v, dict)}


def registry_host(ref: str) -> str:
    return normalize_image(ref).split("/", 1)[0]


def matches_registry(key: str, host: str) -> bool:
    key = key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    if host == "docker.io":
        return key in ("docker.io", "index.docker.io", "registry-1.docker.io")
    return key == host


def auth_config(cred: Obj) -> Obj:
    # No server_address: containerd sends credentials only when the address is
    # empty or names the host it talks to, which a mirror is not.
    auth: Obj = {}
    for key in ("username", "password", "auth"):
        if cred.get(key):
            auth[key] = cred[key]
    if "auth" in auth and "username" not in auth:
        with contextlib.suppress(ValueError):
            user, _, password = base64.b64decode(auth["auth"]).decode().partition(":")
            auth.update(username=user, password=password)
    return auth
