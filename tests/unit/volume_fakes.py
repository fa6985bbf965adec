"""Fakes and builders shared by the kubelet's volume and environment unit tests."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

from pyk8s.kubelet.volumes import prepare_volumes


class FakeLookup:
    """ConfigMaps and Secrets from a dict keyed by (resource, namespace, name)."""

    def __init__(self, objects: dict | None = None, fail: Exception | None = None) -> None:
        self.objects = objects or {}
        self.fail = fail
        self.calls: list[tuple[str, str, str]] = []

    async def get(self, resource: str, namespace: str, name: str) -> dict | None:
        self.calls.append((resource, namespace, name))
        if self.fail is not None:
            raise self.fail
        return self.objects.get((resource, namespace, name))


def b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def make_pod(*volumes: dict, containers: list[dict] | None = None) -> dict:
    return {
        "metadata": {
            "name": "web-1",
            "namespace": "default",
            "uid": "uid-1",
            "labels": {"b": "2", "a": 'say "1"'},
            "annotations": {"note": "x"},
        },
        "spec": {
            "nodeName": "w1-k8s",
            "volumes": list(volumes),
            "containers": containers
            or [{"name": "app", "resources": {"limits": {"memory": "64Mi"}}}],
        },
    }


async def prepare(tmp_path: Path, *volumes: dict, objects: dict | None = None, **kw: object):
    pod = kw.pop("pod", None) or make_pod(*volumes)
    return await prepare_volumes(
        pod,
        tmp_path / "pod",
        FakeLookup(objects),
        node_name="w1-k8s",
        **kw,  # type: ignore[arg-type]
    )


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def visible(volume: Path) -> dict[str, str]:
    """User-visible names of an atomic-writer volume -> their link targets."""
    return {p.name: os.readlink(p) for p in volume.iterdir() if not p.name.startswith("..")}


CONFIG = {("configmaps", "default", "cfg"): {"data": {"a.conf": "A=1\n", "b.conf": "B=2\n"}}}
