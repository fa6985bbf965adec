"""Watching a benchmark cluster from the outside, as `kubectl get -w` would: an
informer per resource keeps the set of objects that satisfy a predicate, and
`wait_count` polls its size. Predicates read objects the way kubectl's STATUS
column does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pyk8s.client import Client, Informer, object_key

Obj = dict[str, Any]


def node_ready(node: Obj) -> bool:
    """kubectl get nodes says Ready: the Ready condition is True."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    )


def pod_running(pod: Obj) -> bool:
    """kubectl get pods says Running (and the pod is not being deleted)."""
    md = pod.get("metadata") or {}
    return (pod.get("status") or {}).get("phase") == "Running" and not md.get("deletionTimestamp")


def pod_image(pod: Obj) -> str:
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return containers[0].get("image", "")


class Matching:
    """The keys of the objects an informer holds that satisfy `pred` (and all keys)."""

    def __init__(
        self,
        client: Client,
        api_version: str,
        plural: str,
        pred: Callable[[Obj], bool],
        label_selector: str = "",
    ) -> None:
        self.pred = pred
        self.matching: set[str] = set()
        self.present: set[str] = set()
        self.informer = Informer(
            client, client.resource(api_version, plural), label_selector=label_selector
        )
        self.informer.add_handler(self._seen, lambda _o, n: self._seen(n), self._gone)

    def set_predicate(self, pred: Callable[[Obj], bool]) -> None:
        """Judge every cached object again with a new predicate."""
        self.pred = pred
        self.matching = {k for k in self.present if pred(self.informer.get(k) or {})}

    def _seen(self, obj: Obj) -> None:
        key = object_key(obj)
        self.present.add(key)
        if self.pred(obj):
            self.matching.add(key)
        else:
            self.matching.discard(key)

    def _gone(self, obj: Obj) -> None:
        key = object_key(obj)
        self.present.discard(key)
        self.matching.discard(key)

    async def start(self) -> None:
        self.informer.start()
        await self.informer.wait_synced()

    async def stop(self) -> None:
        await self.informer.stop()


async def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `cond` every 20 ms; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
