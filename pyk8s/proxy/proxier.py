"""ServiceProxy: informers on Services and EndpointSlices -> one sync task -> iptables.

Level-triggered, as upstream's proxier: every informer event only bumps a
generation counter and wakes the sync task; the task rebuilds the whole ruleset
from the informer caches (`rules.build_ruleset`, off the event loop) and hands
iptables-restore the difference from what it applied last (the chains whose
rules changed, and the chains no longer needed). Every `sync_period` seconds,
after any failure and on the first sync, it syncs fully instead: it reads
`iptables-save`, declares and refills all of its chains, deletes chains of its
prefix it no longer needs (left by a previous run too) and puts back missing
jumps from the built-in chains. So a restarted proxy takes over its old rules,
and one whose rules were flushed behind its back repairs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyk8s.client.informer import Backoff, Informer
from pyk8s.client.resource import find_resource
from pyk8s.proxy.iptables import Iptables, ensure_sysctl
from pyk8s.proxy.memo import Memo
from pyk8s.proxy.rules import ProxyConfig, build_ruleset, jumps, needs_route_localnet
from pyk8s.proxy.ruleset import (
    Jump,
    Ruleset,
    SavedTable,
    cleanup_text,
    drifted,
    has_jump,
    own_chains,
    parse_save,
    restore_text,
)

log = logging.getLogger(__name__)

RETRY_AFTER = 1.0  # seconds before a failed sync is first retried (as a full sync)


def unsupported_reason() -> str:
    """Why a ServiceProxy cannot program this machine ("" when it can): it needs
    root and iptables-restore/iptables-save."""
    if os.geteuid() != 0:
        return "the service proxy needs root (it programs iptables)"
    if not Iptables.available():
        return "the service proxy needs iptables-restore and iptables-save (Debian: iptables)"
    return ""


def proxy_prefix(seed: str) -> str:
    """A chain prefix for a proxy, stable for the same seed (e.g. a data dir): "P" + 6 hex."""
    return "P" + hashlib.sha256(seed.encode()).hexdigest()[:6].upper()


async def remove_rules(prefix: str, iptables: Iptables | None = None) -> None:
    """Remove a proxy's chains and jumps by its prefix, with no proxy running (what an
    agent leaves when it stops, for whoever tears the node down)."""
    iptables = iptables or Iptables()
    saved = parse_save(await iptables.save())
    await iptables.restore(cleanup_text(saved, prefix, ProxyConfig(prefix).comment))


@dataclass(frozen=True)
class SyncResult:
    generation: int  # informer events seen when the sync read the caches
    full: bool
    started: float  # time.monotonic()
    finished: float
    text: str  # what iptables-restore was given ("" when nothing changed)

    @property
    def seconds(self) -> float:
        return self.finished - self.started


class ServiceProxy:
    def __init__(
        self,
        client: Any,
        *,
        prefix: str,
        node_ips: Mapping[str, str],
        cluster_cidr: str,
        sync_period: float = 30.0,
        min_sync_interval: float = 0.0,
        iptables: Iptables | None = None,
    ) -> None:
        self.config = ProxyConfig(prefix, dict(node_ips), cluster_cidr)
        self.sync_period = sync_period
        self.min_sync_interval = min_sync_interval
        self.iptables = iptables or Iptables()
        self.services = Informer(client, find_resource("v1", "services"))
        self.slices = Informer(client, find_resource("discovery.k8s.io/v1", "endpointslices"))
        self.synced = asyncio.Event()  # set after the first successful sync
        self.last_sync_seconds = 0.0
        self.generation = 0
        self.syncs = 0
        self.listeners: list[Callable[[SyncResult], None]] = []
        self._dirty = asyncio.Event()
        self._applied: Ruleset | None = None
        self._memo = Memo()  # touched only by the one build running at a time
        self._needs_full = True
        self._last_start = 0.0
        self._backoff = Backoff(RETRY_AFTER, cap=max(sync_period, RETRY_AFTER))
        self._task: asyncio.Task[None] | None = None

    @property
    def prefix(self) -> str:
        return self.config.prefix

    @property
    def applied(self) -> Ruleset | None:
        """The ruleset the kernel holds since the last successful sync."""
        return self._applied

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Start the informers and the sync task; `synced` is set once rules are in place."""
        if self._task is not None:
            return
        self._prepare_host()
        for informer in (self.services, self.slices):
            informer.add_handler(self._on_add, self._on_update, self._on_delete)
            informer.start()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"proxy {self.prefix}"
        )

    async def stop(self, cleanup: bool = True) -> None:
        """Stop syncing; with cleanup, remove every chain and jump of this proxy."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for informer in (self.services, self.slices):
            await informer.stop()
        if cleanup:
            await self.cleanup()

    async def cleanup(self) -> None:
        """Remove exactly this proxy's chains and jumps (found by prefix and comment)."""
        await remove_rules(self.prefix, self.iptables)
        self._applied, self._needs_full = None, True

    def request_sync(self, full: bool = False) -> None:
        self._needs_full = self._needs_full or full
        self._dirty.set()

    def _prepare_host(self) -> None:
        if needs_route_localnet(self.config):
            ensure_sysctl("net.ipv4.conf.all.route_localnet")
        # Replies between pods on one bridge must pass conntrack to be un-DNATed.
        ensure_sysctl("net.bridge.bridge-nf-call-iptables")

    # -- informer events --------------------------------------------------------------

    def _on_add(self, _obj: Any) -> None:
        self._changed()

    def _on_update(self, _old: Any, _new: Any) -> None:
        self._changed()

    def _on_delete(self, _obj: Any) -> None:
        self._changed()

    def _changed(self) -> None:
        self.generation += 1
        self._dirty.set()

    # -- the sync loop --------------------------------------------------------------

    async def _run(self) -> None:
        await asyncio.gather(self.services.wait_synced(), self.slices.wait_synced())
        next_check = time.monotonic() + self.sync_period
        while True:
            await self._throttle()
            check = time.monotonic() >= next_check
            try:
                await self.sync(full=self._needs_full, check=check)
                self._backoff.reset()
                if check:
                    next_check = time.monotonic() + self.sync_period
                wait = next_check - time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the proxy must outlive any failure
                log.warning("proxy %s: sync failed: %s", self.prefix, err)
                self._needs_full = True
                wait = self._backoff.next()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), max(wait, 0.0))

    async def _throttle(self) -> None:
        delay = self._last_start + self.min_sync_interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def sync(self, full: bool = False, check: bool = False) -> SyncResult:
        """Rebuild from the caches and apply: the difference from the last sync; with
        `check`, first compare the kernel's chains with what was applied and rewrite
        everything if they drifted; with `full` (or on the first sync), rewrite all."""
        self._dirty.clear()
        generation, started = self.generation, time.monotonic()
        self._last_start = started
        services, slices = self.services.list(), self.slices.list()
        ruleset = await asyncio.to_thread(build_ruleset, services, slices, self.config, self._memo)
        full = full or self._applied is None
        if full or check:
            saved = parse_save(await self.iptables.save())
            full = full or self._drifted(saved)
        text = self._full_text(ruleset, saved) if full else restore_text(ruleset, self._applied)
        await self.iptables.restore(text)
        self._applied, self._needs_full = ruleset, False
        result = SyncResult(generation, full, started, time.monotonic(), text)
        self._done(result)
        return result

    def _missing_jumps(self, saved: dict[str, SavedTable]) -> list[Jump]:
        return [j for j in jumps(self.config) if not has_jump(saved, j, self.config.comment)]

    def _drifted(self, saved: dict[str, SavedTable]) -> bool:
        assert self._applied is not None
        if self._missing_jumps(saved) or drifted(saved, self._applied, self.prefix):
            log.info("proxy %s: rules changed behind its back; rewriting them", self.prefix)
            return True
        return False

    def _full_text(self, ruleset: Ruleset, saved: dict[str, SavedTable]) -> str:
        stale = own_chains(saved, self.prefix)
        return restore_text(
            ruleset,
            None,
            delete=stale,
            insert_jumps=self._missing_jumps(saved),
            comment=self.config.comment,
        )

    def _done(self, result: SyncResult) -> None:
        self.syncs += 1
        self.last_sync_seconds = result.seconds
        self.synced.set()
        log.debug("proxy %s: %s sync in %.3fs (%d lines)", self.prefix,
                  "full" if result.full else "partial", result.seconds, result.text.count("\n"))  # fmt: skip
        for listener in list(self.listeners):
            try:
                listener(result)
            except Exception:  # noqa: BLE001 - a listener must not break syncing
                log.exception("proxy %s: sync listener failed", self.prefix)
