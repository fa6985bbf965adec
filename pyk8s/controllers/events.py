"""Posting core/v1 Events, as upstream's event recorder does: the same
(object, reason, message) seen again within the series bumps `count` and
`lastTimestamp` of the existing Event instead of creating another."""

from __future__ import annotations

import logging
import time
from typing import Any

from pyk8s.machinery import meta

Obj = dict[str, Any]
log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"


def _involved(obj: Obj) -> Obj:
    md = obj.get("metadata", {})
    ref = {
        "kind": obj.get("kind", ""),
        "namespace": md.get("namespace", ""),
        "name": md.get("name", ""),
        "uid": md.get("uid", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "resourceVersion": md.get("resourceVersion", ""),
    }
    return {k: v for k, v in ref.items() if v}


# Upstream's EventSourceObjectSpamFilter: per (source, involved object), a token
# bucket of 25 events refilled at one every 5 minutes; events beyond it are dropped.
SPAM_BURST = 25
SPAM_REFILL_SECONDS = 300.0


class SpamFilter:
    def __init__(
        self,
        burst: int = SPAM_BURST,
        refill: float = SPAM_REFILL_SECONDS,
        clock: Any = time.monotonic,
    ) -> None:
        self.burst = burst
        self.refill = refill
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) / self.refill)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > 8192:
            self._buckets.pop(next(iter(self._buckets)))
        return allowed


class EventRecorder:
    def __init__(self, client: Any, component: str, host: str = "") -> None:
        self.client = client
        self.component = component
        self.host = host
        # (involved uid, type, reason, message) -> event name, for counting repeats.
        self._seen: dict[tuple[str, str, str, str], tuple[str, str, int]] = {}
        self.spam = SpamFilter()

    async def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        """Record an event; failures are logged, never raised (events are best effort)."""
        involved = _involved(obj)
        spam_key = "/".join(
            (
                self.component,
                self.host,
                involved.get("kind", ""),
                involved.get("namespace", ""),
                involved.get("name", ""),
                involved.get("uid", ""),
                involved.get("apiVersion", ""),
            )
        )
        if not self.spam.allow(spam_key):
            return
        try:
            await self._record(obj, type_, reason, message)
        except Exception as e:  # noqa: BLE001
            log.debug("event %s %s for %s not recorded: %s", reason, message, meta.name_of(obj), e)

    async def _record(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        involved = _involved(obj)
        namespace = involved.get("namespace") or "default"
        key = (involved.get("uid", ""), type_, reason, message)
        events = self.client.resource("v1", "events")
        now = meta.now_rfc3339()
        seen = self._seen.get(key)
        if seen is not None:
            name, ns, count = seen
            patch = {"count": count + 1, "lastTimestamp": now}
            try:
                await self.client.patch(events, name, patch, namespace=ns, patch_type="merge")
                self._seen[key] = (name, ns, count + 1)
                return
            except Exception:  # noqa: BLE001 - the event went away: post a new one
                self._seen.pop(key, None)
        # Upstream names events <object>.<UnixNano in hex>: unique, and sorted by time.
        name = f"{involved.get('name', 'unknown')}.{time.time_ns():x}"
        source: Obj = {"component": self.component}
        if self.host:
            source["host"] = self.host
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": source,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        await self.client.create(events, body, namespace=namespace)
        self._seen[key] = (name, namespace, 1)
        if len(self._seen) > 4096:
            self._seen.pop(next(iter(self._seen)))
