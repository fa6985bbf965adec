"""Images on a containerd node: the imageID the kubelet reports, and pull
credentials from imagePullSecrets (dockerconfigjson / dockercfg Secrets)."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

from pyk8s.kubelet.cri import CriClient, CriError
from pyk8s.kubelet.runtime.base import ImagePullError, PulledImage, normalize_image

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


class ImagePuller:
    """The node's images: what is present (a cache for the pod worker's synchronous
    IfNotPresent check) and pulls with imagePullSecrets' credentials."""

    def __init__(self, cri: CriClient, lookup: Any | None, registries: Any | None = None) -> None:
        self.cri = cri
        self.lookup = lookup
        self.registries = registries  # pyk8s.kubelet.registries.Registries
        self.images: dict[str, str] = {}  # normalized ref -> imageID

    async def refresh(self) -> None:
        images: dict[str, str] = {}
        for image in await self.cri.list_images():
            for tag in image.get("repo_tags") or []:
                images[tag] = image_id_of(image, tag)
        self.images = images

    async def pull(self, image: str, pod: Obj) -> PulledImage:
        ref = normalize_image(image)
        present = await self._image_status(ref)
        if present is None:
            await self._pull(ref, pod)
            present = await self._image_status(ref)
            if present is None:
                raise ImagePullError(f'image "{ref}" vanished after its pull')
        image_id = image_id_of(present, ref)
        self.images[ref] = image_id
        return PulledImage(image_id, int(present.get("size") or 0))

    async def _image_status(self, ref: str) -> Obj | None:
        try:
            status = await self.cri.image_status(ref)
        except CriError as err:
            raise ImagePullError(str(err)) from err
        if status and "image" in status and isinstance(status["image"], dict):
            return status["image"]
        return status

    async def _pull(self, ref: str, pod: Obj) -> None:
        # imagePullSecrets first, then the node's registries file, then anonymous.
        auths: list[Obj | None] = list(await self._pull_credentials(ref, pod))
        if self.registries is not None:
            auths += self.registries.credentials_for(ref)
        auths = auths or [None]
        last: CriError | None = None
        for auth in auths:
            try:
                await self.cri.pull_image(ref, auth)
                return
            except CriError as err:
                last = err
        assert last is not None
        raise ImagePullError(str(last))

    async def _pull_credentials(self, ref: str, pod: Obj) -> list[Obj]:
        if self.lookup is None:
            return []
        host = registry_host(ref)
        namespace = pod["metadata"].get("namespace", "")
        found: list[Obj] = []
        for item in (pod.get("spec") or {}).get("imagePullSecrets") or []:
            secret = await self.lookup.get("secrets", namespace, item.get("name", ""))
            for key, cred in docker_credentials(secret or {}).items():
                if matches_registry(key, host):
                    found.append(auth_config(cred))
        return found
