"""Small builders shared by the pyk8s.testing examples (plain dicts, as kubectl sends)."""

from __future__ import annotations

from typing import Any


def deployment(name: str, replicas: int = 2, image: str = "nginx:1.25") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


def pod(name: str, image: str = "nginx:1.25") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": image}]},
    }


def condition(obj: Any, type_: str) -> str:
    """The status of a condition of an official-client model object ("" if absent)."""
    for cond in (obj.status and obj.status.conditions) or []:
        if cond.type == type_:
            return cond.status
    return ""
